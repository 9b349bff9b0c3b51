"""Per-customer metrics, kept current as each receipt or refund arrives, and rebuilt in bulk.

The incremental path runs inside the purchase's own transaction and touches only that
customer's rows; `recompute_customers` rebuilds the same numbers from the purchase history
with set-based SQL (imports, repairs) and must always agree with the incremental path.
Money is integer cents, quantities integer thousandths, so both paths are exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.metrics.lifecycle import DEFAULT_POLICY, LifecyclePolicy, stage_for, stage_sql
from crm_core.metrics.models import Stage
from crm_core.metrics.rfm import recompute_rfm
from crm_core.sql import Params, dialect_of, execute, fetch, transaction

# Adding to metrics: the INSERT takes rows (VALUES or a SELECT) of what is new per customer,
# in the column order below; the conflict clause adds them to what is there.
METRICS_COLUMNS = (
    "customer_id, receipts, spent_minor, items_milli, first_purchase_at, last_purchase_at, "
    "stage, stage_since, updated_at"
)
METRICS_INSERT = f"INSERT INTO customer_metrics AS m ({METRICS_COLUMNS})"
# The favourite category as `settle_customers` judges it, for one customer (`customer`).
FAVOURITE = (
    "(SELECT s.category_id FROM customer_category_spend s "
    "WHERE s.customer_id = {customer} AND s.spent_minor > 0 "
    "ORDER BY s.spent_minor DESC, s.category_id LIMIT 1)"
)
METRICS_ADD = (
    "ON CONFLICT (customer_id) DO UPDATE SET "
    "receipts = m.receipts + excluded.receipts, "
    "spent_minor = m.spent_minor + excluded.spent_minor, "
    "items_milli = m.items_milli + excluded.items_milli, "
    "first_purchase_at = CASE WHEN m.first_purchase_at IS NULL OR m.first_purchase_at > "
    "excluded.first_purchase_at THEN excluded.first_purchase_at "
    "ELSE m.first_purchase_at END, "
    "last_purchase_at = CASE WHEN m.last_purchase_at IS NULL OR m.last_purchase_at < "
    "excluded.last_purchase_at THEN excluded.last_purchase_at "
    "ELSE m.last_purchase_at END, updated_at = excluded.updated_at"
)
SPEND_INSERT = (
    "INSERT INTO customer_category_spend AS s (customer_id, category_id, spent_minor, lines)"
)
SPEND_ADD = (
    "ON CONFLICT (customer_id, category_id) DO UPDATE SET "
    "spent_minor = s.spent_minor + excluded.spent_minor, lines = s.lines + excluded.lines"
)


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), ROUND_HALF_UP))


def to_milli(quantity: Decimal) -> int:
    return int((quantity * 1000).quantize(Decimal(1), ROUND_HALF_UP))


def refunded_share_minor(line_total_minor: int, refunded_milli: int, quantity_milli: int) -> int:
    """The part of a line's value refunded so far, rounded half up, in integer arithmetic
    (the same formula the SQL rebuild uses, so both paths agree to the cent)."""
    if quantity_milli <= 0:
        return 0
    return (2 * line_total_minor * refunded_milli + quantity_milli) // (2 * quantity_milli)


@dataclass(frozen=True)
class LineFigures:
    category_id: int | None
    line_total: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class RefundedLine:
    category_id: int | None
    line_total: Decimal
    quantity: Decimal
    refunded_before: Decimal
    refunded_after: Decimal


_TOP_LEVEL: dict[int, int] = {}


async def top_level_of(
    category_ids: Iterable[int], connection: BaseDBAsyncClient | None = None
) -> dict[int, int]:
    """Top-level ancestor of each category (cached: a category's path never changes)."""
    wanted = {c for c in category_ids if c not in _TOP_LEVEL}
    if wanted:
        dialect = dialect_of(connection)
        params = Params(dialect)
        rows = await fetch(
            f"SELECT c.id AS id, top.id AS top_id FROM categories c "
            f"JOIN categories top ON top.path = {dialect.top_category_path('c.path')} "
            f"WHERE c.id IN {params.many(sorted(wanted))}",
            params.values,
            connection,
        )
        _TOP_LEVEL.update({row["id"]: row["top_id"] for row in rows})
    return {c: _TOP_LEVEL[c] for c in category_ids if c in _TOP_LEVEL}


async def _add_category_spend(
    customer_id: int,
    deltas: dict[int, tuple[int, int]],
    connection: BaseDBAsyncClient,
) -> None:
    if not deltas:
        return
    params = Params(dialect_of(connection))
    rows = ", ".join(
        f"({params(customer_id)}, {params(category)}, {params(spent)}, {params(lines)})"
        for category, (spent, lines) in sorted(deltas.items())
    )
    await execute(f"{SPEND_INSERT} VALUES {rows} {SPEND_ADD}", params.values, connection)


async def _refresh_favourite(customer_id: int, connection: BaseDBAsyncClient) -> None:
    params = Params(dialect_of(connection))
    customer = params(customer_id)
    favourite = FAVOURITE.format(customer=customer)
    await execute(
        f"UPDATE customer_metrics SET favourite_category_id = {favourite} "
        f"WHERE customer_id = {customer}",
        params.values,
        connection,
    )


async def _settle_stage(
    customer_id: int, now: datetime, policy: LifecyclePolicy, connection: BaseDBAsyncClient
) -> Stage:
    """Judge the stage from the row as it is now; record a change when there is one."""
    params = Params(dialect_of(connection))
    rows = await fetch(
        "SELECT receipts, first_purchase_at, last_purchase_at, stage FROM customer_metrics "
        f"WHERE customer_id = {params(customer_id)}",
        params.values,
        connection,
    )
    return await _judge_stage(customer_id, rows[0], now, policy, connection)


async def _judge_stage(
    customer_id: int,
    row: dict,
    now: datetime,
    policy: LifecyclePolicy,
    connection: BaseDBAsyncClient,
) -> Stage:
    stage = stage_for(
        row["receipts"],
        _as_datetime(row["first_purchase_at"]),
        _as_datetime(row["last_purchase_at"]),
        now,
        policy,
    )
    if stage != row["stage"]:
        await _record_stage_change(customer_id, row["stage"], stage, now, connection)
    return stage


async def _record_stage_change(
    customer_id: int,
    before: str | None,
    after: Stage,
    now: datetime,
    connection: BaseDBAsyncClient,
) -> None:
    params = Params(dialect_of(connection))
    await execute(
        "INSERT INTO lifecycle_changes (customer_id, from_stage, to_stage, changed_at) "
        f"VALUES ({params(customer_id)}, {params(before)}, {params(str(after))}, {params(now)})",
        params.values,
        connection,
    )
    params = Params(dialect_of(connection))
    await execute(
        f"UPDATE customer_metrics SET stage = {params(str(after))}, stage_since = {params(now)} "
        f"WHERE customer_id = {params(customer_id)}",
        params.values,
        connection,
    )


def _as_datetime(value: object) -> datetime | None:
    """SQLite hands timestamps back as text."""
    if value is None or isinstance(value, datetime):
        return value  # type: ignore[return-value]
    return datetime.fromisoformat(str(value))


async def ensure_metrics_row(
    customer_id: int, now: datetime, connection: BaseDBAsyncClient | None = None
) -> None:
    """A registered customer has a metrics row from the start (stage 'registered')."""
    params = Params(dialect_of(connection))
    await execute(
        "INSERT INTO customer_metrics (customer_id, receipts, spent_minor, items_milli, stage, "
        f"stage_since, updated_at) VALUES ({params(customer_id)}, 0, 0, 0, "
        f"'{Stage.REGISTERED}', {params(now)}, {params(now)}) ON CONFLICT (customer_id) DO NOTHING",
        params.values,
        connection,
    )


async def apply_purchase(
    customer_id: int,
    purchased_at: datetime,
    total: Decimal,
    lines: Sequence[LineFigures],
    now: datetime,
    connection: BaseDBAsyncClient,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> None:
    """Add one receipt to the customer's metrics, in the receipt's transaction.

    Few round trips on purpose (this runs for every receipt at the till): one upsert that
    returns what the stage judgement needs, one for the category spend, one for the
    favourite category, and a stage change only when there is one.
    """
    params = Params(dialect_of(connection))
    items = sum(to_milli(line.quantity) for line in lines)
    spent, at, stamp = params(to_minor(total)), params(purchased_at), params(now)
    after = await fetch(
        f"{METRICS_INSERT} VALUES ({params(customer_id)}, 1, {spent}, {params(items)}, {at}, "
        f"{at}, '{Stage.REGISTERED}', {stamp}, {stamp}) {METRICS_ADD} "
        "RETURNING receipts, first_purchase_at, last_purchase_at, stage",
        params.values,
        connection,
    )
    tops = await top_level_of({line.category_id for line in lines if line.category_id}, connection)
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if line.category_id is None or line.category_id not in tops:
            continue
        delta = deltas[tops[line.category_id]]
        delta[0] += to_minor(line.line_total)
        delta[1] += 1
    await _add_category_spend(customer_id, {k: (v[0], v[1]) for k, v in deltas.items()}, connection)
    if deltas:
        await _refresh_favourite(customer_id, connection)
    await _judge_stage(customer_id, after[0], now, policy, connection)


async def apply_refund(
    customer_id: int,
    amount: Decimal,
    lines: Sequence[RefundedLine],
    fully_refunded: bool,
    now: datetime,
    connection: BaseDBAsyncClient,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> None:
    """Take a refund off the metrics; a receipt refunded in full stops counting as a visit."""
    await ensure_metrics_row(customer_id, now, connection)
    dialect = dialect_of(connection)
    params = Params(dialect)
    items = sum(to_milli(line.refunded_after) - to_milli(line.refunded_before) for line in lines)
    await execute(
        f"UPDATE customer_metrics SET spent_minor = spent_minor - {params(to_minor(amount))}, "
        f"items_milli = items_milli - {params(items)}, "
        f"receipts = receipts - {params(1 if fully_refunded else 0)}, "
        f"updated_at = {params(now)} WHERE customer_id = {params(customer_id)}",
        params.values,
        connection,
    )
    if fully_refunded:
        # The first/last visit may have been this receipt: ask the index, not the history.
        params = Params(dialect)
        await execute(
            "UPDATE customer_metrics SET "
            "first_purchase_at = (SELECT MIN(p.purchased_at) FROM purchases p WHERE "
            f"p.customer_id = {params(customer_id)} AND p.status <> 'refunded'), "
            "last_purchase_at = (SELECT MAX(p.purchased_at) FROM purchases p WHERE "
            f"p.customer_id = {params(customer_id)} AND p.status <> 'refunded') "
            f"WHERE customer_id = {params(customer_id)}",
            params.values,
            connection,
        )
    tops = await top_level_of({line.category_id for line in lines if line.category_id}, connection)
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if line.category_id is None or line.category_id not in tops:
            continue
        total, quantity = to_minor(line.line_total), to_milli(line.quantity)
        before = refunded_share_minor(total, to_milli(line.refunded_before), quantity)
        after = refunded_share_minor(total, to_milli(line.refunded_after), quantity)
        delta = deltas[tops[line.category_id]]
        delta[0] -= after - before
        if line.refunded_after >= line.quantity > line.refunded_before:
            delta[1] -= 1
    await _add_category_spend(customer_id, {k: (v[0], v[1]) for k, v in deltas.items()}, connection)
    if deltas:
        await _refresh_favourite(customer_id, connection)
    await _settle_stage(customer_id, now, policy, connection)


async def recompute_customers(
    now: datetime,
    customer_ids: Sequence[int] | None = None,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    connection: BaseDBAsyncClient | None = None,
) -> None:
    """Rebuild metrics and category spend from the purchase history, set-based.

    For everyone (None) or the given customers (after an import). Stage changes found on
    the way are recorded like any other.
    """
    async with transaction(connection) as db:
        dialect = dialect_of(db)

        def scope(params: Params, column: str) -> str:
            if customer_ids is None:
                return "1 = 1"
            return f"{column} IN {params.many(customer_ids)}"

        params = Params(dialect)
        await execute(
            "INSERT INTO customer_metrics (customer_id, receipts, spent_minor, items_milli, "
            f"stage, stage_since, updated_at) SELECT c.id, 0, 0, 0, '{Stage.REGISTERED}', "
            f"c.created_at, {params(now)} FROM customers c WHERE {scope(params, 'c.id')} "
            "ON CONFLICT (customer_id) DO NOTHING",
            params.values,
            db,
        )
        params = Params(dialect)
        lines_value = (
            f"{dialect.minor('l.line_total')} - (2 * {dialect.minor('l.line_total')} * "
            f"{dialect.milli('l.refunded_quantity')} + {dialect.milli('l.quantity')}) / "
            f"(2 * {dialect.milli('l.quantity')})"
        )
        await execute(
            f"DELETE FROM customer_category_spend WHERE {scope(params, 'customer_id')}",
            params.values,
            db,
        )
        params = Params(dialect)
        await execute(
            "INSERT INTO customer_category_spend (customer_id, category_id, spent_minor, lines) "
            f"SELECT p.customer_id, top.id, SUM({lines_value}), "
            "SUM(CASE WHEN l.refunded_quantity < l.quantity THEN 1 ELSE 0 END) "
            "FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id "
            "JOIN categories cat ON cat.id = l.category_id "
            f"JOIN categories top ON top.path = {dialect.top_category_path('cat.path')} "
            f"WHERE p.customer_id IS NOT NULL AND {scope(params, 'p.customer_id')} "
            "GROUP BY p.customer_id, top.id",
            params.values,
            db,
        )
        params = Params(dialect)
        # SQLite binds "?" in textual order: build the parts in the order they are written.
        updated_at = params(now)
        totals = (
            "SELECT p.customer_id AS customer_id, "
            "SUM(CASE WHEN p.status <> 'refunded' THEN 1 ELSE 0 END) AS receipts, "
            f"SUM({dialect.minor('p.total')} - {dialect.minor('p.refunded_total')}) AS spent, "
            "MIN(CASE WHEN p.status <> 'refunded' THEN p.purchased_at END) AS first_at, "
            "MAX(CASE WHEN p.status <> 'refunded' THEN p.purchased_at END) AS last_at "
            "FROM purchases p WHERE p.customer_id IS NOT NULL AND "
            f"{scope(params, 'p.customer_id')} GROUP BY p.customer_id"
        )
        items = (
            "SELECT p.customer_id AS customer_id, "
            f"SUM({dialect.milli('l.quantity')} - {dialect.milli('l.refunded_quantity')}) AS items "
            "FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id "
            f"WHERE p.customer_id IS NOT NULL AND {scope(params, 'p.customer_id')} "
            "GROUP BY p.customer_id"
        )
        favourite = FAVOURITE.format(customer="customer_metrics.customer_id")
        await execute(
            "UPDATE customer_metrics SET "
            "receipts = COALESCE(t.receipts, 0), spent_minor = COALESCE(t.spent, 0), "
            "items_milli = COALESCE(i.items, 0), first_purchase_at = t.first_at, "
            f"last_purchase_at = t.last_at, favourite_category_id = {favourite}, "
            f"updated_at = {updated_at} "
            f"FROM ({totals}) t LEFT JOIN ({items}) i ON i.customer_id = t.customer_id "
            "WHERE customer_metrics.customer_id = t.customer_id",
            params.values,
            db,
        )
        await recompute_lifecycle(now, policy, customer_ids, db)


async def recompute_lifecycle(
    now: datetime,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    customer_ids: Sequence[int] | None = None,
    connection: BaseDBAsyncClient | None = None,
    customers_query: str | None = None,
) -> int:
    """Move every customer whose stage has changed with time (lapsing, lost); record each move.

    Only `customer_ids`, or the customers a `customers_query` (our own SELECT of customer
    ids, e.g. from an import's staging table) returns, when given. Returns how many customers
    changed stage.
    """
    async with transaction(connection) as db:
        dialect = dialect_of(db)
        params = Params(dialect)
        select = (
            f"SELECT m.customer_id, m.stage, {stage_sql(dialect, params, now, policy)}, "
            f"{params(now)} FROM customer_metrics m "
            f"WHERE m.stage <> {stage_sql(dialect, params, now, policy)}"
        )
        if customer_ids is not None:
            select += f" AND m.customer_id IN {params.many(customer_ids)}"
        if customers_query is not None:
            select += f" AND m.customer_id IN ({customers_query})"
        changed = await execute(
            "INSERT INTO lifecycle_changes (customer_id, from_stage, to_stage, changed_at) "
            + select,
            params.values,
            db,
        )
        params = Params(dialect)
        update = (
            "UPDATE customer_metrics SET "
            f"stage = {stage_sql(dialect, params, now, policy, m='customer_metrics')}, "
            f"stage_since = {params(now)} "
            f"WHERE stage <> {stage_sql(dialect, params, now, policy, m='customer_metrics')}"
        )
        if customer_ids is not None:
            update += f" AND customer_id IN {params.many(customer_ids)}"
        if customers_query is not None:
            update += f" AND customer_id IN ({customers_query})"
        await execute(update, params.values, db)
    return changed


async def recompute_everything(now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY) -> None:
    """Metrics, lifecycle and RFM for every customer, from the stored history (after a bulk
    load, or to repair): the nightly job needs only `recompute_lifecycle` and RFM."""
    await recompute_customers(now, None, policy)
    await recompute_rfm(now)


async def nightly_refresh(now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY) -> int:
    """What time alone changes: lifecycle stages (lapsing, lost) and RFM quintiles."""
    changed = await recompute_lifecycle(now, policy)
    await recompute_rfm(now)
    return changed
