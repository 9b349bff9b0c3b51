"""Metrics for many new receipts at once (imports): added, not rebuilt from history.

Rebuilding a customer from their whole history reads every line they ever bought, scattered
over a table of tens of millions of rows; an import only needs to add what it brings. The
sums are the same ones `apply_purchase` adds for one receipt (a property test keeps the two
equal to a full rebuild); favourite category and lifecycle stage are settled once at the end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.metrics.lifecycle import DEFAULT_POLICY, LifecyclePolicy
from crm_core.metrics.models import Stage
from crm_core.metrics.service import (
    FAVOURITE,
    METRICS_ADD,
    METRICS_INSERT,
    SPEND_ADD,
    SPEND_INSERT,
    LineFigures,
    recompute_lifecycle,
    to_milli,
    to_minor,
    top_level_of,
)
from crm_core.sql import Params, dialect_of, execute, transaction

ROWS_PER_STATEMENT = 1_000  # well under the drivers' limit of bound values per statement


@dataclass(frozen=True)
class NewReceipt:
    customer_id: int
    purchased_at: datetime
    total: Decimal
    lines: Sequence[LineFigures]


@dataclass
class _Sums:
    receipts: int = 0
    spent: int = 0
    items: int = 0
    first: datetime | None = None
    last: datetime | None = None


async def add_receipts(
    receipts: Iterable[NewReceipt], now: datetime, connection: BaseDBAsyncClient
) -> set[int]:
    """Add new receipts to their customers' metrics and category spend (in the caller's
    transaction); the customers concerned, for `settle_customers` afterwards."""
    receipts = list(receipts)
    tops = await top_level_of(
        {line.category_id for r in receipts for line in r.lines if line.category_id}, connection
    )
    sums: dict[int, _Sums] = defaultdict(_Sums)
    spend: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for receipt in receipts:
        total = sums[receipt.customer_id]
        total.receipts += 1
        total.spent += to_minor(receipt.total)
        total.items += sum(to_milli(line.quantity) for line in receipt.lines)
        if total.first is None or receipt.purchased_at < total.first:
            total.first = receipt.purchased_at
        if total.last is None or receipt.purchased_at > total.last:
            total.last = receipt.purchased_at
        for line in receipt.lines:
            top = tops.get(line.category_id) if line.category_id else None
            if top is not None:
                delta = spend[(receipt.customer_id, top)]
                delta[0] += to_minor(line.line_total)
                delta[1] += 1
    rows = sorted(sums.items())
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        await _upsert_metrics(rows[start : start + ROWS_PER_STATEMENT], now, connection)
    deltas = sorted(spend.items())
    for start in range(0, len(deltas), ROWS_PER_STATEMENT):
        await _upsert_spend(deltas[start : start + ROWS_PER_STATEMENT], connection)
    return set(sums)


async def _upsert_metrics(
    rows: list[tuple[int, _Sums]], now: datetime, connection: BaseDBAsyncClient
) -> None:
    params = Params(dialect_of(connection))
    stamp = params(now)
    values = ", ".join(
        f"({params(customer)}, {params(s.receipts)}, {params(s.spent)}, {params(s.items)}, "
        f"{params(s.first)}, {params(s.last)}, '{Stage.REGISTERED}', {stamp}, {stamp})"
        for customer, s in rows
    )
    await execute(f"{METRICS_INSERT} VALUES {values} {METRICS_ADD}", params.values, connection)


async def _upsert_spend(
    deltas: list[tuple[tuple[int, int], list[int]]], connection: BaseDBAsyncClient
) -> None:
    params = Params(dialect_of(connection))
    values = ", ".join(
        f"({params(customer)}, {params(category)}, {params(spent)}, {params(lines)})"
        for (customer, category), (spent, lines) in deltas
    )
    await execute(f"{SPEND_INSERT} VALUES {values} {SPEND_ADD}", params.values, connection)


async def settle_customers(
    customer_ids: Sequence[int],
    now: datetime,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    chunk: int = 5_000,
    connection: BaseDBAsyncClient | None = None,
) -> None:
    """Favourite category and lifecycle stage of the customers an import added to (in the
    caller's transaction when it passes its connection)."""
    for start in range(0, len(customer_ids), chunk):
        ids = list(customer_ids[start : start + chunk])
        async with transaction(connection) as db:
            params = Params(dialect_of(db))
            favourite = FAVOURITE.format(customer="customer_metrics.customer_id")
            await execute(
                f"UPDATE customer_metrics SET favourite_category_id = {favourite} "
                f"WHERE customer_id IN {params.many(ids)}",
                params.values,
                db,
            )
            await recompute_lifecycle(now, policy, ids, db)
