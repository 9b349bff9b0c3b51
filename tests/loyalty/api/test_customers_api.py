"""The marketer's customer list, profiles, edits, purchase history, data inventory and erasure."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from crm_core.clock import utcnow
from crm_core.customers.models import Customer
from crm_core.metrics.models import CustomerMetrics
from crm_core.profiles.models import CustomFieldValue
from crm_core.recommendations.models import ClusterProduct
from crm_core.staff.models import Role
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def town(stack):
    name = f"Town-{secrets.token_hex(4)}"
    store = await new_store()
    now = utcnow()
    people = {}
    for index, (first, spend) in enumerate(
        [("Ada", "10.00"), ("Bo", "99.00"), ("Cy", "50.00"), ("Di", "50.00"), ("Ed", None)]
    ):
        customer, card = await new_customer(first, city=name)
        if spend:
            await buy(store, card, [item("Dairy/Milk", spend)], now - timedelta(days=index + 1))
        people[first] = customer
    return name, people, store


async def page(stack, marketer, **params):
    answer = await stack.client.get("/api/v1/customers", params=params, headers=marketer)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_filter_sort_and_page_through_with_a_cursor(stack, marketer, town):
    city, _, _ = town
    seen = []
    cursor = None
    while True:
        params = {"city": city, "sort": "total_spent", "descending": "true", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = await page(stack, marketer, **params)
        seen.extend((row["first_name"], row["total_spent"]) for row in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Equal spend (Cy, Di) is ordered by id, and no one is seen twice or skipped.
    assert seen == [
        ("Bo", "99.00"),
        ("Di", "50.00"),
        ("Cy", "50.00"),
        ("Ada", "10.00"),
        ("Ed", "0.00"),
    ]


async def test_filters_are_segment_conditions(stack, marketer, town):
    city, _, _ = town
    body = await page(stack, marketer, city=city, min_spent="40", max_spent="60")
    assert {row["first_name"] for row in body["items"]} == {"Cy", "Di"}
    body = await page(stack, marketer, city=city, stage="registered")
    assert [row["first_name"] for row in body["items"]] == ["Ed"]
    body = await page(stack, marketer, city=city, name="b")
    assert [row["first_name"] for row in body["items"]] == ["Bo"]
    rule = '{"type": "metric", "metric": "receipts", "op": "eq", "value": 1}'
    body = await page(stack, marketer, city=city, rule=rule)
    assert len(body["items"]) == 4


async def test_a_forged_cursor_is_refused(stack, marketer, town):
    answer = await stack.client.get(
        "/api/v1/customers", params={"cursor": "not-a-cursor"}, headers=marketer
    )
    assert answer.status_code == 422 and answer.json()["code"] == "bad_cursor"


async def test_profile_with_metrics_edits_and_custom_fields(stack, marketer, town):
    _, people, _ = town
    ada = people["Ada"]
    key = f"shoe_size_{secrets.token_hex(3)}"
    made = await stack.client.post(
        "/api/v1/custom-fields",
        json={"key": key, "label": "Shoe size", "kind": "number"},
        headers=marketer,
    )
    assert made.status_code == 201
    bad = await stack.client.patch(
        f"/api/v1/customers/{ada.id}", json={"custom_fields": {key: "forty"}}, headers=marketer
    )
    assert bad.status_code == 422 and bad.json()["code"] == "bad_value"
    assert not await CustomFieldValue.filter(customer_id=ada.id).exists()

    edited = await stack.client.patch(
        f"/api/v1/customers/{ada.id}",
        json={"gender": "female", "birth_date": "1991-02-03", "custom_fields": {key: 38}},
        headers=marketer,
    )
    assert edited.status_code == 200, edited.text
    profile = edited.json()
    assert profile["gender"] == "female" and profile["birth_date"] == "1991-02-03"
    assert profile["custom_fields"][key] == "38"
    assert profile["metrics"]["receipts"] == 1
    assert profile["metrics"]["total_spent"] == "10.00"
    assert profile["metrics"]["spend_by_category"] == {"Dairy": "10.00"}
    assert profile["metrics"]["favourite_category"] == "Dairy"
    assert profile["metrics"]["lifecycle"]["stage"] == "new"
    assert profile["lifecycle_history"][-1]["to"] == "new"
    assert profile["consents"][0]["text_version"] == "test-v1"
    assert profile["cards"][0]["status"] == "active"

    wrong = await stack.client.patch(
        f"/api/v1/customers/{ada.id}", json={"gender": "robot"}, headers=marketer
    )
    assert wrong.status_code == 422


async def test_purchase_history_newest_first(stack, marketer, town):
    _, _, store = town
    customer, card = await new_customer("Hist")
    for days in (3, 2, 1):
        await buy(
            store, card, [item("Bakery/Bread", f"{days}.00")], utcnow() - timedelta(days=days)
        )
    first = await stack.client.get(
        f"/api/v1/customers/{customer.id}/purchases", params={"limit": 2}, headers=marketer
    )
    body = first.json()
    assert [p["total"] for p in body["items"]] == ["1.00", "2.00"]
    assert body["items"][0]["lines"][0]["category"] == "Bakery/Bread"
    rest = await stack.client.get(
        f"/api/v1/customers/{customer.id}/purchases",
        params={"before": body["next_cursor"]},
        headers=marketer,
    )
    assert [p["total"] for p in rest.json()["items"]] == ["3.00"]


async def test_inventory_then_erasure(stack, marketer, town):
    _, people, _ = town
    bo = people["Bo"]
    inventory = await stack.client.get(f"/api/v1/customers/{bo.id}/data", headers=marketer)
    assert inventory.status_code == 200
    data = inventory.json()
    assert data["profile"]["first_name"] == "Bo"
    assert len(data["purchases"]) == 1
    assert any(event["kind"] == "registered" for event in data["events"])

    erased = await stack.client.delete(f"/api/v1/customers/{bo.id}", headers=marketer)
    assert erased.status_code == 204
    row = await Customer.get(id=bo.id)
    assert row.first_name is None and row.phone is None and row.city is None
    assert row.erased_at is not None and row.marketing_consent is False
    # The purchase figures stay, anonymous.
    assert (await CustomerMetrics.get(customer_id=bo.id)).receipts == 1
    gone = await stack.client.get(f"/api/v1/customers/{bo.id}", headers=marketer)
    assert gone.status_code == 410 and gone.json()["code"] == "customer_erased"  # not 404
    body = await page(stack, marketer, city=town[0])
    assert "Bo" not in {row["first_name"] for row in body["items"]}


async def test_recompute_on_demand(stack, marketer):
    answer = await stack.client.post("/api/v1/metrics/recompute", headers=marketer)
    assert answer.status_code == 200
    assert answer.json()["scored"] >= 1
    # also what {products} in campaigns needs before the first night (issue 13.7)
    assert answer.json()["products_ranked"] >= 1
    assert await ClusterProduct.filter(cluster_key="*").exists()
