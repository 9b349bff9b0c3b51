"""What customers do in the bot: registered, opened an offer, clicked a button, rated a purchase."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class EventKind(StrEnum):
    REGISTERED = "registered"
    OPENED_OFFER = "opened_offer"
    CLICKED_BUTTON = "clicked_button"
    RATED_PURCHASE = "rated_purchase"
    ANSWERED_SURVEY = "answered_survey"
    OPTED_OUT = "opted_out"
    MERGED = "merged"  # another customer (a duplicate) was merged into this one


class CustomerEvent(models.Model):
    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=16, null=True)
    data: dict = fields.JSONField()
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "customer_events"
        indexes = (("customer_id", "kind", "occurred_at"), ("kind", "occurred_at"))
