"""Receipt lines carry their receipt's customer and time, indexed for segment conditions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import timestamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE purchase_lines ADD COLUMN customer_id BIGINT "
            "REFERENCES customers (id) ON DELETE RESTRICT"
        )
        op.execute("ALTER TABLE purchase_lines ADD COLUMN purchased_at TIMESTAMP")
        op.execute(
            "UPDATE purchase_lines SET "
            "customer_id = (SELECT customer_id FROM purchases p WHERE p.id = purchase_id), "
            "purchased_at = (SELECT purchased_at FROM purchases p WHERE p.id = purchase_id)"
        )
    else:
        op.add_column("purchase_lines", sa.Column("customer_id", sa.BigInteger(), nullable=True))
        op.add_column("purchase_lines", sa.Column("purchased_at", timestamp(), nullable=True))
        op.create_foreign_key(
            "fk_purchase_lines_customer",
            "purchase_lines",
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        op.execute(
            "UPDATE purchase_lines l SET customer_id = p.customer_id, "
            "purchased_at = p.purchased_at FROM purchases p WHERE p.id = l.purchase_id"
        )
    op.create_index(
        "ix_purchase_lines_category_time", "purchase_lines", ["category_id", "purchased_at"]
    )
    op.create_index(
        "ix_purchase_lines_customer_time", "purchase_lines", ["customer_id", "purchased_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_purchase_lines_customer_time", "purchase_lines")
    op.drop_index("ix_purchase_lines_category_time", "purchase_lines")
    with op.batch_alter_table("purchase_lines") as batch:
        batch.drop_column("purchased_at")
        batch.drop_column("customer_id")
