"""Products and categories, created on the fly from what tills send."""

from __future__ import annotations

from tortoise import fields, models


class Category(models.Model):
    id = fields.IntField(primary_key=True)
    # Full path, "Dairy/Milk/Organic": unique, and what vouchers name in their conditions.
    path = fields.CharField(max_length=255, unique=True)
    name = fields.CharField(max_length=128)
    parent = fields.ForeignKeyField(
        "models.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "categories"


class Product(models.Model):
    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=255)
    category = fields.ForeignKeyField(
        "models.Category", related_name="products", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "products"
