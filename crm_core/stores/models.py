"""Stores: where purchases happen; their timezone and currency."""

from __future__ import annotations

from tortoise import fields, models


class Store(models.Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=128)
    timezone = fields.CharField(max_length=64)
    currency = fields.CharField(max_length=3)
    created_at = fields.DatetimeField()

    class Meta:
        table = "stores"
