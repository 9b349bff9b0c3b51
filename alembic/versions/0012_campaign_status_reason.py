"""Campaigns say why they are in their state: a one-off campaign that did not run within the
misfire grace period of its moment becomes `missed` with reason `not_run_in_grace`
(issue 13, item 5), instead of staying "scheduled" for ever.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("status_reason", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("status_reason")
