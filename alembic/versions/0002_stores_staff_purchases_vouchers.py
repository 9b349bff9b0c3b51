"""Stores, staff API keys, catalogue, purchases with lines and refunds, vouchers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, decimal, json, timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, decimal(12, 2), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("lookup", sa.String(16), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "store_id", sa.Integer(), sa.ForeignKey("stores.id", ondelete="RESTRICT"), nullable=True
        ),
        sa.Column("till", sa.String(32), nullable=True),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("revoked_at", timestamp(), nullable=True),
        sa.Column("last_used_at", timestamp(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(255), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column(
            "parent_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sku", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("created_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "purchases",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("till", sa.String(32), nullable=False),
        sa.Column("receipt_id", sa.String(64), nullable=False),
        sa.Column("purchased_at", timestamp(), nullable=False),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column(
            "card_id",
            sa.BigInteger(),
            sa.ForeignKey("cards.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("currency", sa.String(3), nullable=False),
        _money("total"),
        _money("discount_total"),
        _money("refunded_total"),
        sa.Column("payments", json(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.UniqueConstraint("store_id", "receipt_id", name="uq_purchases_store_receipt"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_purchases_customer_time", "purchases", ["customer_id", "purchased_at"])
    op.create_table(
        "purchase_lines",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "purchase_id",
            sa.BigInteger(),
            sa.ForeignKey("purchases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column(
            "product_id",
            sa.Integer(),
            sa.ForeignKey("products.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("quantity", decimal(12, 3), nullable=False),
        _money("unit_price"),
        _money("discount"),
        _money("line_total"),
        sa.Column("refunded_quantity", decimal(12, 3), nullable=False),
        sa.UniqueConstraint("purchase_id", "line_no", name="uq_purchase_lines_purchase_line"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "refunds",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "purchase_id",
            sa.BigInteger(),
            sa.ForeignKey("purchases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("refund_id", sa.String(64), nullable=False),
        _money("amount"),
        sa.Column("lines", json(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.UniqueConstraint("purchase_id", "refund_id", name="uq_refunds_purchase_refund"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "vouchers",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(24), nullable=False),
        _money("value"),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        _money("min_basket", nullable=True),
        sa.Column("allowed_categories", json(), nullable=False),
        sa.Column("excluded_categories", json(), nullable=False),
        sa.Column("free_product_sku", sa.String(64), nullable=True),
        sa.Column("valid_from", timestamp(), nullable=False),
        sa.Column("valid_until", timestamp(), nullable=False),
        sa.Column("uses_allowed", sa.Integer(), nullable=False),
        sa.Column("uses_count", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("telegram_file_id", sa.String(255), nullable=True),
        sa.Column("media_salt", sa.String(32), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_vouchers_customer_status_until", "vouchers", ["customer_id", "status", "valid_until"]
    )
    op.create_table(
        "voucher_redemptions",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "voucher_id",
            sa.BigInteger(),
            sa.ForeignKey("vouchers.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("till", sa.String(32), nullable=False),
        sa.Column("receipt_id", sa.String(64), nullable=False),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        _money("discount"),
        sa.Column("redeemed_at", timestamp(), nullable=False),
        sa.Column("cancelled_at", timestamp(), nullable=True),
        sa.UniqueConstraint(
            "voucher_id", "store_id", "receipt_id", name="uq_voucher_redemptions_receipt"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_voucher_redemptions_store_receipt", "voucher_redemptions", ["store_id", "receipt_id"]
    )


def downgrade() -> None:
    for table in [
        "voucher_redemptions",
        "vouchers",
        "refunds",
        "purchase_lines",
        "purchases",
        "products",
        "categories",
        "api_keys",
        "stores",
    ]:
        op.drop_table(table)
