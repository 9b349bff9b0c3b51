"""Customers and the messenger identities that reach them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class Channel(StrEnum):
    TELEGRAM = "telegram"
    VIBER = "viber"
    WEBCHAT = "webchat"


class Customer(models.Model):
    """A shopper. Personal fields are nulled on erasure; the row stays for anonymised history."""

    id = fields.BigIntField(primary_key=True)
    first_name = fields.CharField(max_length=64, null=True)
    # A phone number confirmed by a messenger (E.164). Unique: it links channels together.
    phone = fields.CharField(max_length=20, null=True, unique=True)
    # A typed, unconfirmed number (web chat): never used to link channels.
    unconfirmed_phone = fields.CharField(max_length=20, null=True)
    language = fields.CharField(max_length=8)
    timezone = fields.CharField(max_length=64)
    # Optional demographics the customer gives (survey, profile edit) or a retailer imports.
    birth_date = fields.DateField(null=True)
    gender = fields.CharField(max_length=16, null=True)
    city = fields.CharField(max_length=64, null=True)
    # Mirror of the newest marketing Consent row, written in the same transaction:
    # audiences and menus read one column instead of searching the consent log.
    marketing_consent = fields.BooleanField()
    created_at = fields.DatetimeField()
    erased_at = fields.DatetimeField(null=True)
    # A duplicate merged into another customer (it is also marked erased): its card number
    # and id resolve to the survivor.
    merged_into_id = fields.BigIntField(null=True)

    class Meta:
        table = "customers"


class ChannelIdentity(models.Model):
    """One user of one channel; holds the conversation state so any process can continue it."""

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    chat_id = fields.CharField(max_length=128)
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="identities", null=True, on_delete=fields.SET_NULL
    )
    language = fields.CharField(max_length=8)
    reachable = fields.BooleanField()
    state = fields.CharField(max_length=32)
    state_data: dict = fields.JSONField()
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "channel_identities"
        unique_together = (("channel", "external_id"),)
        # Campaign planning picks each customer's identity: one index range per customer.
        indexes = (("customer_id",),)
