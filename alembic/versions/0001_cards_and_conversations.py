"""Customers, channel identities, consents, cards and processed webhook updates.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, boolean, json, timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("first_name", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True, unique=True),
        sa.Column("unconfirmed_phone", sa.String(20), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("marketing_consent", boolean(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("erased_at", timestamp(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "channel_identities",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("chat_id", sa.String(128), nullable=False),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("reachable", boolean(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_data", json(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("last_seen_at", timestamp(), nullable=False),
        sa.UniqueConstraint(
            "channel", "external_id", name="uq_channel_identities_channel_external"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "consents",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("granted", boolean(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text_version", sa.String(64), nullable=False),
        sa.Column("recorded_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_consents_customer_purpose_recorded",
        "consents",
        ["customer_id", "purpose", "recorded_at"],
    )
    op.create_table(
        "card_serials",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("allocated_at", timestamp(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cards",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(32), nullable=True),
        sa.Column("issued_at", timestamp(), nullable=False),
        sa.Column("status_changed_at", timestamp(), nullable=True),
        sa.Column("media_salt", sa.String(32), nullable=False),
        sa.Column("telegram_file_id", sa.String(255), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_cards_customer_status", "cards", ["customer_id", "status"])
    op.create_table(
        "processed_updates",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_key", sa.String(128), nullable=False),
        sa.Column("received_at", timestamp(), nullable=False),
        sa.UniqueConstraint("channel", "update_key", name="uq_processed_updates_channel_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_processed_updates_received", "processed_updates", ["received_at"])


def downgrade() -> None:
    op.drop_table("processed_updates")
    op.drop_table("cards")
    op.drop_table("card_serials")
    op.drop_table("consents")
    op.drop_table("channel_identities")
    op.drop_table("customers")
