"""Vouchers and their redemptions: a single-use voucher is honoured once and only once."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class VoucherKind(StrEnum):
    PERCENT = "percent"
    FIXED_AMOUNT = "fixed_amount"
    FREE_PRODUCT = "free_product"
    POINTS_MULTIPLIER = "points_multiplier"


class VoucherStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Voucher(models.Model):
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    kind = fields.CharField(max_length=24)
    value = fields.DecimalField(max_digits=12, decimal_places=2)
    title = fields.CharField(max_length=128)
    currency = fields.CharField(max_length=3, null=True)
    min_basket = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    allowed_categories: list = fields.JSONField()
    excluded_categories: list = fields.JSONField()
    free_product_sku = fields.CharField(max_length=64, null=True)
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    uses_allowed = fields.IntField()
    uses_count = fields.IntField()
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="vouchers", null=True, on_delete=fields.RESTRICT
    )
    status = fields.CharField(max_length=16)
    telegram_file_id = fields.CharField(max_length=255, null=True)
    media_salt = fields.CharField(max_length=32)
    created_at = fields.DatetimeField()

    class Meta:
        table = "vouchers"
        indexes = (("customer_id", "status", "valid_until"),)


class VoucherRedemption(models.Model):
    id = fields.BigIntField(primary_key=True)
    voucher = fields.ForeignKeyField(
        "models.Voucher", related_name="redemptions", on_delete=fields.RESTRICT
    )
    store = fields.ForeignKeyField(
        "models.Store", related_name="redemptions", on_delete=fields.RESTRICT
    )
    till = fields.CharField(max_length=32)
    receipt_id = fields.CharField(max_length=64)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="redemptions", null=True, on_delete=fields.RESTRICT
    )
    discount = fields.DecimalField(max_digits=12, decimal_places=2)
    redeemed_at = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "voucher_redemptions"
        unique_together = (("voucher_id", "store_id", "receipt_id"),)
        indexes = (("store_id", "receipt_id"),)
