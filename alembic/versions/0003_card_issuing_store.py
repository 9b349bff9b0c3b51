"""Imported plastic cards remember the store that handed them out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with its reference in place, without copying the table.
        op.execute(
            "ALTER TABLE cards ADD COLUMN store_id INTEGER "
            "REFERENCES stores (id) ON DELETE RESTRICT"
        )
        return
    op.add_column("cards", sa.Column("store_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_cards_store", "cards", "stores", ["store_id"], ["id"], ondelete="RESTRICT"
    )


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_column("store_id")
