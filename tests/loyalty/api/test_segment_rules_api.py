"""Segment rules over HTTP: only the documented condition types and keys are taken, a
refusal names the path and says what is allowed there, and the birthday condition keeps the
bot's birthday promise in each customer's own time zone."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_core.segments.service import preview
from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def refused(stack, marketer, rule: dict, language: str = "en") -> dict:
    for url in ("/api/v1/segments/preview", "/api/v1/segments"):
        body = {"rule": rule, "name": f"n-{secrets.token_hex(4)}"}
        answer = await stack.client.post(
            url, json=body, headers={**marketer, "Accept-Language": language}
        )
        assert answer.status_code == 422, answer.text
    return answer.json()


@pytest.mark.parametrize("kind", ["store", "required", "within", "only", "names", "comparison"])
async def test_an_internal_helper_name_is_not_a_condition_type(stack, marketer, kind):
    body = await refused(stack, marketer, {"type": kind})
    assert body["path"] == "type"
    assert body["problem"] == "unknown_node"
    assert "purchased" in body["allowed"] and "birthday" in body["allowed"]


@pytest.mark.parametrize(
    ("rule", "path", "key"),
    [
        ({"type": "purchased", "category": "Baby", "within_day": 60}, "within_day", "within_days"),
        ({"type": "metric", "metric": "receipts", "operator": "gt", "value": 1}, "operator", "op"),
        ({"all": [{"type": "consent", "granted": True, "channel": "viber"}]},
         "all[0].channel", "granted"),
        ({"all": [{"type": "consent"}], "any": [{"type": "consent"}]}, "any", "all"),
    ],
)  # fmt: skip
async def test_an_unknown_key_is_refused_naming_its_path(stack, marketer, rule, path, key):
    body = await refused(stack, marketer, rule)
    assert body["problem"] == "unknown_key"
    assert body["path"] == path
    assert key in body["allowed"]
    assert path.rsplit(".", 1)[-1] in body["detail"]


async def test_a_bad_choice_says_what_is_allowed_not_what_was_given(stack, marketer):
    body = await refused(stack, marketer, {"type": "rfm_segment", "value": ["champs"]})
    assert body["path"] == "value[0]"
    assert "champions" in body["allowed"].split(", ")
    assert "champions" in body["detail"]
    assert "expected: champs" not in body["detail"]


async def test_an_unknown_operator_lists_the_allowed_ones(stack, marketer):
    body = await refused(
        stack, marketer, {"type": "metric", "metric": "receipts", "op": "like", "value": 1}
    )
    assert body["problem"] == "unknown_operator"
    assert "gte" in body["allowed"].split(", ")


async def test_a_refusal_is_in_the_callers_language(stack, marketer):
    body = await refused(
        stack, marketer, {"type": "profile", "field": "age", "op": "gt", "value": 500}, "uk"
    )
    assert "150" in body["detail"]
    assert "whole number" not in body["detail"]


async def test_a_wrong_stage_filter_names_the_query_parameter(stack, marketer):
    answer = await stack.client.get(
        "/api/v1/customers?stage=new&stage=bogus", headers={**marketer, "Accept-Language": "en"}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["path"] == "stage"
    assert "all[" not in answer.text
    assert "registered" in body["allowed"] and "lapsing" in body["allowed"]
    assert "stage" in body["detail"]


async def test_a_wrong_rule_filter_names_the_path_inside_it(stack, marketer):
    answer = await stack.client.get(
        "/api/v1/customers",
        params={"rule": '{"any": [{"type": "channel", "channel": "fax"}]}'},
        headers=marketer,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"] == "rule.any[0].channel"


# -- birthdays --------------------------------------------------------------------------------


async def birthday_people(zone: str, tag: str, offsets: range) -> dict[str, int]:
    """One customer per offset, whose birthday is that many days after their local today."""
    today = datetime.now(ZoneInfo(zone)).date()
    people = {}
    for days in offsets:
        born = _born_on(today + timedelta(days=days))
        customer, _ = await new_customer(
            f"B{'abcdefghij'[days % 10]}", city=tag, timezone=zone, birth_date=born
        )
        people[f"{zone}+{days}"] = customer.id
    return people


def _born_on(day: date) -> date:
    try:
        return day.replace(year=1990)
    except ValueError:  # 29 February
        return date(1992, 2, 29)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Europe/Kyiv", "Pacific/Pago_Pago"])
async def test_birthdays_in_the_next_days_in_the_customers_own_time_zone(stack, marketer, zone):
    tag = f"Bday-{secrets.token_hex(4)}"
    people = await birthday_people(zone, tag, range(-1, 5))
    rule = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": tag},
                    {"type": "birthday", "within_days": 2}]}  # fmt: skip
    expected_before = _expected(people, zone, 2)
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=marketer
    )
    assert answer.status_code == 200, answer.text
    selected = {row["id"] for row in answer.json()["sample"]}
    # A zone may pass midnight during the request: either side of it is right.
    assert selected in (expected_before, _expected(people, zone, 2))


def _expected(people: dict[str, int], zone: str, within: int) -> set[int]:
    return {cid for key, cid in people.items() if 0 <= int(key.rsplit("+", 1)[1]) <= within}


async def test_birthdays_in_a_month(stack, marketer):
    tag = f"Bmonth-{secrets.token_hex(4)}"
    march, _ = await new_customer("Marta", city=tag, birth_date=date(1991, 3, 31))
    await new_customer("Quiet", city=tag, birth_date=date(1991, 4, 1))
    await new_customer("Nobody", city=tag)
    rule = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": tag},
                    {"type": "birthday", "month": 3}]}  # fmt: skip
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=marketer
    )
    assert answer.status_code == 200, answer.text
    assert [row["id"] for row in answer.json()["sample"]] == [march.id]


@pytest.mark.parametrize(
    ("now", "within", "selected"),
    [
        (datetime(2027, 2, 27, 12, tzinfo=UTC), 1, True),  # 28 Feb 2027 stands for the 29th
        (datetime(2027, 2, 28, 12, tzinfo=UTC), 0, True),
        (datetime(2027, 3, 1, 12, tzinfo=UTC), 0, False),
        (datetime(2028, 2, 27, 12, tzinfo=UTC), 1, False),  # a leap year has its own 29th
        (datetime(2028, 2, 27, 12, tzinfo=UTC), 2, True),
        (datetime(2027, 12, 30, 12, tzinfo=UTC), 61, True),  # across the new year
        (datetime(2027, 12, 30, 12, tzinfo=UTC), 60, False),  # to 28 Feb of a leap year
    ],
)
async def test_the_29th_of_february(stack, now, within, selected):
    tag = f"Leap-{secrets.token_hex(4)}"
    leap, _ = await new_customer("Leo", city=tag, birth_date=date(2000, 2, 29))
    rule = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": tag},
                    {"type": "birthday", "within_days": within}]}  # fmt: skip
    result = await preview(rule, now)
    assert ([row["id"] for row in result.sample] == [leap.id]) is selected


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"type": "birthday"}, ""),
        ({"type": "birthday", "within_days": 2, "month": 3}, "month"),
        ({"type": "birthday", "month": 13}, "month"),
        ({"type": "birthday", "within_days": -1}, "within_days"),
    ],
)
async def test_a_birthday_condition_needs_one_of_its_two_forms(stack, marketer, rule, path):
    body = await refused(stack, marketer, rule)
    assert body["path"] == (path or "rule")
