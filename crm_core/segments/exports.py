"""Export a segment's members, with chosen columns, as CSV, XLSX, XML or JSON.

Rows are read in keyset-paginated batches and written out as they come, so a million
members never sit in memory: CSV, JSON and XML stream chunk by chunk; XLSX is written by
openpyxl's write-only workbook into a temporary file, which is then streamed.

Whatever is stored comes out safely: a control character kept from an old row is written as
U+FFFD (XML and XLSX cannot hold one at all), a CSV text cell that a spreadsheet would run
as a formula gets a leading apostrophe, and XLSX text cells are typed as text (no formula,
no apostrophe needed). XLSX has no time zones: its time columns say "(UTC)" in the header.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from crm_core.sql import Dialect, Params, dialect_of, fetch
from crm_core.text import readable

BATCH = 5000


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    XML = "xml"
    JSON = "json"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.XML: "application/xml; charset=utf-8",
    ExportFormat.JSON: "application/json",
}


def _columns(dialect: Dialect) -> dict[str, str]:
    """Column name -> SQL expression. Only these names can be asked for."""
    channels = (
        "(SELECT string_agg(i.channel, ',' ORDER BY i.channel) FROM channel_identities i "
        "WHERE i.customer_id = c.id)"
        if dialect.postgres
        else "(SELECT group_concat(i.channel, ',') FROM (SELECT channel FROM channel_identities "
        "WHERE customer_id = c.id ORDER BY channel) i)"
    )
    return {
        "customer_id": "c.id",
        "first_name": "c.first_name",
        "phone": "c.phone",
        "card_number": "(SELECT k.number FROM cards k WHERE k.customer_id = c.id "
        "AND k.status = 'active' ORDER BY k.id DESC LIMIT 1)",
        "city": "c.city",
        "gender": "c.gender",
        "birth_date": "c.birth_date",
        "language": "c.language",
        "timezone": "c.timezone",
        "registered_at": "c.created_at",
        "marketing_consent": "c.marketing_consent",
        "channels": channels,
        "stage": "COALESCE(m.stage, 'registered')",
        "rfm_segment": "m.rfm_segment",
        "rfm_r": "m.rfm_r",
        "rfm_f": "m.rfm_f",
        "rfm_m": "m.rfm_m",
        "receipts": "COALESCE(m.receipts, 0)",
        "total_spent_minor": "COALESCE(m.spent_minor, 0)",
        "first_purchase_at": "m.first_purchase_at",
        "last_purchase_at": "m.last_purchase_at",
        "favourite_category": "(SELECT fc.path FROM categories fc "
        "WHERE fc.id = m.favourite_category_id)",
        "entered_at": "sm.entered_at",
    }


COLUMNS = tuple(_columns(Dialect("sqlite")))
DEFAULT_COLUMNS = (
    "customer_id",
    "first_name",
    "card_number",
    "city",
    "language",
    "stage",
    "rfm_segment",
    "receipts",
    "total_spent",
    "last_purchase_at",
    "entered_at",
)
# Money is shown in currency units, computed from the stored cents.
DERIVED = {"total_spent": "total_spent_minor", "avg_basket": "total_spent_minor"}
ALL_COLUMNS = (*COLUMNS, *DERIVED)


class UnknownColumn(ValueError):
    pass


def check_columns(names: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(names) if names else DEFAULT_COLUMNS
    for name in chosen:
        if name not in ALL_COLUMNS:
            raise UnknownColumn(name)
    return chosen


async def member_rows(
    segment_id: int, columns: Sequence[str], batch: int = BATCH, after: int = 0
) -> AsyncIterator[list[dict[str, Any]]]:
    """The segment's live members, in batches, ordered by customer id (from `after` on)."""
    dialect = dialect_of()
    expressions = _columns(dialect)
    needed = {DERIVED.get(name, name) for name in columns} | {"customer_id", "receipts"}
    select = ", ".join(f"{expressions[name]} AS {name}" for name in sorted(needed))
    while True:
        params = Params(dialect)
        rows = await fetch(
            f"SELECT {select} FROM segment_members sm JOIN customers c ON c.id = sm.customer_id "
            "LEFT JOIN customer_metrics m ON m.customer_id = c.id "
            f"WHERE sm.segment_id = {params(segment_id)} AND c.erased_at IS NULL "
            f"AND c.id > {params(after)} ORDER BY c.id LIMIT {int(batch)}",
            params.values,
        )
        if not rows:
            return
        yield [_shape(row, columns) for row in rows]
        after = rows[-1]["customer_id"]
        if len(rows) < batch:
            return


TIMESTAMPS = {"registered_at", "first_purchase_at", "last_purchase_at", "entered_at"}


def _shape(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """Typed values whatever the database (SQLite hands timestamps and dates back as text)."""
    shaped: dict[str, Any] = {}
    for name in columns:
        value = row.get(name)
        if name in TIMESTAMPS and isinstance(value, str):
            shaped[name] = datetime.fromisoformat(value)
            continue
        if name == "birth_date" and isinstance(value, str):
            shaped[name] = date.fromisoformat(value)
            continue
        if name == "total_spent":
            shaped[name] = Decimal(row["total_spent_minor"] or 0) / 100
        elif name == "avg_basket":
            receipts = row["receipts"] or 0
            spent = Decimal(row["total_spent_minor"] or 0)
            shaped[name] = (spent / receipts / 100).quantize(Decimal("0.01")) if receipts else None
        elif name == "marketing_consent":
            shaped[name] = bool(row[name])
        elif isinstance(row[name], str):
            shaped[name] = readable(row[name])
        else:
            shaped[name] = row[name]
    return shaped


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell; text that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's advice). That includes "+380..." phone numbers, which a spreadsheet
    would otherwise turn into a number without its "+"."""
    text = _text(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


async def export(
    segment_id: int, columns: Sequence[str], fmt: ExportFormat
) -> AsyncIterator[bytes]:
    rows = member_rows(segment_id, columns)
    if fmt is ExportFormat.CSV:
        async for chunk in _csv(rows, columns):
            yield chunk
    elif fmt is ExportFormat.JSON:
        async for chunk in _json(rows):
            yield chunk
    elif fmt is ExportFormat.XML:
        async for chunk in _xml(rows, columns):
            yield chunk
    else:
        async for chunk in _xlsx(rows, columns):
            yield chunk


async def _csv(rows: AsyncIterator[list[dict]], columns: Sequence[str]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark so that spreadsheet programs read UTF-8 names correctly.
    yield "\ufeff".encode()
    writer.writerow(columns)
    async for batch in rows:
        for row in batch:
            writer.writerow([csv_cell(row[name]) for name in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode()


async def _json(rows: AsyncIterator[list[dict]]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for batch in rows:
        parts = []
        for row in batch:
            text = json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False)
            parts.append(text if first else "," + text)
            first = False
        yield "".join(parts).encode()
    yield b"]"


async def _xml(rows: AsyncIterator[list[dict]], columns: Sequence[str]) -> AsyncIterator[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<customers>\n'
    async for batch in rows:
        parts = []
        for row in batch:
            fields = "".join(
                f"<{name}>{escape(_text(row[name]))}</{name}>"
                if row[name] is not None
                else f"<{name}/>"
                for name in columns
            )
            parts.append(f"<customer>{fields}</customer>\n")
        yield "".join(parts).encode()
    yield b"</customers>\n"


async def _xlsx(rows: AsyncIterator[list[dict]], columns: Sequence[str]) -> AsyncIterator[bytes]:
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("members")
    sheet.append([f"{name} (UTC)" if name in TIMESTAMPS else name for name in columns])
    async for batch in rows:
        for row in batch:
            cells = []
            for name in columns:
                raw = row[name]
                value = _cell(raw)
                if isinstance(value, str):
                    value = WriteOnlyCell(sheet, value=value)
                    value.data_type = "s"  # text, even when it starts with "="
                elif isinstance(raw, Decimal | datetime | date):
                    # Formats, not text: each reader's Excel writes them as their language
                    # does ("1 234,50", "08.12.2026 10:15"), and they still sum and sort.
                    value = WriteOnlyCell(sheet, value=value)
                    value.number_format = XLSX_FORMATS[type(raw)]
                cells.append(value)
            sheet.append(cells)
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(1 << 16):
            yield chunk


XLSX_FORMATS = {Decimal: "#,##0.00", datetime: "yyyy-mm-dd hh:mm", date: "yyyy-mm-dd"}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones; stored values are UTC
    if isinstance(value, Decimal):
        return float(value)  # a number Excel can sum; the exact value is in CSV/JSON/XML
    return value
