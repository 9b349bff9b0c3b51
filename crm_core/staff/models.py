"""API keys for tills, marketers, store managers and admins: shown once, stored as a hash."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class Role(StrEnum):
    CASHIER = "cashier"
    MARKETER = "marketer"
    ADMIN = "admin"
    # Sees and works the manager tasks of the key's own store.
    STORE_MANAGER = "store_manager"


class ApiKey(models.Model):
    id = fields.IntField(primary_key=True)
    # Public part of the key, used to find the row; the secret part is only hashed.
    lookup = fields.CharField(max_length=16, unique=True)
    secret_hash = fields.CharField(max_length=64)
    role = fields.CharField(max_length=16)
    store = fields.ForeignKeyField(
        "models.Store", related_name="api_keys", null=True, on_delete=fields.RESTRICT
    )
    till = fields.CharField(max_length=32, null=True)
    label = fields.CharField(max_length=128)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
