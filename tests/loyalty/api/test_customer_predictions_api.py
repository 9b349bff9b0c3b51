"""The customer's profile shows the churn model's predictions once they have been scored."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_core.churn.models import CustomerPrediction
from crm_core.churn.service import refresh_predictions
from crm_core.clock import utcnow
from crm_core.staff.models import Role
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def profile(stack, marketer, customer_id: int) -> dict:
    answer = await stack.client.get(f"/api/v1/customers/{customer_id}", headers=marketer)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_profile_carries_a_predictions_block_after_scoring(stack, marketer):
    now = utcnow()
    store = await new_store()
    customer, card = await new_customer("Predicted")
    newcomer, _ = await new_customer("NoPurchaseYet")
    for days_ago in (70, 40, 10):
        await buy(store, card, [item("Dairy/Milk", "25.00")], now - timedelta(days=days_ago))

    await refresh_predictions(now)

    stored = await CustomerPrediction.get(customer_id=customer.id)
    block = (await profile(stack, marketer, customer.id))["predictions"]
    assert block == {
        "p_alive": round(stored.p_alive, 4),
        "churn_risk": round(stored.churn_risk, 4),
        "churn_horizon_days": 90,
        "expected_purchases_30d": round(stored.expected_30, 3),
        "expected_purchases_90d": round(stored.expected_90, 3),
        "next_purchase_at": stored.next_purchase_at.isoformat(),
        "predicted_value_90d": f"{stored.value_90_minor / 100:.2f}",
        "model": "pareto_nbd",
        "scored_at": now.isoformat(),
    }
    assert 0 < block["p_alive"] <= 1 and 0 <= block["churn_risk"] < 1
    assert datetime.fromisoformat(block["next_purchase_at"]) > now
    assert float(block["predicted_value_90d"]) > 0
    # Nobody is scored before their first purchase.
    assert (await profile(stack, marketer, newcomer.id))["predictions"] is None
