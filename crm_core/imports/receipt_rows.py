"""Reading receipt lines from import rows: grouping into receipts and the checks on values.

Both ways of writing an import (row by row on SQLite, set-based on PostgreSQL) group rows
with `receipt_rows` and judge values by the same rules: numbers match `NUMBER` (the SQL
path checks the same pattern), categories and times are parsed here, and every reason a
row can be refused is one of the constants below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from crm_core.cards.numbers import normalize_card_input
from crm_core.catalogue.service import PATH_SEPARATOR
from crm_core.clock import CLOCK_SKEW_MINUTES, in_future
from crm_core.imports.csvfile import forbidden_cell
from crm_core.imports.report import ImportReport
from crm_core.stores.models import Store

REQUIRED = ("store", "receipt_id", "purchased_at", "sku", "quantity", "unit_price", "line_total")
OPTIONAL = ("card_number", "name", "category", "discount", "till", "line_no")

# A plain decimal number, "," or "." before the decimals: this pattern, at least one digit and
# at most NUMBER_CHARACTERS characters (the SQL path checks the same three rules, so nothing
# the database could not cast is ever cast).
NUMBER = r"^[+-]?[0-9]*[.,]?[0-9]*$"
NUMBER_CHARACTERS = 40
NUMBER_LIMIT = Decimal(10) ** 10
HALF_CENT = Decimal("0.005")
CENT = Decimal("0.01")
MILLI = Decimal("0.001")
ZERO = Decimal(0)
_NUMBER = re.compile(NUMBER)

UNKNOWN_STORE = "unknown store code"
BAD_RECEIPT_ID = "required, at most 64 characters"
NOT_TOGETHER = "lines of this receipt are not together in the file"
NOT_A_TIME = "not a date and time (ISO 8601)"
IN_FUTURE = f"in the future: more than {CLOCK_SKEW_MINUTES} minutes ahead of the server's clock"
CARD_DIFFERS = "differs from the card number on this receipt's first line"
CHANGED = "already imported with other lines or another time; not changed"
BAD_SKU = "required, at most 64 characters"
NOT_A_NUMBER = "not a number"
NOT_POSITIVE = "must be more than 0"
NEGATIVE = "must not be negative"
TOTAL_MISMATCH = "is not quantity x unit_price - discount"
BAD_CATEGORY = "a category path like Dairy/Milk (at most 4 levels)"
NO_CARD = "no card with this number"
OTHER_LINE = "another line of this receipt was rejected"


class Bad(Exception):
    """A value that cannot be imported: which column, and why."""

    def __init__(self, column: str, reason: str) -> None:
        self.column, self.reason = column, reason


def number(raw: str, column: str) -> Decimal:
    if len(raw) > NUMBER_CHARACTERS or not _NUMBER.fullmatch(raw) or not raw.strip("+-.,"):
        raise Bad(column, NOT_A_NUMBER)
    value = Decimal(raw.replace(",", "."))
    if abs(value) >= NUMBER_LIMIT:
        raise Bad(column, NOT_A_NUMBER)
    return value


def rounded(value: Decimal, step: Decimal) -> Decimal:
    """Half away from zero, as PostgreSQL's round() does."""
    return value.quantize(step, ROUND_HALF_UP)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def timestamp(raw: str, store: Store, now: datetime) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Bad("purchased_at", NOT_A_TIME) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(store.timezone))  # the till's local time
    if in_future(value, now):
        raise Bad("purchased_at", IN_FUTURE)
    return value.astimezone(UTC)


def card_of(values: dict[str, str]) -> str | None:
    """The row's card number as the till would read it (spaces, dashes dropped)."""
    card = values.get("card_number") or None
    return normalize_card_input(card) or card if card is not None else None


@lru_cache(maxsize=4096)
def category_path(raw: str) -> str | None:
    """'Dairy > Milk' -> 'Dairy/Milk'; None for no category; Bad for a malformed path."""
    if not raw:
        return None
    parts = [p.strip() for p in raw.replace(">", PATH_SEPARATOR).split(PATH_SEPARATOR)]
    if any(not p for p in parts) or len(parts) > 4 or any(len(p) > 60 for p in parts):
        raise Bad("category", BAD_CATEGORY)
    return PATH_SEPARATOR.join(parts)


@dataclass(slots=True)
class ReceiptHead:
    """What a receipt's first row says about the whole receipt."""

    seq: int  # receipts in file order
    store: Store
    receipt_id: str
    till: str
    purchased_at: datetime | None
    card_number: str | None
    first_row: int
    bad: tuple[int, str, str] | None  # (row, column, reason): not together, or a bad time


def receipt_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    report: ImportReport,
    now: datetime,
) -> Iterator[tuple[ReceiptHead, int, dict[str, str]]]:
    """Each row that belongs to a receipt, with its receipt's head (the same object for all
    rows of a receipt). Rows without a known store or a usable receipt id are refused here,
    and so is every row of a receipt with a control character in any of its rows (such text
    never reaches the database: a receipt is held back until its last row is read) or with
    a card number other than its first row's (one receipt is one customer's)."""
    pending: list[tuple[ReceiptHead, int, dict[str, str]]] = []
    refused: tuple[int, str, str] | None = None
    first_card = ""  # as typed on the receipt's first row: most rows repeat it exactly
    for head, row, values in _grouped(rows, stores, report, now):
        if pending and pending[0][0] is not head:
            yield from _released(pending, refused, report)
            pending, refused = [], None
        if not pending:
            first_card = values.get("card_number", "")
        pending.append((head, row, values))
        if refused is None and (bad := forbidden_cell(values)) is not None:
            refused = (row, *bad)
        card = values.get("card_number", "")
        if refused is None and card != first_card and card_of(values) != head.card_number:
            refused = (row, "card_number", CARD_DIFFERS)
    yield from _released(pending, refused, report)


def _released(
    pending: list[tuple[ReceiptHead, int, dict[str, str]]],
    refused: tuple[int, str, str] | None,
    report: ImportReport,
) -> Iterator[tuple[ReceiptHead, int, dict[str, str]]]:
    if refused is None:
        yield from pending
        return
    for _, row, _ in pending:
        if row == refused[0]:
            report.reject(row, refused[1], refused[2])
        else:
            report.reject(row, "receipt_id", OTHER_LINE)


def _grouped(
    rows: Iterable[tuple[int, dict[str, str]]],
    stores: dict[str, Store],
    report: ImportReport,
    now: datetime,
) -> Iterator[tuple[ReceiptHead, int, dict[str, str]]]:
    head: ReceiptHead | None = None
    finished: set[tuple[int, str]] = set()
    seq = 0
    for row, values in rows:
        report.rows += 1
        store = stores.get(values["store"])
        receipt_id = values["receipt_id"]
        key = (store.id if store else -1, receipt_id)
        if head is not None and (head.store.id, head.receipt_id) != key:
            finished.add((head.store.id, head.receipt_id))
            head = None
        if store is None:
            report.reject(row, "store", UNKNOWN_STORE)
            continue
        if not receipt_id or len(receipt_id) > 64:
            report.reject(row, "receipt_id", BAD_RECEIPT_ID)
            continue
        if head is None:
            seq += 1
            bad = None
            if key in finished:
                bad = (row, "receipt_id", NOT_TOGETHER)
            try:
                at: datetime | None = timestamp(values["purchased_at"], store, now)
            except Bad as problem:
                at, bad = None, bad or (row, problem.column, problem.reason)
            card = card_of(values)
            till = (values.get("till") or "import")[:32]
            head = ReceiptHead(seq, store, receipt_id, till, at, card, row, bad)
        yield head, row, values
