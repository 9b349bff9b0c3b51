"""Column types for Alembic migrations, spelled the way Tortoise creates them on each database.

The schema parity test compares migrated databases with Tortoise's own DDL, so hand-written
migrations use these instead of SQLAlchemy's generic types where the two differ.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def big_pk() -> sa.types.TypeEngine:
    """BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def boolean() -> sa.types.TypeEngine:
    return sa.Boolean().with_variant(sa.Integer(), "sqlite")


def timestamp() -> sa.types.TypeEngine:
    return sa.TIMESTAMP(timezone=True)


def json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def decimal(digits: int, places: int) -> sa.types.TypeEngine:
    return sa.Numeric(digits, places).with_variant(sa.String(40), "sqlite")


def double() -> sa.types.TypeEngine:
    """Tortoise's FloatField: DOUBLE PRECISION on PostgreSQL, REAL on SQLite."""
    return sa.Double().with_variant(sa.REAL(), "sqlite")
