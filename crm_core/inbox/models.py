"""Webhook deliveries already handled, so a platform's retry is processed once."""

from __future__ import annotations

from tortoise import fields, models


class ProcessedUpdate(models.Model):
    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    update_key = fields.CharField(max_length=128)
    received_at = fields.DatetimeField()

    class Meta:
        table = "processed_updates"
        unique_together = (("channel", "update_key"),)
        indexes = (("received_at",),)
