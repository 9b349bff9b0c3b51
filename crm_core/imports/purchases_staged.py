"""Importing receipt lines on PostgreSQL, set-based.

Python only groups rows into receipts and parses what is per receipt (time, card, till) or
repeats a lot (category paths, cached). Each batch of rows goes by COPY into temporary
tables, and PostgreSQL does the per-line work in a few statements: the numbers are checked
against the same pattern the row-by-row path uses (so nothing uncastable is ever cast),
a receipt with any bad line is refused whole (its rows come back for the report), new
products are created, receipts are inserted `ON CONFLICT DO NOTHING` (a re-import changes
nothing), their lines follow, and the customers' metrics, category spend, favourite and
lifecycle stage are brought up to date in the same transaction as the receipts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from crm_core.catalogue.service import ensure_categories
from crm_core.imports.receipt_rows import (
    BAD_CATEGORY,
    BAD_SKU,
    CHANGED,
    NEGATIVE,
    NO_CARD,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    NUMBER,
    NUMBER_CHARACTERS,
    NUMBER_LIMIT,
    OTHER_LINE,
    TOTAL_MISMATCH,
    Bad,
    ReceiptHead,
    category_path,
    receipt_rows,
)
from crm_core.imports.report import ImportReport
from crm_core.metrics.models import Stage
from crm_core.metrics.service import (
    FAVOURITE,
    METRICS_ADD,
    METRICS_COLUMNS,
    SPEND_ADD,
    SPEND_INSERT,
    recompute_lifecycle,
)
from crm_core.sql import transaction
from crm_core.stores.models import Store

LINES_PER_BATCH = 50_000  # a batch ends at the first receipt boundary past this
WRITERS = 2  # batches written at once: PostgreSQL's work spreads over two cores

# Problem codes of a line, in the order the row-by-row path checks (the first one counts).
LINE_PROBLEMS: dict[int, tuple[str, str]] = {
    1: ("sku", BAD_SKU),
    2: ("quantity", NOT_A_NUMBER),
    3: ("quantity", NOT_POSITIVE),
    4: ("unit_price", NOT_A_NUMBER),
    5: ("unit_price", NEGATIVE),
    6: ("discount", NOT_A_NUMBER),
    7: ("discount", NEGATIVE),
    8: ("line_total", NOT_A_NUMBER),
    9: ("line_total", TOTAL_MISMATCH),
    10: ("category", BAD_CATEGORY),
}
HEAD_PROBLEM = 0  # the receipt's head says what (lines not together, a bad time)
NO_CARD_PROBLEM = 11

HEAD_COLUMNS = ("seq", "first_row", "store_id", "receipt_id", "purchased_at", "stamp", "till",
                "card", "bad_row", "bad_column", "bad_reason")  # fmt: skip
ROW_COLUMNS = ("row_no", "seq", "sku", "name", "category", "category_bad", "quantity",
               "unit_price", "discount", "line_total")  # fmt: skip

SESSION = [
    "SET LOCAL jit = off",  # compiling costs more than these statements run
    "SET LOCAL work_mem = '128MB'",  # a batch's sorts in memory
    "SET LOCAL default_statistics_target = 10",  # quick ANALYZE of the staging tables
]
CREATE_STAGING = [
    "CREATE TEMP TABLE import_heads (seq int, first_row int, store_id int, receipt_id text, "
    "purchased_at timestamptz, stamp text, till text, card text, bad_row int, bad_column text, "
    "bad_reason text) ON COMMIT DROP",
    "CREATE TEMP TABLE import_rows (row_no int, seq int, sku text, name text, category text, "
    "category_bad bool, quantity text, unit_price text, discount text, line_total text) "
    "ON COMMIT DROP",
]


def _parsed(column: str) -> str:
    """A text column as numeric when it is a number by the rules of `NUMBER` ($1)."""
    return (
        f"CASE WHEN length(r.{column}) <= {NUMBER_CHARACTERS} AND r.{column} ~ $1 "
        f"AND translate(r.{column}, '+-.,', '') <> '' "
        f"THEN replace(r.{column}, ',', '.')::numeric END"
    )


def _within_limit(name: str) -> str:
    return f"CASE WHEN abs(n.{name}) < $2 THEN n.{name} END AS {name}"


# The numbers are parsed once per row: OFFSET 0 keeps each subquery from being flattened
# into the expressions that use its columns (which would repeat the parsing in each).
CHECK_LINES = (
    "CREATE TEMP TABLE import_lines ON COMMIT DROP AS "
    "SELECT r.row_no, r.seq, r.sku, r.name, r.category, v.q, v.p, v.d, v.t, "
    "CASE WHEN r.sku = '' OR length(r.sku) > 64 THEN 1 "
    "WHEN v.q IS NULL THEN 2 WHEN v.q <= 0 THEN 3 "
    "WHEN v.p IS NULL THEN 4 WHEN v.p < 0 THEN 5 "
    "WHEN v.d IS NULL THEN 6 WHEN v.d < 0 THEN 7 "
    "WHEN v.t IS NULL THEN 8 WHEN abs(v.q * v.p - v.d - v.t) > 0.005 THEN 9 "
    "WHEN r.category_bad THEN 10 END AS problem "
    f"FROM import_rows r CROSS JOIN LATERAL (SELECT {_within_limit('q')}, "
    f"{_within_limit('p')}, {_within_limit('d')}, {_within_limit('t')} "
    f"FROM (SELECT {_parsed('quantity')} AS q, {_parsed('unit_price')} AS p, "
    f"CASE WHEN r.discount = '' THEN 0 ELSE {_parsed('discount')} END AS d, "
    f"{_parsed('line_total')} AS t OFFSET 0) n OFFSET 0) v"
)

# One row per receipt: its sums, its first problem (the head's, a line's, or an unknown card).
SUM_RECEIPTS = (
    "CREATE TEMP TABLE import_receipts ON COMMIT DROP AS "
    "SELECT h.seq, h.first_row, h.store_id, h.receipt_id, h.purchased_at, h.till, "
    "c.id AS card_id, c.customer_id, s.total, s.discount, s.items_milli, "
    "encode(sha256(convert_to('import|' || h.stamp || '|' || s.lines, 'UTF8')), 'hex') "
    "AS fingerprint, "
    "CASE WHEN h.bad_row IS NOT NULL THEN h.bad_row WHEN s.bad_row IS NOT NULL THEN s.bad_row "
    "WHEN h.card IS NOT NULL AND c.id IS NULL THEN h.first_row END AS bad_row, "
    f"CASE WHEN h.bad_row IS NOT NULL THEN {HEAD_PROBLEM} "
    "WHEN s.bad_row IS NOT NULL THEN s.bad_problem "
    f"WHEN h.card IS NOT NULL AND c.id IS NULL THEN {NO_CARD_PROBLEM} END AS problem, "
    "NULL::bigint AS purchase_id "
    "FROM import_heads h JOIN (SELECT seq, sum(round(t, 2)) AS total, "
    "sum(round(d, 2)) AS discount, sum(round(q, 3) * 1000)::bigint AS items_milli, "
    "min(row_no) FILTER (WHERE problem IS NOT NULL) AS bad_row, "
    "(array_agg(problem ORDER BY row_no) FILTER (WHERE problem IS NOT NULL))[1] AS bad_problem, "
    "string_agg(sku || ':' || round(q, 3) || ':' || round(p, 2) || ':' || round(d, 2) || ':' "
    "|| round(t, 2), '|' ORDER BY row_no) AS lines "
    "FROM import_lines GROUP BY seq) s ON s.seq = h.seq "
    "LEFT JOIN cards c ON c.number = h.card"
)

REJECTED_ROWS = (
    "SELECT l.row_no, r.bad_row, r.problem, h.bad_column, h.bad_reason "
    "FROM import_lines l JOIN import_receipts r ON r.seq = l.seq "
    "JOIN import_heads h ON h.seq = l.seq WHERE r.bad_row IS NOT NULL ORDER BY l.row_no"
)

NEW_CATEGORIES = (
    "SELECT DISTINCT l.category FROM import_lines l JOIN import_receipts r ON r.seq = l.seq "
    "WHERE r.bad_row IS NULL AND l.category IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.path = l.category)"
)

NEW_PRODUCTS = (
    "INSERT INTO products (sku, name, category_id, created_at) "
    "SELECT DISTINCT ON (l.sku) l.sku, left(coalesce(nullif(l.name, ''), l.sku), 255), c.id, $1 "
    "FROM import_lines l JOIN import_receipts r ON r.seq = l.seq "
    "LEFT JOIN categories c ON c.path = l.category "
    "WHERE r.bad_row IS NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = l.sku) "
    "ORDER BY l.sku, l.row_no ON CONFLICT (sku) DO NOTHING"
)

INSERT_RECEIPTS = (
    "WITH inserted AS (INSERT INTO purchases (store_id, till, receipt_id, purchased_at, "
    "customer_id, card_id, currency, total, discount_total, refunded_total, payments, status, "
    "fingerprint, created_at) "
    "SELECT r.store_id, r.till, r.receipt_id, r.purchased_at, r.customer_id, r.card_id, "
    "st.currency, r.total, r.discount, 0, "
    "jsonb_build_array(jsonb_build_object('method', 'import', 'amount', r.total::text)), "
    "'completed', r.fingerprint, $1 "
    "FROM import_receipts r JOIN stores st ON st.id = r.store_id "
    "WHERE r.bad_row IS NULL ORDER BY r.seq "
    "ON CONFLICT (store_id, receipt_id) DO NOTHING RETURNING id, store_id, receipt_id) "
    "UPDATE import_receipts r SET purchase_id = i.id FROM inserted i "
    "WHERE i.store_id = r.store_id AND i.receipt_id = r.receipt_id AND r.bad_row IS NULL"
)

INSERT_LINES = (
    "INSERT INTO purchase_lines (purchase_id, line_no, product_id, category_id, quantity, "
    "unit_price, discount, line_total, refunded_quantity, customer_id, purchased_at) "
    "SELECT r.purchase_id, row_number() OVER (PARTITION BY l.seq ORDER BY l.row_no), p.id, "
    "c.id, round(l.q, 3), round(l.p, 2), round(l.d, 2), round(l.t, 2), 0, r.customer_id, "
    "r.purchased_at FROM import_lines l JOIN import_receipts r ON r.seq = l.seq "
    "JOIN products p ON p.sku = l.sku LEFT JOIN categories c ON c.path = l.category "
    "WHERE r.purchase_id IS NOT NULL ORDER BY r.customer_id, r.purchased_at"  # index order
)


def _lines_text(lines: str) -> str:
    """A receipt's lines as one text, sorted, numbers at their stored scale."""
    return (
        "(SELECT string_agg(x, '|' ORDER BY x) FROM (SELECT sku || ':' || round(q, 3) || ':' "
        f"|| round(p, 2) || ':' || round(d, 2) || ':' || round(t, 2) AS x FROM {lines}) y)"
    )


# Rows of receipts already stored with other lines or another time: refused, never changed.
# One the till recorded has another fingerprint, so its stored lines are compared.
CHANGED_ROWS = (
    "SELECT l.row_no, l.row_no = r.first_row AS first FROM import_receipts r "
    "JOIN purchases pu ON pu.store_id = r.store_id AND pu.receipt_id = r.receipt_id "
    "JOIN import_lines l ON l.seq = r.seq "
    "WHERE r.bad_row IS NULL AND r.purchase_id IS NULL AND pu.fingerprint <> r.fingerprint "
    "AND (pu.purchased_at <> r.purchased_at OR "
    + _lines_text(
        "(SELECT pr.sku, sl.quantity AS q, sl.unit_price AS p, sl.discount AS d, "
        "sl.line_total AS t FROM purchase_lines sl JOIN products pr ON pr.id = sl.product_id "
        "WHERE sl.purchase_id = pu.id) s"
    )
    + " IS DISTINCT FROM "
    + _lines_text("(SELECT sku, q, p, d, t FROM import_lines il WHERE il.seq = r.seq) i")
    + ") ORDER BY l.row_no"
)

BUYERS = (
    "SELECT customer_id FROM import_receipts "
    "WHERE purchase_id IS NOT NULL AND customer_id IS NOT NULL"
)

ADD_SPEND = (
    f"{SPEND_INSERT} SELECT r.customer_id, top.id, sum(round(l.t, 2) * 100)::bigint, count(*) "
    "FROM import_lines l JOIN import_receipts r ON r.seq = l.seq "
    "JOIN categories top ON top.path = split_part(l.category, '/', 1) "
    "WHERE r.purchase_id IS NOT NULL AND r.customer_id IS NOT NULL "
    f"GROUP BY r.customer_id, top.id ORDER BY r.customer_id, top.id {SPEND_ADD}"
)

# After the spend: the favourite category is judged in the same write as the sums.
ADD_METRICS = (
    f"INSERT INTO customer_metrics AS m ({METRICS_COLUMNS}, favourite_category_id) "
    "SELECT b.*, " + FAVOURITE.format(customer="b.customer_id") + " FROM ("
    "SELECT r.customer_id, count(*), sum(r.total * 100)::bigint, sum(r.items_milli), "
    f"min(r.purchased_at), max(r.purchased_at), '{Stage.REGISTERED}', $1::timestamptz, "
    "$1::timestamptz FROM import_receipts r "
    "WHERE r.purchase_id IS NOT NULL AND r.customer_id IS NOT NULL "
    f"GROUP BY r.customer_id ORDER BY r.customer_id) b {METRICS_ADD}, "
    "favourite_category_id = excluded.favourite_category_id"
)


def _count(status: str) -> int:
    """Rows a statement touched, from asyncpg's status ("INSERT 0 12", "UPDATE 7")."""
    return int(status.rsplit(" ", 1)[-1])


class _Batch:
    """Heads and rows of whole receipts, as tuples ready for COPY."""

    def __init__(self) -> None:
        self.heads: list[tuple[Any, ...]] = []
        self.rows: list[tuple[Any, ...]] = []

    def add_head(self, head: ReceiptHead) -> None:
        at = head.purchased_at
        bad_row, bad_column, bad_reason = head.bad or (None, None, None)
        self.heads.append(
            (
                head.seq,
                head.first_row,
                head.store.id,
                head.receipt_id,
                at,
                at.isoformat() if at else None,
                head.till,
                head.card_number,
                bad_row,
                bad_column,
                bad_reason,
            )
        )

    def add_row(self, row: int, seq: int, values: dict[str, str]) -> None:
        try:
            category, category_bad = category_path(values.get("category", "")), False
        except Bad:
            category, category_bad = None, True
        self.rows.append(
            (
                row,
                seq,
                values["sku"],
                values.get("name") or "",
                category,
                category_bad,
                values["quantity"],
                values["unit_price"],
                values.get("discount") or "",
                values["line_total"],
            )
        )


class _Writer:
    """Writes each batch in one transaction and adds what it did to the report."""

    def __init__(self, now: datetime, report: ImportReport) -> None:
        self.now = now
        self.report = report

    async def write(self, batch: _Batch) -> None:
        async with transaction() as db:
            raw = db._connection  # type: ignore[attr-defined]  # asyncpg, in the transaction
            for statement in SESSION + CREATE_STAGING:
                await raw.execute(statement)
            await raw.copy_records_to_table("import_heads", records=batch.heads,
                                            columns=list(HEAD_COLUMNS))  # fmt: skip
            await raw.copy_records_to_table("import_rows", records=batch.rows,
                                            columns=list(ROW_COLUMNS))  # fmt: skip
            await raw.execute(CHECK_LINES, NUMBER, NUMBER_LIMIT)
            await raw.execute(SUM_RECEIPTS)
            await raw.execute("ANALYZE import_lines")
            await raw.execute("ANALYZE import_receipts")
            self._report_rejections(await raw.fetch(REJECTED_ROWS))
            await self._ensure_categories(raw)
            await raw.execute(NEW_PRODUCTS, self.now)
            await raw.execute(INSERT_RECEIPTS, self.now)
            lines = _count(await raw.execute(INSERT_LINES))
            good, inserted = await raw.fetchrow(
                "SELECT count(*) FILTER (WHERE bad_row IS NULL), count(purchase_id) "
                "FROM import_receipts"
            )
            changed = 0
            for row_no, first in await raw.fetch(CHANGED_ROWS):
                changed += first
                self.report.reject(row_no, "receipt_id", CHANGED if first else OTHER_LINE)
            self.report.imported += inserted
            self.report.unchanged += good - inserted - changed
            self.report.lines += lines
            if inserted:
                await raw.execute(ADD_SPEND)
                await raw.execute(ADD_METRICS, self.now)
                await recompute_lifecycle(self.now, connection=db, customers_query=BUYERS)

    def _report_rejections(self, rows: list[Any]) -> None:
        for row_no, bad_row, problem, head_column, head_reason in rows:
            if row_no != bad_row:
                self.report.reject(row_no, "receipt_id", OTHER_LINE)
            elif problem == HEAD_PROBLEM:
                self.report.reject(row_no, head_column, head_reason)
            elif problem == NO_CARD_PROBLEM:
                self.report.reject(row_no, "card_number", NO_CARD)
            else:
                self.report.reject(row_no, *LINE_PROBLEMS[problem])

    async def _ensure_categories(self, raw: Any) -> None:
        """New categories are committed on their own (another batch may be creating the same
        ones at this moment; a clash inside this transaction would abort it)."""
        paths = [row[0] for row in await raw.fetch(NEW_CATEGORIES)]
        if paths:
            await ensure_categories(paths)


def _batches(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    reading: ImportReport,
    now: datetime,
) -> Iterator[_Batch]:
    """Whole receipts in batches of about LINES_PER_BATCH rows."""
    batch = _Batch()
    current: ReceiptHead | None = None
    for head, row, values in receipt_rows(rows, stores, reading, now):
        if head is not current:
            if len(batch.rows) >= LINES_PER_BATCH:
                yield batch
                batch = _Batch()
            current = head
            batch.add_head(head)
        batch.add_row(row, head.seq, values)
    if batch.rows:
        yield batch


async def import_staged(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    now: datetime,
    report: ImportReport,
    writers: int = WRITERS,
) -> None:
    """A thread reads batches while `writers` transactions write them side by side.

    Concurrent batches never share a receipt (a receipt seen again is refused), and they
    write customers' metrics and spend in customer order, so they wait for each other at
    worst and cannot deadlock.
    """
    reading = ImportReport(report.kind)  # rows read and refused before they reach SQL
    batches = _batches(rows, stores, reading, now)
    writer = _Writer(now, report)
    queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=writers)

    async def read() -> None:
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            await queue.put(batch)
        for _ in range(writers):
            await queue.put(None)

    async def write() -> None:
        while (batch := await queue.get()) is not None:
            await writer.write(batch)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(read())
            for _ in range(writers):
                group.create_task(write())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # what went wrong first, as callers expect it
    report.absorb(reading)
