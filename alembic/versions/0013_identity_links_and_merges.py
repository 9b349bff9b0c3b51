"""One phone, one customer (issue 12, items A1-A3, D30): proofs that join a chat to a customer
and customers merged into another.

`link_requests` holds the one-time codes a chat asks for (sent to the customer's confirmed
messenger chats) and the tokens of "open in Telegram / Viber" links; both only as hashes.
`customers.merged_into_id` points a merged customer at the survivor, so its card number and
its id keep resolving.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from crm_core.schema_types import big_pk, timestamp

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "link_requests",
        sa.Column("id", big_pk(), primary_key=True, autoincrement=True),
        sa.Column(
            "identity_id",
            sa.BigInteger(),
            sa.ForeignKey("channel_identities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=False),
        sa.Column("used_at", timestamp(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("link_requests_identity_id", "link_requests", ["identity_id"])
    op.create_index(
        "link_requests_customer_id_created_at", "link_requests", ["customer_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("link_requests")
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of `customers` would drop and rename the
    # table, which SQLite refuses while the triggers of 0008/0010 name it.
    op.drop_column("customers", "merged_into_id")
