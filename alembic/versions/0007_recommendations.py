"""Sensitive categories and per-cluster product popularity for recommendations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, boolean, timestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sensitive_categories",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("allow_own_history", boolean(), nullable=False),
        sa.Column("marked_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cluster_products",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("cluster_key", sa.String(64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column(
            "product_id",
            sa.Integer(),
            sa.ForeignKey("products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", timestamp(), nullable=False),
        sa.UniqueConstraint("cluster_key", "rank", name="uq_cluster_products_rank"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("cluster_products")
    op.drop_table("sensitive_categories")
