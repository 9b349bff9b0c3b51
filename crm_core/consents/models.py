"""Consent log: append-only, the latest row per customer and purpose is in force."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class ConsentPurpose(StrEnum):
    MARKETING = "marketing"


class Consent(models.Model):
    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="consents", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=32)
    granted = fields.BooleanField()
    channel = fields.CharField(max_length=16)
    text_version = fields.CharField(max_length=64)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "consents"
        indexes = (("customer_id", "purpose", "recorded_at"),)
