"""The marketer's customer list: filters, sorting and cursor pagination, and one profile.

Filters are segment conditions (the same validated, compiled rules), so a list filtered in
the API and a segment built from the same conditions always agree.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from crm_core.segments.compiler import Compiler, simplify
from crm_core.segments.rules import validate_rule
from crm_core.segments.service import load_catalogue
from crm_core.sql import Params, dialect_of, fetch

MAX_PAGE = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SortKey(StrEnum):
    ID = "id"
    REGISTERED_AT = "registered_at"
    TOTAL_SPENT = "total_spent"
    RECEIPTS = "receipts"
    LAST_PURCHASE_AT = "last_purchase_at"


_SORT_SQL = {
    SortKey.ID: "c.id",
    SortKey.REGISTERED_AT: "c.created_at",
    SortKey.TOTAL_SPENT: "COALESCE(m.spent_minor, 0)",
    SortKey.RECEIPTS: "COALESCE(m.receipts, 0)",
    SortKey.LAST_PURCHASE_AT: "COALESCE(m.last_purchase_at, {epoch})",
}


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(key: SortKey, descending: bool, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([key.value, descending, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: SortKey, descending: bool) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stored_key, stored_desc, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        raise BadCursor(cursor) from None
    if stored_key != key.value or stored_desc != descending or not isinstance(last_id, int):
        raise BadCursor(cursor)
    if key in (SortKey.REGISTERED_AT, SortKey.LAST_PURCHASE_AT):
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise BadCursor(cursor) from None
    elif not isinstance(value, int):
        raise BadCursor(cursor)
    return value, last_id


async def list_customers(
    conditions: list[dict[str, Any]],
    now: datetime,
    sort: SortKey = SortKey.ID,
    descending: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    name_prefix: str | None = None,
) -> Page:
    """One page of live customers matching every condition (segment rule nodes)."""
    dialect = dialect_of()
    params = Params(dialect)
    where = ["c.erased_at IS NULL"]
    if conditions:
        rule = validate_rule({"all": conditions}, await load_catalogue())
        where.append(Compiler(dialect, params, now).condition(simplify(rule.root)))
    if name_prefix:
        escaped = name_prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"LOWER(c.first_name) LIKE {params(escaped + '%')} ESCAPE '\\'")
    order = _SORT_SQL[sort]
    if "{epoch}" in order:
        order = order.format(epoch=params(EPOCH))
    if cursor:
        value, last_id = decode_cursor(cursor, sort, descending)
        beyond = "<" if descending else ">"
        where.append(
            f"({order} {beyond} {params(value)} OR ({order} = {params(value)} "
            f"AND c.id {beyond} {params(last_id)}))"
        )
    direction = "DESC" if descending else "ASC"
    size = max(1, min(limit, MAX_PAGE))
    rows = await fetch(
        "SELECT c.id, c.first_name, c.city, c.gender, c.birth_date, c.language, c.timezone, "
        "c.created_at, c.marketing_consent, COALESCE(m.stage, 'registered') AS stage, "
        "m.rfm_segment, COALESCE(m.receipts, 0) AS receipts, "
        "COALESCE(m.spent_minor, 0) AS spent_minor, m.last_purchase_at, "
        f"{order} AS sort_value, "
        "(SELECT k.number FROM cards k WHERE k.customer_id = c.id AND k.status = 'active' "
        "ORDER BY k.id DESC LIMIT 1) AS card_number "
        "FROM customers c LEFT JOIN customer_metrics m ON m.customer_id = c.id "
        f"WHERE {' AND '.join(where)} ORDER BY {order} {direction}, c.id {direction} "
        f"LIMIT {size + 1}",
        params.values,
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more:
        last = rows[-1]
        value = last["sort_value"]
        if sort in (SortKey.REGISTERED_AT, SortKey.LAST_PURCHASE_AT) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        next_cursor = encode_cursor(sort, descending, value, last["id"])
    return Page([{k: v for k, v in row.items() if k != "sort_value"} for row in rows], next_cursor)
