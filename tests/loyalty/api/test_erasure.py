"""Erasure through the API: the customer leaves every segment at once (counts, exits logged),
and asking for them afterwards says when they were erased, with no personal data."""

from __future__ import annotations

import secrets

import pytest

from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key
from tests.support.texts import t


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def test_an_erased_customer_leaves_segments_and_answers_410(stack, marketer):
    city = f"City-{secrets.token_hex(4)}"
    leaving, _ = await new_customer("Ярина", city=city)
    await new_customer("Остап", city=city)
    segments = []
    for kind in ("dynamic", "static"):
        made = await stack.client.post(
            "/api/v1/segments",
            json={
                "name": f"{kind} {city}",
                "kind": kind,
                "rule": {"type": "profile", "field": "city", "op": "eq", "value": city},
            },
            headers=marketer,
        )
        assert made.status_code in (200, 201), made.text
        assert made.json()["member_count"] == 2
        segments.append(made.json()["id"])

    erased = await stack.client.delete(f"/api/v1/customers/{leaving.id}", headers=marketer)
    assert erased.status_code == 204, erased.text

    for segment_id in segments:
        segment = (
            await stack.client.get(f"/api/v1/segments/{segment_id}", headers=marketer)
        ).json()
        assert segment["member_count"] == 1
        history = await stack.client.get(f"/api/v1/segments/{segment_id}/history", headers=marketer)
        exits = [e for e in history.json()["items"] if e["event"] == "exited"]
        assert [e["customer_id"] for e in exits] == [leaving.id]

    answer = await stack.client.get(
        f"/api/v1/customers/{leaving.id}", headers={**marketer, "Accept-Language": "en"}
    )
    assert answer.status_code == 410, answer.text
    body = answer.json()
    assert body["code"] == "customer_erased"
    erased_at = body["erased_at"]
    assert body["detail"] == t(
        "en", "This customer's personal data was erased on {date}.", date=erased_at[:10]
    )
    assert "Ярина" not in answer.text and "+380" not in answer.text
    again = await stack.client.delete(f"/api/v1/customers/{leaving.id}", headers=marketer)
    assert again.status_code == 410 and again.json()["erased_at"] == erased_at
    for path in ("purchases", "data"):
        gone = await stack.client.get(f"/api/v1/customers/{leaving.id}/{path}", headers=marketer)
        assert gone.status_code == 410, path
    unknown = await stack.client.get("/api/v1/customers/999999999", headers=marketer)
    assert unknown.status_code == 404
