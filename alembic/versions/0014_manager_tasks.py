"""Manager tasks (issue 16, item 4): made by hand through the API or by journeys.

Lists are read by status and due time, per store for store managers, and per customer; the
three indexes serve those filters in due order.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, timestamp

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manager_tasks",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column(
            "purchase_id",
            sa.BigInteger(),
            sa.ForeignKey("purchases.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("due_at", timestamp(), nullable=False),
        sa.Column("assignee_role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.Column("closed_at", timestamp(), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("manager_tasks_status_due_at", "manager_tasks", ["status", "due_at"])
    op.create_index(
        "manager_tasks_store_id_status_due_at", "manager_tasks", ["store_id", "status", "due_at"]
    )
    op.create_index("manager_tasks_customer_id", "manager_tasks", ["customer_id"])


def downgrade() -> None:
    op.drop_table("manager_tasks")
