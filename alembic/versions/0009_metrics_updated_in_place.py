"""Customer metrics and category spend: room on each page so an update stays in place.

Every receipt updates its customer's metrics row and one spend row per top-level category
it touches. On PostgreSQL an update writes a new version of the row; when that version fits
on the same page and no indexed column changed, it is a heap-only (HOT) update, which
touches no index at all. With full pages (the default fill factor) and `last_purchase_at`
indexed (it changes with nearly every receipt), every update also wrote a new entry into
each of the table's indexes: five for customer_metrics, two for customer_category_spend.

So both tables now leave a quarter of each page free, and the index on `last_purchase_at`
goes: no query uses it (the customer directory sorts by an expression over it, and segment
conditions on it read the whole table anyway). The tables are rewritten once, in customer
order, so the free space is there from the start. SQLite has no such thing; there only the
index goes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FILL_FACTOR = 75  # per cent of a page filled by inserts; the rest is for updated versions
TABLES = (
    ("customer_metrics", "customer_metrics_customer_id_key"),
    ("customer_category_spend", "uq_category_spend_customer"),
)


def upgrade() -> None:
    op.drop_index("ix_metrics_last_purchase", "customer_metrics")
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, customer_index in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")
        op.execute(f"CLUSTER {table} USING {customer_index}")  # rewritten with the free space
        op.execute(f"ANALYZE {table}")  # the planner sees the new size and order at once


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table, _ in TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
            op.execute(f"ALTER TABLE {table} SET WITHOUT CLUSTER")
    op.create_index("ix_metrics_last_purchase", "customer_metrics", ["last_purchase_at"])
