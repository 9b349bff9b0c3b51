"""Per-customer purchase metrics, kept current as receipts and refunds arrive.

Money is kept in integer minor units here so that segment rules compare numbers the same
way on PostgreSQL and SQLite (where Tortoise stores decimals as text).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class Stage(StrEnum):
    REGISTERED = "registered"
    NEW = "new"
    REGULAR = "regular"
    LAPSING = "lapsing"
    LOST = "lost"


class CustomerMetrics(models.Model):
    id = fields.BigIntField(primary_key=True)
    customer = fields.OneToOneField(
        "models.Customer", related_name="metrics", on_delete=fields.CASCADE
    )
    receipts = fields.IntField()
    spent_minor = fields.BigIntField()
    # Quantities in thousandths (weighed goods), summed over receipts.
    items_milli = fields.BigIntField()
    first_purchase_at = fields.DatetimeField(null=True)
    last_purchase_at = fields.DatetimeField(null=True)
    favourite_category = fields.ForeignKeyField(
        "models.Category", related_name="favoured_by", null=True, on_delete=fields.SET_NULL
    )
    rfm_r = fields.SmallIntField(null=True)
    rfm_f = fields.SmallIntField(null=True)
    rfm_m = fields.SmallIntField(null=True)
    rfm_segment = fields.CharField(max_length=24, null=True)
    rfm_at = fields.DatetimeField(null=True)
    stage = fields.CharField(max_length=16)
    stage_since = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "customer_metrics"
        indexes = (("stage",), ("rfm_segment",))  # last_purchase_at: see migration 0009


class CategorySpend(models.Model):
    """Spend of one customer in one top-level category.

    References are checked per statement by database triggers (migration 0010): an import
    adds tens of thousands of these rows per statement.
    """

    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer",
        related_name="category_spend",
        on_delete=fields.CASCADE,
        db_constraint=False,
    )
    category = fields.ForeignKeyField(
        "models.Category",
        related_name="customer_spend",
        on_delete=fields.CASCADE,
        db_constraint=False,
    )
    spent_minor = fields.BigIntField()
    lines = fields.IntField()

    class Meta:
        table = "customer_category_spend"
        unique_together = (("customer_id", "category_id"),)


class StageChange(models.Model):
    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="stage_changes", on_delete=fields.CASCADE
    )
    from_stage = fields.CharField(max_length=16, null=True)
    to_stage = fields.CharField(max_length=16)
    changed_at = fields.DatetimeField()

    class Meta:
        table = "lifecycle_changes"
        indexes = (("customer_id", "changed_at"),)
