"""Campaigns, their runs and the outbox (treatment and control rows per run and customer).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, json, timestamp

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # APScheduler's persistent job store (its own layout): campaign schedules survive restarts.
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])
    op.create_index("ix_channel_identities_customer", "channel_identities", ["customer_id"])
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "segment_id",
            sa.Integer(),
            sa.ForeignKey("segments.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("exclude_segment_ids", json(), nullable=False),
        sa.Column("messages", json(), nullable=False),
        sa.Column("default_language", sa.String(8), nullable=False),
        sa.Column("voucher_template", json(), nullable=True),
        sa.Column("control_percent", sa.Integer(), nullable=False),
        sa.Column("schedule_kind", sa.String(16), nullable=False),
        sa.Column("run_at", timestamp(), nullable=True),
        sa.Column("cron", sa.String(128), nullable=True),
        sa.Column("split_multiplier", sa.BigInteger(), nullable=False),
        sa.Column("split_offset", sa.BigInteger(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "campaign_runs",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fire_time", timestamp(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=False),
        sa.Column("treatment", sa.Integer(), nullable=False),
        sa.Column("control", sa.Integer(), nullable=False),
        sa.Column("suppressed", json(), nullable=False),
        sa.Column("planned_at", timestamp(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.UniqueConstraint("campaign_id", "fire_time", name="uq_campaign_runs_fire_time"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "campaign_outbox",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.BigInteger(),
            sa.ForeignKey("campaign_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("group", sa.String(16), nullable=False),
        sa.Column(
            "identity_id",
            sa.BigInteger(),
            sa.ForeignKey("channel_identities.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("due_at", timestamp(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", timestamp(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("sent_at", timestamp(), nullable=True),
        sa.Column("finished_at", timestamp(), nullable=True),
        sa.Column("platform_message_id", sa.String(64), nullable=True),
        sa.Column("delivered_at", timestamp(), nullable=True),
        sa.Column("seen_at", timestamp(), nullable=True),
        sa.Column(
            "voucher_id",
            sa.BigInteger(),
            sa.ForeignKey("vouchers.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("products", json(), nullable=True),
        sa.UniqueConstraint("run_id", "customer_id", name="uq_campaign_outbox_run_customer"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_campaign_outbox_state_due", "campaign_outbox", ["state", "due_at"])
    op.create_index(
        "ix_campaign_outbox_customer_sent", "campaign_outbox", ["customer_id", "sent_at"]
    )
    op.create_index(
        "ix_campaign_outbox_platform_message", "campaign_outbox", ["platform_message_id"]
    )


def downgrade() -> None:
    for table in ("campaign_outbox", "campaign_runs", "campaigns", "apscheduler_jobs"):
        op.drop_table(table)
    op.drop_index("ix_channel_identities_customer", "channel_identities")
