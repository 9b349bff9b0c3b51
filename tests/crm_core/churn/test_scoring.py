"""Every customer with a purchase is scored nightly with the fitted model, set-based, and
re-scored after their own purchase or refund; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from crm_core.churn.models import ChurnModel, CustomerPrediction
from crm_core.churn.pareto_nbd import ParetoNBD
from crm_core.churn.service import refresh_predictions, rescore_customer, score
from crm_core.clock import utcnow
from crm_core.purchases.service import refund_purchase
from crm_core.registration.service import erase_customer
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store


def expected_row(model: ParetoNBD, x: int, t_x: float, age: float) -> dict[str, float]:
    s = score(model, [x], [t_x], [age])
    return {
        "p_alive": float(s.p_alive[0]),
        "expected_30": float(s.expected_30[0]),
        "expected_90": float(s.expected_90[0]),
        "churn_risk": float(s.churn_risk[0]),
        "wait_days": float(s.wait_days[0]),
    }


def assert_scored(found: CustomerPrediction, model: ParetoNBD, x, t_x, age, now, basket):
    want = expected_row(model, x, t_x, age)
    for name in ("p_alive", "expected_30", "expected_90", "churn_risk"):
        assert getattr(found, name) == pytest.approx(want[name], rel=1e-9), name
    assert found.next_purchase_at == pytest.approx(
        now + timedelta(days=want["wait_days"]), abs=timedelta(seconds=1)
    )
    assert found.value_90_minor == math.floor(want["expected_90"] * basket + 0.5)
    assert found.scored_at == now


async def stored_model() -> ParetoNBD:
    latest = await ChurnModel.all().order_by("-id").first()
    return ParetoNBD(**latest.parameters)


async def test_the_nightly_run_fits_and_scores_every_customer_with_a_purchase(stack):
    now = utcnow()
    store = await new_store()
    regular, regular_card = await new_customer("Regular")
    for days_ago in (120, 90, 60, 30, 3):
        await buy(
            store, regular_card, [item("Dairy/Milk", "20.00")], now - timedelta(days=days_ago)
        )
    once, once_card = await new_customer("Once")
    await buy(store, once_card, [item("Pets", "80.00")], now - timedelta(days=200))
    twins = []  # equal histories are one group for the model and one score each
    for name in ("Twin A", "Twin B"):
        twin, card = await new_customer(name)
        await buy(store, card, [item("Bakery", "5.00")], now - timedelta(days=50))
        await buy(store, card, [item("Bakery", "5.00")], now - timedelta(days=40))
        twins.append(twin)
    never, _ = await new_customer("Never")
    erased, erased_card = await new_customer("Erased")
    await buy(store, erased_card, [item("Dairy/Milk")], now - timedelta(days=10))
    await erase_customer(erased, "telegram", "test-v1", now)

    done = await refresh_predictions(now)

    model = await stored_model()
    assert done.customers >= 4 and done.histories <= done.customers
    assert model.as_dict() == pytest.approx(done.parameters)
    found = {p.customer_id: p for p in await CustomerPrediction.filter(
        customer_id__in=[regular.id, once.id, never.id, erased.id, *(t.id for t in twins)]
    )}  # fmt: skip
    assert_scored(found[regular.id], model, 4, 117.0, 120.0, now, 2000)
    assert_scored(found[once.id], model, 0, 0.0, 200.0, now, 8000)
    for twin in twins:
        assert_scored(found[twin.id], model, 1, 10.0, 50.0, now, 500)
    assert never.id not in found and erased.id not in found
    # The regular buyer who was here three days ago is likelier to be active than the
    # one-time buyer gone quiet for 200 days, and expects more purchases.
    assert found[regular.id].p_alive > found[once.id].p_alive
    assert found[regular.id].churn_risk < found[once.id].churn_risk
    assert found[regular.id].expected_90 > found[regular.id].expected_30 > 0


async def test_a_purchase_or_refund_rescores_its_customer_with_the_latest_fit(stack):
    now = utcnow()
    store = await new_store()
    customer, card = await new_customer("Rescored")
    first = await buy(store, card, [item("Dairy/Milk", "30.00")], now - timedelta(days=100))
    await refresh_predictions(now)
    model = await stored_model()
    before = await CustomerPrediction.get(customer_id=customer.id)
    assert_scored(before, model, 0, 0.0, 100.0, now, 3000)

    later = now + timedelta(hours=2)
    second = await buy(store, card, [item("Dairy/Milk", "10.00")], later, now=later)
    after = await CustomerPrediction.get(customer_id=customer.id)
    assert_scored(after, model, 1, 100.0, 100.0, later, 2000)
    assert after.p_alive == pytest.approx(1.0)  # a customer buying today is active
    assert after.churn_risk < before.churn_risk

    # Refunding both receipts leaves nothing to score: the prediction goes.
    for number, recorded in enumerate((second, first)):
        await refund_purchase(store, recorded.purchase.id, f"refund-{number}", None, later)
    assert await CustomerPrediction.get_or_none(customer_id=customer.id) is None
    assert await rescore_customer(customer.id, later) is False


async def test_a_receipt_later_than_the_scoring_moment_does_not_break_the_run(stack):
    """Scored as of a moment before a receipt's time (a till clock ahead, or a re-run for an
    earlier day), its customer's age is -1 day, counted as 0: that group and the customers
    whose age really is 0 once shared one key, and PostgreSQL refused the whole upsert."""
    at = utcnow() - timedelta(days=1)
    store = await new_store()
    today, today_card = await new_customer("AgeZero", now=at - timedelta(days=2))
    tomorrow, tomorrow_card = await new_customer("AgeMinusOne", now=at - timedelta(days=2))
    await buy(store, today_card, [item("Dairy/Milk", "25.00")], at - timedelta(hours=1))
    await buy(store, tomorrow_card, [item("Dairy/Milk", "25.00")], at + timedelta(hours=20))

    await refresh_predictions(at)

    for customer in (today, tomorrow):
        assert await CustomerPrediction.exists(customer_id=customer.id)
