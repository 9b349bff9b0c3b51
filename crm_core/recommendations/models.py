"""Sensitive categories, and the products popular in each cluster of similar customers."""

from __future__ import annotations

from tortoise import fields, models


class SensitiveCategory(models.Model):
    """A category (and everything under it) never recommended from other people's baskets:
    pregnancy, health, adult... `allow_own_history`: recommended to customers who bought
    there themselves."""

    id = fields.IntField(primary_key=True)
    category = fields.OneToOneField(
        "models.Category", related_name="sensitivity", on_delete=fields.CASCADE
    )
    allow_own_history = fields.BooleanField()
    marked_at = fields.DatetimeField()

    class Meta:
        table = "sensitive_categories"


class ClusterProduct(models.Model):
    """Rank of a product in a cluster: '12-7' (customers whose spending leads with top-level
    categories 12 then 7), 'cat:12' (best sellers of category 12) or '*' (best sellers)."""

    id = fields.BigIntField(primary_key=True)
    cluster_key = fields.CharField(max_length=64)
    rank = fields.IntField()
    product = fields.ForeignKeyField(
        "models.Product", related_name="cluster_ranks", on_delete=fields.CASCADE
    )
    buyers = fields.IntField()
    refreshed_at = fields.DatetimeField()

    class Meta:
        table = "cluster_products"
        unique_together = (("cluster_key", "rank"),)
