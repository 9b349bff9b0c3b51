"""Profiles (demographics, custom fields, preferences, events), metrics, lifecycle, segments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, boolean, decimal, json, timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _customer_ref(ondelete: str = "CASCADE") -> sa.Column:
    return sa.Column(
        "customer_id",
        sa.BigInteger(),
        sa.ForeignKey("customers.id", ondelete=ondelete),
        nullable=False,
    )


def _add_demographics() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for ddl in ("birth_date DATE", "gender VARCHAR(16)", "city VARCHAR(64)"):
            op.execute(f"ALTER TABLE customers ADD COLUMN {ddl}")
        return
    op.add_column("customers", sa.Column("birth_date", sa.Date(), nullable=True))
    op.add_column("customers", sa.Column("gender", sa.String(16), nullable=True))
    op.add_column("customers", sa.Column("city", sa.String(64), nullable=True))


def upgrade() -> None:
    _add_demographics()
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("choices", json(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "customer_field_values",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        _customer_ref(),
        sa.Column(
            "field_id",
            sa.Integer(),
            sa.ForeignKey("custom_fields.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text_value", sa.String(255), nullable=True),
        sa.Column("number_value", decimal(18, 4), nullable=True),
        sa.Column("bool_value", boolean(), nullable=True),
        sa.Column("date_value", sa.Date(), nullable=True),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.UniqueConstraint("customer_id", "field_id", name="uq_field_values_customer_field"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_field_values_field_text", "customer_field_values", ["field_id", "text_value"]
    )
    op.create_table(
        "customer_preferences",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        _customer_ref(),
        sa.Column("question", sa.String(32), nullable=False),
        sa.Column("answer", json(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("answered_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_preferences_customer_question", "customer_preferences", ["customer_id", "question"]
    )
    op.create_table(
        "customer_events",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        _customer_ref(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("data", json(), nullable=False),
        sa.Column("occurred_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_events_customer_kind_time", "customer_events", ["customer_id", "kind", "occurred_at"]
    )
    op.create_index("ix_events_kind_time", "customer_events", ["kind", "occurred_at"])
    op.create_table(
        "customer_metrics",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("items_milli", sa.BigInteger(), nullable=False),
        sa.Column("first_purchase_at", timestamp(), nullable=True),
        sa.Column("last_purchase_at", timestamp(), nullable=True),
        sa.Column(
            "favourite_category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("rfm_r", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_f", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_m", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_segment", sa.String(24), nullable=True),
        sa.Column("rfm_at", timestamp(), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("stage_since", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_metrics_stage", "customer_metrics", ["stage"])
    op.create_index("ix_metrics_rfm_segment", "customer_metrics", ["rfm_segment"])
    op.create_index("ix_metrics_last_purchase", "customer_metrics", ["last_purchase_at"])
    op.create_table(
        "customer_category_spend",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        _customer_ref(),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.UniqueConstraint("customer_id", "category_id", name="uq_category_spend_customer"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "lifecycle_changes",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        _customer_ref(),
        sa.Column("from_stage", sa.String(16), nullable=True),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("changed_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_lifecycle_customer_time", "lifecycle_changes", ["customer_id", "changed_at"]
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rule", json(), nullable=False),
        sa.Column("depends_on", json(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.Column("evaluated_at", timestamp(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "segment_members",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "segment_id",
            sa.Integer(),
            sa.ForeignKey("segments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _customer_ref(),
        sa.Column("entered_at", timestamp(), nullable=False),
        sa.UniqueConstraint("segment_id", "customer_id", name="uq_segment_members"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_segment_members_customer", "segment_members", ["customer_id"])
    op.create_table(
        "segment_membership_log",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "segment_id",
            sa.Integer(),
            sa.ForeignKey("segments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _customer_ref(),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_segment_log_segment_time", "segment_membership_log", ["segment_id", "at"])
    op.create_index("ix_segment_log_customer_time", "segment_membership_log", ["customer_id", "at"])


def downgrade() -> None:
    for table in (
        "segment_membership_log",
        "segment_members",
        "segments",
        "lifecycle_changes",
        "customer_category_spend",
        "customer_metrics",
        "customer_events",
        "customer_preferences",
        "customer_field_values",
        "custom_fields",
    ):
        op.drop_table(table)
    with op.batch_alter_table("customers") as batch:
        for column in ("birth_date", "gender", "city"):
            batch.drop_column(column)
