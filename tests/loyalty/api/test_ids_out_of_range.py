"""An id no row can have (beyond the database's integer range) is a 404 or a 422 naming the
parameter, never a server error: in paths, sub-paths, cursors and bodies alike."""

from __future__ import annotations

import pytest

from crm_core.staff.models import Role
from tests.support.staff import bearer, new_key, new_store

INT = 2**31  # one past PostgreSQL's INTEGER
BIG = 2**63  # one past BIGINT


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def cashier(stack):
    return bearer(await new_key(Role.CASHIER, await new_store()))


MARKETER_CALLS = [
    ("GET", f"/api/v1/segments/{INT}", None),
    ("PATCH", f"/api/v1/segments/{INT}", {"name": "x"}),
    ("DELETE", f"/api/v1/segments/{INT}", None),
    ("POST", f"/api/v1/segments/{INT}/refresh", None),
    ("GET", f"/api/v1/segments/{INT}/members", None),
    ("GET", f"/api/v1/segments/{INT}/history", None),
    ("GET", f"/api/v1/segments/{INT}/export", None),
    ("GET", f"/api/v1/campaigns/{INT}", None),
    ("POST", f"/api/v1/campaigns/{INT}/preview", None),
    ("POST", f"/api/v1/campaigns/{INT}/test-send", {"segment_id": 1}),
    ("POST", f"/api/v1/campaigns/{INT}/schedule", None),
    ("POST", f"/api/v1/campaigns/{INT}/pause", None),
    ("GET", f"/api/v1/campaigns/{INT}/results", None),
    ("GET", f"/api/v1/campaigns/{INT}/results.csv", None),
    ("GET", f"/api/v1/campaigns/1/runs/{BIG}/results", None),
    ("GET", f"/api/v1/customers/{BIG}", None),
    ("PATCH", f"/api/v1/customers/{BIG}", {"city": "Lviv"}),
    ("GET", f"/api/v1/customers/{BIG}/purchases", None),
    ("GET", f"/api/v1/customers/{BIG}/data", None),
    ("DELETE", f"/api/v1/customers/{BIG}", None),
    ("GET", f"/api/v1/customers/1/purchases?before={BIG}", None),
    ("GET", f"/api/v1/segments/1/history?before={BIG}", None),
    ("GET", f"/api/v1/segments/1/members?after={BIG}", None),
    ("GET", f"/api/v1/customers?segment_id={INT}", None),
    ("POST", "/api/v1/campaigns/1/test-send", {"segment_id": INT}),
]


@pytest.mark.parametrize(("method", "url", "body"), MARKETER_CALLS)
async def test_marketer_ids_beyond_the_range(stack, marketer, method, url, body):
    answer = await stack.client.request(method, url, json=body, headers=marketer)
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["code"]


@pytest.mark.parametrize("field", ["segment_id", "exclude_segment_ids"])
async def test_a_campaign_naming_an_impossible_segment(stack, marketer, field):
    body = {
        "name": "Far away",
        "segment_id": 1,
        "messages": {"uk": {"text": "Привіт"}},
        "default_language": "uk",
        "schedule": {"kind": "once", "at": "2030-01-01T10:00:00+02:00"},
    }
    body[field] = [INT] if field == "exclude_segment_ids" else INT
    answer = await stack.client.post("/api/v1/campaigns", json=body, headers=marketer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["path"].startswith(field)


async def test_a_refund_of_an_impossible_purchase(stack, cashier):
    answer = await stack.client.post(
        f"/api/v1/pos/purchases/{BIG}/refund", json={"refund_id": "R"}, headers=cashier
    )
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["code"]


async def test_a_refund_line_beyond_the_range(stack, cashier):
    answer = await stack.client.post(
        "/api/v1/pos/purchases/1/refund",
        json={"refund_id": "R", "lines": [{"line_no": INT, "quantity": "1"}]},
        headers=cashier,
    )
    assert answer.status_code in (404, 422), answer.text
