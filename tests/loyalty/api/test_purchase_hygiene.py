"""Receipts that cannot be true are refused with the reason, at the till and in imports: times
in the future, a receipt id already stored with other lines, one receipt with two cards."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from crm_core.clock import utcnow
from crm_core.purchases.models import Purchase
from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t
from tests.support.till import line, open_till, receipt

HEADER = "store,receipt_id,purchased_at,card_number,sku,quantity,unit_price,line_total\n"


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def imported(stack, marketer, csv: str) -> dict:
    answer = await stack.client.post(
        "/api/v1/imports/purchases",
        content=csv.encode(),
        headers={**marketer, "Accept-Language": "en"},  # the reasons as crm_core words them
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def reasons(report: dict) -> dict[int, tuple[str, str]]:
    return {r["row"]: (r["column"], r["reason"]) for r in report["rejections"]}


async def test_the_till_refuses_a_receipt_dated_in_the_future(stack):
    till = await open_till(stack)
    at = (utcnow() + timedelta(days=200)).replace(microsecond=0)
    body = receipt([line("MILK-1L", "42.50")], purchased_at=at.isoformat())
    answer = await till.post("/api/v1/pos/purchases", body, headers={"Accept-Language": "en"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "purchased_in_future"
    assert answer.json()["detail"] == t(
        "en",
        "The purchase time {purchased_at} is in the future: more than {minutes} minutes "
        "ahead of our clock. Check the till's date and time.",
        purchased_at=at.isoformat(),
        minutes=10,
    )
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_the_till_accepts_a_clock_a_few_minutes_fast(stack):
    till = await open_till(stack)
    at = utcnow() + timedelta(minutes=3)
    answer = await till.post(
        "/api/v1/pos/purchases", receipt([line("MILK-1L", "42.50")], purchased_at=at.isoformat())
    )
    assert answer.status_code == 201, answer.text


async def test_an_import_refuses_receipts_dated_in_the_future(stack, marketer):
    store = await new_store()
    soon = (utcnow() + timedelta(minutes=3)).isoformat()
    later = (utcnow() + timedelta(days=200)).isoformat()
    report = await imported(
        stack,
        marketer,
        HEADER
        + f"{store.code},F-1,{later},,A,1,1.00,1.00\n"
        + f"{store.code},F-1,{later},,B,1,2.00,2.00\n"
        + f"{store.code},F-2,{soon},,A,1,1.00,1.00\n",
    )
    assert (report["imported"], report["rejected_rows"]) == (1, 2)
    assert reasons(report)[2] == (
        "purchased_at",
        "in the future: more than 10 minutes ahead of the server's clock",
    )
    assert reasons(report)[3][0] == "receipt_id"


async def test_an_import_reports_a_changed_receipt_as_rejected(stack, marketer):
    store = await new_store()
    at = "2026-01-05T10:00:00+02:00"
    first = HEADER + f"{store.code},R-1,{at},,A,1,1.00,1.00\n{store.code},R-2,{at},,A,1,1.00,1.00\n"
    assert (await imported(stack, marketer, first))["imported"] == 2

    again = await imported(stack, marketer, first)
    assert (again["imported"], again["unchanged"], again["rejected_rows"]) == (0, 2, 0)

    changed = (
        HEADER
        + f"{store.code},R-1,{at},,A,2,1.00,2.00\n"  # another quantity
        + f"{store.code},R-2,{at},,A,1,1.00,1.00\n"  # the same
        + f"{store.code},R-2,{at},,B,1,3.00,3.00\n"  # a line more
    )
    report = await imported(stack, marketer, changed)
    assert (report["imported"], report["unchanged"], report["rejected_rows"]) == (0, 0, 3)
    stored = "already imported with other lines or another time; not changed"
    assert reasons(report) == {
        2: ("receipt_id", stored),
        3: ("receipt_id", stored),
        4: ("receipt_id", "another line of this receipt was rejected"),
    }


async def test_an_import_matches_a_receipt_the_till_recorded(stack, marketer):
    """The retailer's history export overlaps what the till sent: the same receipt is
    unchanged, not a conflict."""
    till = await open_till(stack)
    body = receipt([line("MILK-1L", "42.50"), line("BREAD", "12.00", "2")])
    assert (await till.post("/api/v1/pos/purchases", body)).status_code == 201
    rows = (
        HEADER
        + f"{till.store.code},{body['receipt_id']},{body['purchased_at']},,MILK-1L,1,42.50,42.50\n"
        + f"{till.store.code},{body['receipt_id']},{body['purchased_at']},,BREAD,2,12.00,24.00\n"
    )
    report = await imported(stack, marketer, rows)
    assert (report["imported"], report["unchanged"], report["rejected_rows"]) == (0, 1, 0)


async def test_lines_of_one_receipt_with_different_cards_are_rejected(stack, marketer):
    store = await new_store()
    _, first = await new_customer("Ira")
    _, second = await new_customer("Oles")
    at = "2026-01-05T10:00:00+02:00"
    receipt_id = f"C-{secrets.token_hex(3)}"
    report = await imported(
        stack,
        marketer,
        HEADER
        + f"{store.code},{receipt_id},{at},{first.number},A,1,1.00,1.00\n"
        + f"{store.code},{receipt_id},{at},{second.number},B,1,2.00,2.00\n"
        # The same card typed another way is the same card.
        + f"{store.code},{receipt_id}-S,{at},{first.number},A,1,1.00,1.00\n"
        + f"{store.code},{receipt_id}-S,{at},{spaced(first.number)},B,1,2.00,2.00\n",
    )
    assert (report["imported"], report["rejected_rows"]) == (1, 2)
    assert reasons(report) == {
        2: ("receipt_id", "another line of this receipt was rejected"),
        3: ("card_number", "differs from the card number on this receipt's first line"),
    }
    assert not await Purchase.filter(store_id=store.id, receipt_id=receipt_id).exists()
