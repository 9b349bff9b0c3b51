"""Hand-written SQL that runs the same on PostgreSQL and SQLite.

Set-based work (metrics, RFM, segments, imports) is written as SQL. This module hides the
few places where the two databases differ (placeholders, decimal storage, date arithmetic),
and every value goes in as a bound parameter: nothing a user typed becomes SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction


def connection_of(connection: BaseDBAsyncClient | None = None) -> BaseDBAsyncClient:
    return connection if connection is not None else connections.get("default")


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def postgres(self) -> bool:
        return self.name == "postgres"

    def minor(self, expr: str) -> str:
        """A decimal column (Tortoise keeps text on SQLite) as integer cents."""
        if self.postgres:
            return f"CAST(ROUND({expr} * 100) AS BIGINT)"
        return f"CAST(ROUND(CAST({expr} AS REAL) * 100) AS INTEGER)"

    def milli(self, expr: str) -> str:
        """A quantity column as integer thousandths."""
        if self.postgres:
            return f"CAST(ROUND({expr} * 1000) AS BIGINT)"
        return f"CAST(ROUND(CAST({expr} AS REAL) * 1000) AS INTEGER)"

    def number(self, expr: str) -> str:
        """A decimal column comparable with a numeric parameter."""
        return expr if self.postgres else f"CAST({expr} AS REAL)"

    def floor_int(self, expr: str) -> str:
        """Round down to an integer (CAST rounds on PostgreSQL, truncates on SQLite)."""
        if self.postgres:
            return f"CAST(FLOOR({expr}) AS INTEGER)"
        return f"CAST({expr} AS INTEGER)"

    def month_day(self, expr: str) -> str:
        """A date column as month * 100 + day (1231 for 31 December)."""
        if self.postgres:
            return f"CAST(EXTRACT(MONTH FROM {expr}) * 100 + EXTRACT(DAY FROM {expr}) AS INTEGER)"
        return f"CAST(strftime('%m%d', {expr}) AS INTEGER)"

    def days_between(self, earlier: str, later: str) -> str:
        """Fractional days from one timestamp to another."""
        if self.postgres:
            return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
        return f"(julianday({later}) - julianday({earlier}))"

    def top_category_path(self, path: str) -> str:
        """'Dairy/Milk/Organic' -> 'Dairy'."""
        if self.postgres:
            return f"split_part({path}, '/', 1)"
        return f"(CASE WHEN instr({path}, '/') > 0 THEN substr({path}, 1, instr({path}, '/') - 1) ELSE {path} END)"  # noqa: E501

    def json_text(self, column: str, key_placeholder: str) -> str:
        if self.postgres:
            return f"({column} ->> {key_placeholder})"
        return f"json_extract({column}, '$.' || {key_placeholder})"


def dialect_of(connection: BaseDBAsyncClient | None = None) -> Dialect:
    name = connection_of(connection).capabilities.dialect
    return Dialect("postgres" if name == "postgres" else "sqlite")


@dataclass
class Params:
    """Collects bound values and hands out the placeholder for each, in the dialect's style."""

    dialect: Dialect
    values: list[Any] = field(default_factory=list)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        # Numbered on both ($n, ?n): a fragment may be written in any order, or twice.
        return f"${len(self.values)}" if self.dialect.postgres else f"?{len(self.values)}"

    def many(self, values: Sequence[Any]) -> str:
        """A parenthesised list of placeholders for IN (...); never empty."""
        if not values:
            raise ValueError("an IN list needs at least one value")
        return "(" + ", ".join(self(v) for v in values) + ")"


async def fetch(
    sql: str, values: Sequence[Any] = (), connection: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    # execute_query_dict always fetches (execute_query skips the rows of INSERT ... RETURNING
    # on PostgreSQL).
    rows = await connection_of(connection).execute_query_dict(sql, list(values))
    return [dict(row) for row in rows]


async def execute(
    sql: str, values: Sequence[Any] = (), connection: BaseDBAsyncClient | None = None
) -> int:
    """Run a statement; the number of rows it touched."""
    count, _ = await connection_of(connection).execute_query(sql, list(values))
    return count


class _Joined:
    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection

    async def __aenter__(self) -> BaseDBAsyncClient:
        return self.connection

    async def __aexit__(self, *exc: object) -> None:
        return None


def transaction(connection: BaseDBAsyncClient | None = None) -> Any:
    """A new transaction, or the caller's own when it passes its connection."""
    return in_transaction() if connection is None else _Joined(connection)
