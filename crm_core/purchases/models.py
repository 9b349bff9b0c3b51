"""Receipts from the till, their lines, and refunds against them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class PurchaseStatus(StrEnum):
    COMPLETED = "completed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Purchase(models.Model):
    # References are checked per statement by database triggers (migration 0010), as the
    # lines' are: a bulk import writes thousands of receipts per statement.
    id = fields.BigIntField(primary_key=True)
    store = fields.ForeignKeyField(
        "models.Store", related_name="purchases", on_delete=fields.RESTRICT, db_constraint=False
    )
    till = fields.CharField(max_length=32)
    receipt_id = fields.CharField(max_length=64)
    purchased_at = fields.DatetimeField()
    customer = fields.ForeignKeyField(
        "models.Customer",
        related_name="purchases",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    card = fields.ForeignKeyField(
        "models.Card",
        related_name="purchases",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    currency = fields.CharField(max_length=3)
    total = fields.DecimalField(max_digits=12, decimal_places=2)
    discount_total = fields.DecimalField(max_digits=12, decimal_places=2)
    refunded_total = fields.DecimalField(max_digits=12, decimal_places=2)
    payments: list = fields.JSONField()
    status = fields.CharField(max_length=24)
    # Hash of the request as the till sent it: a retry must match it exactly.
    fingerprint = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "purchases"
        unique_together = (("store_id", "receipt_id"),)
        indexes = (("customer_id", "purchased_at"),)


class PurchaseLine(models.Model):
    # References are checked per statement by database triggers (migration 0008), not by
    # per-row foreign keys: the lines table takes tens of millions of rows in bulk.
    id = fields.BigIntField(primary_key=True)
    purchase = fields.ForeignKeyField(
        "models.Purchase", related_name="lines", on_delete=fields.CASCADE, db_constraint=False
    )
    line_no = fields.IntField()
    product = fields.ForeignKeyField(
        "models.Product", related_name="lines", on_delete=fields.RESTRICT, db_constraint=False
    )
    category = fields.ForeignKeyField(
        "models.Category",
        related_name="lines",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    quantity = fields.DecimalField(max_digits=12, decimal_places=3)
    unit_price = fields.DecimalField(max_digits=12, decimal_places=2)
    discount = fields.DecimalField(max_digits=12, decimal_places=2)
    line_total = fields.DecimalField(max_digits=12, decimal_places=2)
    refunded_quantity = fields.DecimalField(max_digits=12, decimal_places=3)
    # Copies of the receipt's customer and time: "bought X within N days" reads the lines
    # alone, through an index, instead of joining millions of lines to their receipts.
    customer = fields.ForeignKeyField(
        "models.Customer",
        related_name="purchase_lines",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    purchased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "purchase_lines"
        unique_together = (("purchase_id", "line_no"),)
        indexes = (("category_id", "purchased_at"), ("customer_id", "purchased_at"))


class Refund(models.Model):
    id = fields.BigIntField(primary_key=True)
    purchase = fields.ForeignKeyField(
        "models.Purchase", related_name="refunds", on_delete=fields.CASCADE
    )
    # The till's own id for the refund: a retried refund is recognised, not applied twice.
    refund_id = fields.CharField(max_length=64)
    amount = fields.DecimalField(max_digits=12, decimal_places=2)
    lines: list = fields.JSONField()
    fingerprint = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "refunds"
        unique_together = (("purchase_id", "refund_id"),)
