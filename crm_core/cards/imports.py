"""Loading a retailer's existing plastic cards: every row whole or not at all, and idempotent."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from crm_core.cards.models import Card, CardStatus
from crm_core.cards.numbers import normalize_card_input
from crm_core.customers.models import Customer
from crm_core.customers.validation import (
    InvalidName,
    InvalidPhone,
    clean_first_name,
    normalize_phone,
    timezone_for_phone,
)
from crm_core.stores.models import Store

MIN_DIGITS, MAX_DIGITS = 6, 32
COLUMNS = ("card_number", "phone", "name", "store")


class RowProblem(StrEnum):
    BAD_NUMBER = "card number must be 6-32 digits"
    BAD_PHONE = "phone number is not valid"
    BAD_NAME = "name has characters other than letters, spaces, hyphens and apostrophes"
    UNKNOWN_STORE = "unknown store code"
    DUPLICATE_NUMBER = "the same card number appears earlier in the file"
    DUPLICATE_PHONE = "the same phone appears earlier in the file with another card"
    NUMBER_TAKEN = "this card number belongs to another customer"
    PHONE_HAS_CARD = "this phone already has another card"


@dataclass(frozen=True)
class BadRow:
    line: int
    problem: RowProblem
    detail: str = ""


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    bad: list[BadRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    number: str
    phone: str
    name: str | None
    store: Store | None


def missing_columns(header: Iterable[str]) -> list[str]:
    present = {h.strip().lower() for h in header}
    return [c for c in COLUMNS[:3] if c not in present]


async def import_cards(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    phone_region: str,
    language: str,
    timezone_fallback: str,
    now: datetime,
) -> ImportReport:
    """Import (line number, row) pairs; a bad row is reported and leaves no trace."""
    report = ImportReport()
    stores = {s.code: s for s in await Store.all()}
    seen_numbers: dict[str, int] = {}
    seen_phones: dict[str, str] = {}
    for line, raw in rows:
        row = _parse(line, raw, phone_region, stores, report)
        if row is None:
            continue
        if row.number in seen_numbers:
            report.bad.append(
                BadRow(line, RowProblem.DUPLICATE_NUMBER, f"line {seen_numbers[row.number]}")
            )
            continue
        if seen_phones.get(row.phone, row.number) != row.number:
            report.bad.append(BadRow(line, RowProblem.DUPLICATE_PHONE))
            continue
        seen_numbers[row.number] = line
        seen_phones[row.phone] = row.number
        await _import_row(row, language, timezone_fallback, now, report)
    return report


def _parse(
    line: int,
    raw: Mapping[str, str],
    region: str,
    stores: dict[str, Store],
    report: ImportReport,
) -> _Row | None:
    values = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
    number = normalize_card_input(values.get("card_number", ""))
    if not (number.isdigit() and MIN_DIGITS <= len(number) <= MAX_DIGITS):
        report.bad.append(BadRow(line, RowProblem.BAD_NUMBER))
        return None
    try:
        phone = normalize_phone(values.get("phone", ""), region)
    except InvalidPhone:
        report.bad.append(BadRow(line, RowProblem.BAD_PHONE))
        return None
    name: str | None = None
    if values.get("name"):
        try:
            name = clean_first_name(values["name"])
        except InvalidName:
            report.bad.append(BadRow(line, RowProblem.BAD_NAME))
            return None
    store = None
    if values.get("store"):
        store = stores.get(values["store"])
        if store is None:
            report.bad.append(BadRow(line, RowProblem.UNKNOWN_STORE, values["store"]))
            return None
    return _Row(line, number, phone, name, store)


async def _import_row(
    row: _Row, language: str, timezone_fallback: str, now: datetime, report: ImportReport
) -> None:
    async with in_transaction() as connection:
        existing = (
            await Card.filter(number=row.number)
            .using_db(connection)
            .select_related("customer")
            .first()
        )
        if existing is not None:
            if existing.customer.phone == row.phone:  # type: ignore[union-attr]
                report.unchanged += 1
            else:
                report.bad.append(BadRow(row.line, RowProblem.NUMBER_TAKEN))
            return
        if await Customer.filter(phone=row.phone).using_db(connection).exists():
            report.bad.append(BadRow(row.line, RowProblem.PHONE_HAS_CARD))
            return
        customer = await Customer.create(
            first_name=row.name,
            phone=row.phone,
            language=language,
            timezone=timezone_for_phone(row.phone, timezone_fallback),
            marketing_consent=False,
            created_at=now,
            using_db=connection,
        )
        await Card.create(
            number=row.number,
            customer_id=customer.id,
            status=CardStatus.ACTIVE,
            issued_at=now,
            media_salt=secrets.token_hex(8),
            store_id=row.store.id if row.store else None,
            using_db=connection,
        )
        report.created += 1
