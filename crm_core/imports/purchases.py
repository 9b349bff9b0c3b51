"""Importing a retailer's receipt history: one CSV row per receipt line.

Rows of one receipt (same store and receipt_id) follow each other. A receipt is imported
whole or not at all: one bad line rejects its receipt, and every row of it is reported.
Receipts already in the database (by store and receipt id) are left untouched, so importing
the same file again changes nothing. Receipts are written in batches, each in one
transaction with what it changes in the customers' metrics (added, not rebuilt from
history), favourite category and lifecycle stage: an import stopped half-way leaves whole
receipts with current metrics. PostgreSQL does the per-line work set-based
(`purchases_staged`); SQLite, the embedded default, goes receipt by receipt here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.catalogue.service import ensure_categories
from crm_core.imports.purchases_staged import import_staged
from crm_core.imports.receipt_rows import (
    BAD_SKU,
    CENT,
    CHANGED,
    HALF_CENT,
    MILLI,
    NEGATIVE,
    NO_CARD,
    NOT_POSITIVE,
    OTHER_LINE,
    REQUIRED,
    TOTAL_MISMATCH,
    ZERO,
    Bad,
    ReceiptHead,
    category_path,
    number,
    receipt_rows,
    rounded,
)
from crm_core.imports.report import ImportReport
from crm_core.metrics.bulk import NewReceipt, add_receipts, settle_customers
from crm_core.metrics.service import LineFigures
from crm_core.recommendations.service import refresh_clusters
from crm_core.sql import Params, dialect_of, execute, fetch, transaction
from crm_core.stores.models import Store

__all__ = ["REQUIRED", "import_purchases"]

BATCH_RECEIPTS = 5_000


@dataclass(slots=True)
class Line:
    row: int
    sku: str
    name: str
    category: str | None
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


@dataclass(slots=True)
class Receipt:
    store: Store
    receipt_id: str
    till: str
    purchased_at: datetime
    card_number: str | None
    rows: list[int]
    lines: list[Line]
    bad: tuple[int, str, str] | None = None  # (row, column, reason) of the first bad line


def _line(row: int, values: dict[str, str]) -> Line:
    sku = values["sku"]
    if not sku or len(sku) > 64:
        raise Bad("sku", BAD_SKU)
    quantity = number(values["quantity"], "quantity")
    if quantity <= 0:
        raise Bad("quantity", NOT_POSITIVE)
    unit_price = number(values["unit_price"], "unit_price")
    if unit_price < 0:
        raise Bad("unit_price", NEGATIVE)
    discount = number(values["discount"], "discount") if values.get("discount") else ZERO
    if discount < 0:
        raise Bad("discount", NEGATIVE)
    line_total = number(values["line_total"], "line_total")
    if abs(quantity * unit_price - discount - line_total) > HALF_CENT:
        raise Bad("line_total", TOTAL_MISMATCH)
    return Line(
        row,
        sku,
        (values.get("name") or sku)[:255],
        category_path(values.get("category", "")),
        rounded(quantity, MILLI),
        rounded(unit_price, CENT),
        rounded(discount, CENT),
        rounded(line_total, CENT),
    )


def receipts_of(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    report: ImportReport,
    now: datetime,
) -> Iterator[Receipt]:
    """Group rows into receipts and check each line; a receipt keeps its first problem."""
    current: Receipt | None = None
    current_head: ReceiptHead | None = None
    for head, row, values in receipt_rows(rows, stores, report, now):
        if head is not current_head:
            if current is not None:
                yield current
            current_head = head
            at = head.purchased_at or datetime.min.replace(tzinfo=UTC)
            current = Receipt(
                head.store, head.receipt_id, head.till, at, head.card_number, [], [], head.bad
            )
        assert current is not None
        current.rows.append(row)
        try:
            current.lines.append(_line(row, values))
        except Bad as problem:
            if current.bad is None:
                current.bad = (row, problem.column, problem.reason)
    if current is not None:
        yield current


def _reject_receipt(receipt: Receipt, column: str, reason: str, report: ImportReport) -> None:
    bad_row = receipt.bad[0] if receipt.bad else receipt.rows[0]
    for row in receipt.rows:
        if row == bad_row:
            report.reject(row, column, reason)
        else:
            report.reject(row, "receipt_id", OTHER_LINE)


def _fingerprint(receipt: Receipt) -> str:
    text = "|".join(
        f"{line.sku}:{line.quantity}:{line.unit_price}:{line.discount}:{line.line_total}"
        for line in receipt.lines
    )
    return hashlib.sha256(f"import|{receipt.purchased_at.isoformat()}|{text}".encode()).hexdigest()


class _Catalogue:
    """SKU and category ids, created on first sight and remembered for the whole import."""

    def __init__(self) -> None:
        self.products: dict[str, int] = {}
        self.categories: dict[str, int] = {}

    async def ensure(self, lines: list[Line], now: datetime, db: BaseDBAsyncClient) -> None:
        paths = {line.category for line in lines if line.category} - set(self.categories)
        if paths:
            found = await ensure_categories(paths, db)
            self.categories.update({path: c.id for path, c in found.items()})
        missing: dict[str, Line] = {}
        for line in lines:
            if line.sku not in self.products and line.sku not in missing:
                missing[line.sku] = line
        if not missing:
            return
        dialect = dialect_of(db)
        params = Params(dialect)
        values = ", ".join(
            f"({params(sku)}, {params(line.name)}, {params(self.categories.get(line.category or ''))}, "  # noqa: E501
            f"{params(now)})"
            for sku, line in missing.items()
        )
        await execute(
            f"INSERT INTO products (sku, name, category_id, created_at) VALUES {values} "
            "ON CONFLICT (sku) DO NOTHING",
            params.values,
            db,
        )
        params = Params(dialect)
        rows = await fetch(
            f"SELECT id, sku FROM products WHERE sku IN {params.many(list(missing))}",
            params.values,
            db,
        )
        self.products.update({row["sku"]: row["id"] for row in rows})


async def _cards(numbers: set[str], db: BaseDBAsyncClient) -> dict[str, tuple[int, int]]:
    if not numbers:
        return {}
    params = Params(dialect_of(db))
    rows = await fetch(
        f"SELECT id, customer_id, number FROM cards WHERE number IN {params.many(sorted(numbers))}",
        params.values,
        db,
    )
    return {row["number"]: (row["id"], row["customer_id"]) for row in rows}


async def _write_batch(
    batch: list[Receipt],
    catalogue: _Catalogue,
    now: datetime,
    report: ImportReport,
) -> None:
    async with transaction() as db:
        cards = await _cards({r.card_number for r in batch if r.card_number}, db)
        good: list[Receipt] = []
        for receipt in batch:
            if receipt.card_number and receipt.card_number not in cards:
                receipt.bad = (receipt.rows[0], "card_number", "")
                _reject_receipt(receipt, "card_number", NO_CARD, report)
                continue
            good.append(receipt)
        if not good:
            return
        await catalogue.ensure([line for r in good for line in r.lines], now, db)
        purchase_rows = []
        for receipt in good:
            card_id, customer_id = cards.get(receipt.card_number or "", (None, None))
            total = sum((line.line_total for line in receipt.lines), ZERO)
            purchase_rows.append(
                (
                    receipt.store.id,
                    receipt.till,
                    receipt.receipt_id,
                    receipt.purchased_at,
                    customer_id,
                    card_id,
                    receipt.store.currency,
                    total,
                    sum((line.discount for line in receipt.lines), ZERO),
                    ZERO,
                    f'[{{"method": "import", "amount": "{total}"}}]',
                    "completed",
                    _fingerprint(receipt),
                    now,
                )
            )
        inserted = await _insert_purchases(purchase_rows, db)
        changed = await _changed(
            [r for r in good if (r.store.id, r.receipt_id) not in inserted], db
        )
        line_rows = []
        new_receipts: list[NewReceipt] = []
        for receipt in good:
            purchase_id = inserted.get((receipt.store.id, receipt.receipt_id))
            if purchase_id is None:
                if (receipt.store.id, receipt.receipt_id) in changed:
                    _reject_receipt(receipt, "receipt_id", CHANGED, report)
                else:
                    report.unchanged += 1
                continue
            report.imported += 1
            _, customer_id = cards.get(receipt.card_number or "", (None, None))
            if customer_id is not None:
                new_receipts.append(_figures(receipt, customer_id, catalogue))
            for number, line in enumerate(receipt.lines, start=1):
                line_rows.append(
                    (
                        purchase_id,
                        number,
                        catalogue.products[line.sku],
                        catalogue.categories.get(line.category) if line.category else None,
                        line.quantity,
                        line.unit_price,
                        line.discount,
                        line.line_total,
                        ZERO,
                        customer_id,
                        receipt.purchased_at,
                    )
                )
        report.lines += len(line_rows)
        await _insert_lines(line_rows, db)
        # The customers' metrics, favourites and stages follow in the receipts' transaction.
        touched = await add_receipts(new_receipts, now, db)
        await settle_customers(sorted(touched), now, connection=db)


def _content(lines: Iterable[tuple[str, object, object, object, object]]) -> list[tuple]:
    """Lines as comparable values, whatever their order and the decimals' notation."""
    return sorted(
        (sku, *(Decimal(str(value)).normalize() for value in numbers)) for sku, *numbers in lines
    )


async def _changed(receipts: list[Receipt], db: BaseDBAsyncClient) -> set[tuple[int, str]]:
    """The (store, receipt id) of the receipts already stored with other lines or another
    time: an import never changes a stored receipt, and says so. A receipt the till
    recorded has another fingerprint, so its stored lines are compared."""
    if not receipts:
        return set()
    dialect = dialect_of(db)
    stored: dict[tuple[int, str], dict] = {}
    for start in range(0, len(receipts), 500):
        params = Params(dialect)
        keys = " OR ".join(
            f"(store_id = {params(r.store.id)} AND receipt_id = {params(r.receipt_id)})"
            for r in receipts[start : start + 500]
        )
        for row in await fetch(
            f"SELECT id, store_id, receipt_id, purchased_at, fingerprint FROM purchases "
            f"WHERE {keys}",
            params.values,
            db,
        ):
            stored[(row["store_id"], row["receipt_id"])] = row
    to_compare = {
        stored[(r.store.id, r.receipt_id)]["id"]: r
        for r in receipts
        if (r.store.id, r.receipt_id) in stored
        and stored[(r.store.id, r.receipt_id)]["fingerprint"] != _fingerprint(r)
    }
    if not to_compare:
        return set()
    params = Params(dialect)
    lines: dict[int, list[tuple]] = {purchase_id: [] for purchase_id in to_compare}
    for row in await fetch(
        "SELECT l.purchase_id, p.sku, l.quantity, l.unit_price, l.discount, l.line_total "
        "FROM purchase_lines l JOIN products p ON p.id = l.product_id "
        f"WHERE l.purchase_id IN {params.many(list(to_compare))}",
        params.values,
        db,
    ):
        lines[row["purchase_id"]].append(
            (row["sku"], row["quantity"], row["unit_price"], row["discount"], row["line_total"])
        )
    changed: set[tuple[int, str]] = set()
    for purchase_id, receipt in to_compare.items():
        key = (receipt.store.id, receipt.receipt_id)
        at = stored[key]["purchased_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        imported = _content(
            (x.sku, x.quantity, x.unit_price, x.discount, x.line_total) for x in receipt.lines
        )
        if at != receipt.purchased_at or _content(lines[purchase_id]) != imported:
            changed.add(key)
    return changed


def _figures(receipt: Receipt, customer_id: int, catalogue: _Catalogue) -> NewReceipt:
    return NewReceipt(
        customer_id,
        receipt.purchased_at,
        sum((line.line_total for line in receipt.lines), ZERO),
        [
            LineFigures(
                catalogue.categories.get(line.category) if line.category else None,
                line.line_total,
                line.quantity,
            )
            for line in receipt.lines
        ],
    )


PURCHASE_COLUMNS = (
    "store_id",
    "till",
    "receipt_id",
    "purchased_at",
    "customer_id",
    "card_id",
    "currency",
    "total",
    "discount_total",
    "refunded_total",
    "payments",
    "status",
    "fingerprint",
    "created_at",
)
LINE_COLUMNS = (
    "purchase_id",
    "line_no",
    "product_id",
    "category_id",
    "quantity",
    "unit_price",
    "discount",
    "line_total",
    "refunded_quantity",
    "customer_id",
    "purchased_at",
)


async def _insert_purchases(rows: list[tuple], db: BaseDBAsyncClient) -> dict[tuple[int, str], int]:
    """Insert the receipts that are not there yet; ids of the ones this call inserted."""
    inserted: dict[tuple[int, str], int] = {}
    placeholders = ", ".join(f"?{i + 1}" for i in range(len(PURCHASE_COLUMNS)))
    sql = (
        f"INSERT INTO purchases ({', '.join(PURCHASE_COLUMNS)}) VALUES ({placeholders}) "
        "ON CONFLICT (store_id, receipt_id) DO NOTHING RETURNING id"
    )
    for row in rows:
        values = [str(v) if isinstance(v, Decimal) else v for v in row]
        result = await fetch(sql, values, db)
        if result:
            inserted[(row[0], row[2])] = result[0]["id"]
    return inserted


async def _insert_lines(rows: list[tuple], db: BaseDBAsyncClient) -> None:
    if not rows:
        return
    placeholders = ", ".join("?" for _ in LINE_COLUMNS)
    connection = db._connection  # type: ignore[attr-defined]  # aiosqlite, in the transaction
    await connection.executemany(
        f"INSERT INTO purchase_lines ({', '.join(LINE_COLUMNS)}) VALUES ({placeholders})",
        [[str(v) if isinstance(v, Decimal) else v for v in row] for row in rows],
    )


async def import_purchases(
    rows: Iterable[tuple[int, dict[str, str]]],
    now: datetime,
) -> ImportReport:
    """Import receipt lines; see the module's docstring for the rules."""
    report = ImportReport("purchases")
    stores = {s.code: s for s in await Store.all()}
    if dialect_of().postgres:
        await import_staged(rows, stores, now, report)
        report.rejections.sort(key=lambda rejection: rejection.row)
    else:
        await _import_receipts(rows, stores, now, report)
    if report.imported:
        # New history changes what similar customers buy: rank again (set-based, once per
        # import), so recommendations reflect the file without waiting for the night.
        report.products_ranked = await refresh_clusters(now)
    return report


async def _import_receipts(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    now: datetime,
    report: ImportReport,
) -> None:
    """SQLite: receipt by receipt, in batches of `BATCH_RECEIPTS`."""
    catalogue = _Catalogue()
    batch: list[Receipt] = []
    for receipt in receipts_of(rows, stores, report, now):
        if receipt.bad is not None:
            _reject_receipt(receipt, receipt.bad[1], receipt.bad[2], report)
            continue
        batch.append(receipt)
        if len(batch) >= BATCH_RECEIPTS:
            await _write_batch(batch, catalogue, now, report)
            batch = []
    if batch:
        await _write_batch(batch, catalogue, now, report)
