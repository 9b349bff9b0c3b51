"""Loyalty cards and the serial counter their numbers come from."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    REPLACED = "replaced"


# The status_reason of a card whose customer was merged into another: the number still scans
# and stands for the survivor's active card.
MERGED_CARD_REASON = "merged"


class Card(models.Model):
    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="cards", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=16)
    status_reason = fields.CharField(max_length=32, null=True)
    issued_at = fields.DatetimeField()
    status_changed_at = fields.DatetimeField(null=True)
    # Rotated to revoke every image URL signed for this card.
    media_salt = fields.CharField(max_length=32)
    # Telegram file_id of the uploaded QR image: repeat /card answers need no upload.
    telegram_file_id = fields.CharField(max_length=255, null=True)
    # Where a plastic card was handed out (imported cards); None for digital cards.
    store = fields.ForeignKeyField(
        "models.Store", related_name="cards", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "cards"
        indexes = (("customer_id", "status"),)


class CardSerial(models.Model):
    """Serials of the cards issued while serials were sequential (kept: those numbers stay
    valid). New cards draw a random serial instead (crm_core.cards.service)."""

    id = fields.BigIntField(primary_key=True)
    allocated_at = fields.DatetimeField()

    class Meta:
        table = "card_serials"
