"""Control characters, NUL bytes, extreme dates and numbers and absurdly deep JSON are refused
with a 4xx that says why, at every door: paths, query strings, bodies, rules, imports, the
bot. (PostgreSQL refuses a NUL outright, so these run there too.)"""

from __future__ import annotations

import json
import random

import pytest

from crm_core.customers.models import Customer
from crm_core.staff.models import Role
from tests.conftest import TELEGRAM_SECRET
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key, new_store


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def cashier(stack):
    return bearer(await new_key(Role.CASHIER, await new_store()))


def refused_for(answer, location: str, path: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid_request"
    assert body["fields"][0]["location"] == location
    assert body["fields"][0]["path"] == path
    assert body["fields"][0]["code"] == "control_character"
    assert "U+0000" in body["detail"] or "U+0007" in body["detail"]


async def test_a_nul_in_a_profile_edit_is_refused_and_nothing_changes(stack, marketer):
    customer, _ = await new_customer("Ivan", city="Lviv")
    answer = await stack.client.patch(
        f"/api/v1/customers/{customer.id}", json={"city": "Lv\u0000iv"}, headers=marketer
    )
    refused_for(answer, "body", "city")
    await customer.refresh_from_db()
    assert customer.city == "Lviv"


async def test_a_bell_and_escape_in_a_first_name_are_refused(stack, marketer):
    customer, _ = await new_customer("Ivan")
    answer = await stack.client.patch(
        f"/api/v1/customers/{customer.id}",
        json={"first_name": "Ivan\u0007\u001b"},
        headers=marketer,
    )
    refused_for(answer, "body", "first_name")
    assert (await Customer.get(id=customer.id)).first_name == "Ivan"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers?name=Iv%00an",
        "/api/v1/customers?city=Lv%00iv",
        "/api/v1/sensitive-categories?path=Baby%00",
    ],
)
async def test_a_nul_in_a_query_parameter(stack, marketer, url):
    answer = await stack.client.request(
        "DELETE" if "sensitive" in url else "GET", url, headers=marketer
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["fields"][0]["location"] == "query"
    assert body["fields"][0]["code"] == "control_character"


async def test_a_nul_in_a_path_parameter(stack, cashier):
    answer = await stack.client.get("/api/v1/pos/cards/2710%0000", headers=cashier)
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["location"] == "path"


@pytest.mark.parametrize(
    ("url", "body", "path"),
    [
        ("/api/v1/segments/preview",
         {"rule": {"type": "profile", "field": "city", "op": "eq", "value": "a\u0000"}},
         "rule.value"),
        ("/api/v1/segments", {"name": "N\u0000", "rule": {"type": "consent"}}, "name"),
        ("/api/v1/custom-fields", {"key": "k", "label": "L\u0000", "kind": "text"}, "label"),
    ],
)  # fmt: skip
async def test_a_nul_in_a_marketer_body(stack, marketer, url, body, path):
    refused_for(await stack.client.post(url, json=body, headers=marketer), "body", path)


async def test_a_nul_in_a_receipt(stack, cashier):
    receipt = {
        "receipt_id": "NUL\u0000-1",
        "purchased_at": "2026-11-22T10:15:00+02:00",
        "lines": [{"sku": "A", "name": "Mi\u0000lk", "quantity": "1", "unit_price": "1.00",
                   "line_total": "1.00"}],
        "total": "1.00",
        "payments": [{"method": "cash", "amount": "1.00"}],
    }  # fmt: skip
    answer = await stack.client.post("/api/v1/pos/purchases", json=receipt, headers=cashier)
    refused_for(answer, "body", "receipt_id")


async def test_a_nul_inside_a_rule_given_as_a_query_parameter(stack, marketer):
    rule = json.dumps({"type": "profile", "field": "city", "op": "eq", "value": "a\u0000"})
    answer = await stack.client.get("/api/v1/customers", params={"rule": rule}, headers=marketer)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["problem"] == "control_character"
    assert body["path"] == "rule.value"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("purchased_at", "0001-01-01T00:00:00+02:00"),
        ("purchased_at", "9999-12-31T23:59:59-12:00"),
    ],
)
async def test_extreme_receipt_times(stack, cashier, field, value):
    receipt = {
        "receipt_id": "EXTREME-1",
        field: value,
        "lines": [{"sku": "A", "name": "Milk", "quantity": "1", "unit_price": "1.00",
                   "line_total": "1.00"}],
        "total": "1.00",
        "payments": [{"method": "cash", "amount": "1.00"}],
    }  # fmt: skip
    answer = await stack.client.post("/api/v1/pos/purchases", json=receipt, headers=cashier)
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["code"] == "moment_out_of_range"


async def test_a_voucher_valid_until_the_end_of_time(stack, marketer):
    answer = await stack.client.post(
        "/api/v1/vouchers",
        json={"kind": "fixed_amount", "value": "10.00", "title": "Forever", "currency": "UAH",
              "valid_from": "2026-01-01T00:00:00+02:00",
              "valid_until": "9999-12-31T23:59:59+02:00"},
        headers=marketer,
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["path"] == "valid_until"


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"type": "profile", "field": "age", "op": "gt", "value": 1000000}, "value"),
        ({"type": "profile", "field": "days_since_registration", "op": "gt",
          "value": 1000000000}, "value"),
        ({"type": "metric", "metric": "receipts", "op": "gt", "value": 10**30}, "value"),
        ({"type": "metric", "metric": "days_since_last_purchase", "op": "lt",
          "value": "1e30"}, "value"),
        ({"type": "profile", "field": "birth_date", "op": "lte", "value": "9999-12-31"}, "value"),
        ({"type": "profile", "field": "registered_at", "op": "gt", "value": "9999-12-31"},
         "value"),
        ({"type": "profile", "field": "birth_date", "op": "gt", "value": "0001-01-01"}, "value"),
    ],
)  # fmt: skip
async def test_extreme_numbers_and_dates_in_rules(stack, marketer, rule, path):
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=marketer
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["path"] == path
    assert body["problem"] == "bad_value"


async def test_a_webhook_body_nested_a_hundred_thousand_levels(stack):
    body = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = await stack.client.post(
        "/webhooks/telegram",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                 "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "bad_request"


async def test_a_marketer_body_nested_a_hundred_thousand_levels(stack, marketer):
    body = b'{"rule": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = await stack.client.post(
        "/api/v1/segments/preview",
        content=body,
        headers={**marketer, "Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"]


async def test_an_import_row_with_a_control_character_is_reported(stack, marketer):
    csv = "phone,first_name,city\n+380671110001,Ivan,Lviv\u0007\n+380671110002,Olha,Lviv\n"
    answer = await stack.client.post(
        "/api/v1/imports/customers", content=csv.encode(), headers=marketer
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["rejected_rows"] == 1
    assert report["rejections"][0]["row"] == 2
    assert report["rejections"][0]["column"] == "city"
    assert "U+0007" in report["rejections"][0]["reason"]


async def test_a_receipt_with_a_control_character_in_one_line_is_refused_whole(stack, marketer):
    store = await new_store()
    csv = (
        "store,receipt_id,purchased_at,sku,quantity,unit_price,line_total,name\n"
        f"{store.code},CC-1,2026-01-05T10:00:00+02:00,A,1,1.00,1.00,Milk\n"
        f"{store.code},CC-1,2026-01-05T10:00:00+02:00,B,1,2.00,2.00,Br\u0000ead\n"
    )
    answer = await stack.client.post(
        "/api/v1/imports/purchases", content=csv.encode(), headers=marketer
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] == 0
    assert report["rejected_rows"] == 2
    reasons = {r["row"]: (r["column"], r["reason"]) for r in report["rejections"]}
    assert reasons[3][0] == "name" and "U+0000" in reasons[3][1]
    assert reasons[2][0] == "receipt_id"


async def test_the_bot_answers_a_message_with_control_characters_politely(stack):
    from tests.support.telegram_chat import TelegramChat
    from tests.support.texts import t

    chat = TelegramChat(stack, random.randint(10**9, 2 * 10**9), "en")
    await chat.text("/start")
    replies = await chat.text("Ivan\u0000")
    assert t("en", "Sorry, this message contains invisible control characters that I "
             "cannot read. Please type it again.") in replies[0].text  # fmt: skip
    assert any(t("en", "What is your first name?") in r.text for r in replies)


async def test_a_campaign_at_the_end_of_time(stack, marketer):
    segment = await stack.client.post(
        "/api/v1/segments",
        json={"name": f"end of time {id(stack)}-{random.random()}", "rule": {"type": "consent"}},
        headers=marketer,
    )
    answer = await stack.client.post(
        "/api/v1/campaigns",
        json={"name": "Never", "segment_id": segment.json()["id"],
              "messages": {"uk": {"text": "Привіт"}}, "default_language": "uk",
              "schedule": {"kind": "once", "at": "9999-12-31T23:59:59-12:00"}},
        headers=marketer,
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"] == "schedule.at"
