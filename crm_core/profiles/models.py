"""Marketer-defined custom fields, their values per customer, and declared preferences."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    CHOICE = "choice"


class CustomField(models.Model):
    """A field the marketer adds to every profile, as retailCRM's custom fields."""

    id = fields.IntField(primary_key=True)
    # Stable machine name used in segment rules and the API ("pet", "loyalty_tier").
    key = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=128)
    kind = fields.CharField(max_length=16)
    choices: list = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "custom_fields"


class CustomFieldValue(models.Model):
    """One customer's value of one field, in the typed column its kind uses."""

    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="field_values", on_delete=fields.CASCADE
    )
    field = fields.ForeignKeyField(
        "models.CustomField", related_name="values", on_delete=fields.CASCADE
    )
    text_value = fields.CharField(max_length=255, null=True)
    number_value = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    bool_value = fields.BooleanField(null=True)
    date_value = fields.DateField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "customer_field_values"
        unique_together = (("customer_id", "field_id"),)
        indexes = (("field_id", "text_value"),)


class Preference(models.Model):
    """An answer the customer gave in the optional survey, kept with its time (newest wins)."""

    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="preferences", on_delete=fields.CASCADE
    )
    question = fields.CharField(max_length=32)
    answer: dict | list = fields.JSONField()
    channel = fields.CharField(max_length=16, null=True)
    answered_at = fields.DatetimeField()

    class Meta:
        table = "customer_preferences"
        indexes = (("customer_id", "question"),)
