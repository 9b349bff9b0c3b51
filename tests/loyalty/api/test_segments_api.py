"""The marketer builds segments over HTTP: preview, save, rebuild, pause, members, exports."""

from __future__ import annotations

import csv
import io
import json
import secrets
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from crm_core.clock import utcnow
from crm_core.staff.models import Role
from loyalty.api.marketer_texts import RULE_INVALID
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def city(stack):
    """A fresh city: Ira bought baby food twice, Oles once bought bread, Petro never bought."""
    name = f"City-{secrets.token_hex(4)}"
    store = await new_store()
    now = utcnow()
    _, ira_card = await new_customer("Ira", city=name)
    _, oles_card = await new_customer("Oles", city=name)
    await new_customer("Petro", city=name)
    for days in (5, 12):
        await buy(store, ira_card, [item("Baby/Food", "45.00", "2")], now - timedelta(days=days))
    await buy(store, oles_card, [item("Bakery/Bread", "12.00")], now - timedelta(days=3))
    return name


def in_city(name: str) -> dict:
    return {"type": "profile", "field": "city", "op": "eq", "value": name}


async def test_preview_counts_and_samples_without_saving(stack, marketer, city):
    rule = {"all": [in_city(city), {"type": "purchased", "category": "Baby", "within_days": 60}]}
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=marketer
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == 1
    assert [row["first_name"] for row in body["sample"]] == ["Ira"]
    assert body["sample"][0]["stage"] == "regular"
    listed = await stack.client.get("/api/v1/segments", headers=marketer)
    assert all(s["rule"] != rule for s in listed.json())


@pytest.mark.parametrize(
    ("rule", "path", "problem"),
    [
        ({"all": []}, "all", "empty_group"),
        (
            {"all": [{"type": "metric", "metric": "wealth", "op": "gt", "value": 1}]},
            "all[0].metric",
            "unknown_field",
        ),
        (
            {"any": [{"not": {"type": "profile", "field": "age", "op": "gte", "value": "old"}}]},
            "any[0].not.value",
            "bad_value",
        ),
        ({"type": "purchased", "category": "No/Such/Category"}, "category", "unknown_category"),
        (
            {"type": "metric", "metric": "receipts", "op": "like", "value": 1},
            "op",
            "unknown_operator",
        ),
        ({"type": "segment", "segment_id": 999999}, "segment_id", "unknown_segment"),
        ({"type": "drop table"}, "type", "unknown_node"),
        (
            {"all": [{"type": "rfm", "score": "r", "op": "gte", "value": 7}]},
            "all[0].value",
            "bad_value",
        ),
    ],
)
async def test_a_bad_rule_is_refused_naming_its_path(stack, marketer, rule, path, problem):
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=marketer
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_rule"
    assert body["path"] == path
    assert body["problem"] == problem
    assert path in body["detail"]


async def test_the_reason_is_in_the_callers_language(stack, marketer):
    answer = await stack.client.post(
        "/api/v1/segments/preview",
        json={"rule": {"all": []}},
        headers={**marketer, "Accept-Language": "uk"},
    )
    assert answer.status_code == 422
    reason = t("uk", "A group needs a list with at least one condition.")
    assert answer.json()["detail"] == t("uk", RULE_INVALID, path="all", reason=reason)
    assert answer.json()["detail"].startswith("Помилка в правилі")


async def test_cashiers_cannot_see_segments(stack):
    cashier = bearer(await new_key(Role.CASHIER, await new_store()))
    answer = await stack.client.post(
        "/api/v1/segments/preview", json={"rule": {"type": "consent"}}, headers=cashier
    )
    assert answer.status_code == 403


async def test_save_rebuild_pause_and_history(stack, marketer, city):
    rule = {
        "all": [in_city(city), {"type": "metric", "metric": "receipts", "op": "gte", "value": 1}]
    }
    created = await stack.client.post(
        "/api/v1/segments",
        json={"name": f"buyers {city}", "kind": "dynamic", "rule": rule},
        headers=marketer,
    )
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["member_count"] == 2 and segment["status"] == "active"

    again = await stack.client.post(
        "/api/v1/segments",
        json={"name": f"buyers {city}", "kind": "static", "rule": rule},
        headers=marketer,
    )
    assert again.status_code == 409

    members = await stack.client.get(
        f"/api/v1/segments/{segment['id']}/members?limit=1", headers=marketer
    )
    first = members.json()
    assert len(first["items"]) == 1 and first["next_cursor"] is not None
    rest = await stack.client.get(
        f"/api/v1/segments/{segment['id']}/members?limit=1&after={first['next_cursor']}",
        headers=marketer,
    )
    names = {first["items"][0]["first_name"], rest.json()["items"][0]["first_name"]}
    assert names == {"Ira", "Oles"}

    narrowed = {
        "all": [in_city(city), {"type": "metric", "metric": "receipts", "op": "gte", "value": 2}]
    }
    patched = await stack.client.patch(
        f"/api/v1/segments/{segment['id']}", json={"rule": narrowed}, headers=marketer
    )
    assert patched.json()["member_count"] == 1

    history = await stack.client.get(f"/api/v1/segments/{segment['id']}/history", headers=marketer)
    events = [entry["event"] for entry in history.json()["items"]]
    assert sorted(events) == ["entered", "entered", "exited"]

    paused = await stack.client.patch(
        f"/api/v1/segments/{segment['id']}", json={"status": "paused"}, headers=marketer
    )
    assert paused.json()["status"] == "paused"
    refused = await stack.client.post(f"/api/v1/segments/{segment['id']}/refresh", headers=marketer)
    assert refused.status_code == 409
    assert refused.json()["code"] == "segment_paused"


async def test_a_segment_others_are_built_on_cannot_be_deleted(stack, marketer, city):
    base = (
        await stack.client.post(
            "/api/v1/segments",
            json={"name": f"base {city}", "rule": in_city(city)},
            headers=marketer,
        )
    ).json()
    await stack.client.post(
        "/api/v1/segments",
        json={"name": f"on top {city}", "rule": {"type": "segment", "segment_id": base["id"]}},
        headers=marketer,
    )
    refused = await stack.client.delete(f"/api/v1/segments/{base['id']}", headers=marketer)
    assert refused.status_code == 409
    cycle = await stack.client.patch(
        f"/api/v1/segments/{base['id']}",
        json={"rule": {"type": "segment", "segment_id": base["id"]}},
        headers=marketer,
    )
    assert cycle.status_code == 422 and cycle.json()["problem"] == "cycle"


async def exported(stack, marketer, segment_id: int, fmt: str, columns: str) -> bytes:
    answer = await stack.client.get(
        f"/api/v1/segments/{segment_id}/export",
        params={"format": fmt, "columns": columns},
        headers=marketer,
    )
    assert answer.status_code == 200, answer.text
    assert f"segment-{segment_id}.{fmt}" in answer.headers["content-disposition"]
    return answer.content


async def test_exports_in_four_formats_parse_back_to_the_same_members(stack, marketer, city):
    segment = (
        await stack.client.post(
            "/api/v1/segments",
            json={"name": f"export {city}", "rule": in_city(city)},
            headers=marketer,
        )
    ).json()
    columns = "customer_id,first_name,card_number,stage,receipts,total_spent,last_purchase_at"

    rows = list(
        csv.DictReader(
            io.StringIO(
                (await exported(stack, marketer, segment["id"], "csv", columns)).decode("utf-8-sig")
            )
        )
    )
    by_name = {row["first_name"]: row for row in rows}
    assert set(by_name) == {"Ira", "Oles", "Petro"}
    assert by_name["Ira"]["total_spent"] == "180.00"
    assert by_name["Ira"]["receipts"] == "2"
    assert by_name["Petro"]["stage"] == "registered" and by_name["Petro"]["last_purchase_at"] == ""
    assert all(len(row["card_number"]) >= 12 for row in rows)

    as_json = json.loads(await exported(stack, marketer, segment["id"], "json", columns))
    assert {row["first_name"] for row in as_json} == {"Ira", "Oles", "Petro"}
    assert {row["customer_id"] for row in as_json} == {int(row["customer_id"]) for row in rows}

    root = ET.fromstring(await exported(stack, marketer, segment["id"], "xml", columns))  # noqa: S314
    assert root.tag == "customers"
    xml_rows = {c.findtext("first_name"): c for c in root.findall("customer")}
    assert set(xml_rows) == {"Ira", "Oles", "Petro"}
    assert xml_rows["Ira"].findtext("total_spent") == "180.00"

    workbook = load_workbook(
        io.BytesIO(await exported(stack, marketer, segment["id"], "xlsx", columns))
    )
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == columns.replace("_at", "_at (UTC)").split(",")
    assert {row[1] for row in values[1:]} == {"Ira", "Oles", "Petro"}
    ira = next(row for row in values[1:] if row[1] == "Ira")
    assert ira[5] == pytest.approx(180.0)


async def test_an_unknown_export_column_is_refused(stack, marketer, city):
    segment = (
        await stack.client.post(
            "/api/v1/segments",
            json={"name": f"cols {city}", "rule": in_city(city)},
            headers=marketer,
        )
    ).json()
    answer = await stack.client.get(
        f"/api/v1/segments/{segment['id']}/export",
        params={"format": "csv", "columns": "first_name,password"},
        headers=marketer,
    )
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_column"


@pytest.mark.parametrize("language", ["en", "uk"])
async def test_a_segment_a_campaign_uses_cannot_be_deleted(stack, marketer, city, language):
    """As its audience it answered 500; as an exclusion it was dropped silently, and the
    campaign would then have reached the customers it meant to leave out (issue 13.6)."""
    made = []
    for name in (f"audience {city} {language}", f"left out {city} {language}"):
        answer = await stack.client.post(
            "/api/v1/segments", json={"name": name, "rule": in_city(city)}, headers=marketer
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    audience, left_out = made
    names = []
    for name, exclusions in (("Spring sale", []), ("Weekly offer", [left_out])):
        answer = await stack.client.post(
            "/api/v1/campaigns",
            json={
                "name": f"{name} {city}",
                "segment_id": audience,
                "exclude_segment_ids": exclusions,
                "messages": {"uk": {"text": "Привіт"}},
                "default_language": "uk",
                "schedule": {"kind": "recurring", "cron": "0 10 * * mon"},
            },
            headers=marketer,
        )
        assert answer.status_code == 201, answer.text
        names.append(answer.json()["name"])
    headers = {**marketer, "Accept-Language": language}
    for segment, using in ((audience, names), (left_out, names[1:])):
        refused = await stack.client.delete(f"/api/v1/segments/{segment}", headers=headers)
        assert refused.status_code == 409, refused.text
        answer = refused.json()
        assert answer["code"] == "segment_used_by_campaigns"
        assert all(f"\u201c{name}\u201d" in answer["detail"] for name in using)
        assert (names[0] in answer["detail"]) == (segment == audience)
        if language == "uk":
            assert "кампані" in answer["detail"]
        shown = await stack.client.get(f"/api/v1/segments/{segment}", headers=marketer)
        assert shown.status_code == 200
    campaigns = (await stack.client.get("/api/v1/campaigns", headers=marketer)).json()
    weekly = next(c for c in campaigns if c["name"] == names[1])
    assert weekly["exclude_segment_ids"] == [left_out]
