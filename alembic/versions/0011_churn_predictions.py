"""Churn model fits and each customer's predictions (issue 16, item 3).

`customer_predictions` is rewritten for every customer each night. Like the metrics since
0009, its pages keep room for the new version of each row and no column that changes is
indexed, so every nightly update is a heap-only (HOT) update on PostgreSQL: no index entry
is written, and the old versions are pruned as the pages are next visited, without vacuum.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, double, json, timestamp

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FILL_FACTOR = 50  # a whole second version of every row fits on its page


def upgrade() -> None:
    op.create_table(
        "churn_models",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parameters", json(), nullable=False),
        sa.Column("log_likelihood", double(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("fitted_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "customer_predictions",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey("churn_models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("p_alive", double(), nullable=False),
        sa.Column("expected_30", double(), nullable=False),
        sa.Column("expected_90", double(), nullable=False),
        sa.Column("churn_risk", double(), nullable=False),
        sa.Column("next_purchase_at", timestamp(), nullable=True),
        sa.Column("value_90_minor", sa.BigInteger(), nullable=False),
        sa.Column("scored_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"ALTER TABLE customer_predictions SET (fillfactor = {FILL_FACTOR})")


def downgrade() -> None:
    op.drop_table("customer_predictions")
    op.drop_table("churn_models")
