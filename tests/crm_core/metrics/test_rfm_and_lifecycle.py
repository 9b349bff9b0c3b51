"""RFM quintiles and named segments; lifecycle stages by each customer's own rhythm."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from crm_core.clock import utcnow
from crm_core.metrics.lifecycle import LifecyclePolicy, stage_for
from crm_core.metrics.models import CustomerMetrics, Stage, StageChange
from crm_core.metrics.rfm import RFM_NAMES, recompute_rfm, rfm_name
from crm_core.metrics.service import nightly_refresh
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("receipts", "first_ago", "last_ago", "stage"),
    [
        (0, None, None, Stage.REGISTERED),
        (1, 5, 5, Stage.NEW),
        (1, 61, 61, Stage.LAPSING),  # no rhythm yet: 2 x the default 30 days
        (1, 181, 181, Stage.LOST),  # 6 x 30 days
        (10, 70, 7, Stage.REGULAR),  # weekly, last week
        (10, 78, 15, Stage.LAPSING),  # weekly, but two weeks and a day without
        (10, 106, 43, Stage.LAPSING),  # weekly, six weeks without: not gone before 120 days
        (10, 184, 121, Stage.LOST),  # weekly, four months without
        (3, 2, 0, Stage.REGULAR),  # three visits in two days: judged by the 7-day floor
        (3, 2, 15, Stage.LAPSING),
    ],
)
def test_stage_follows_the_customers_own_rhythm(receipts, first_ago, last_ago, stage):
    first = NOW - first_ago * DAY if first_ago is not None else None
    last = NOW - last_ago * DAY if last_ago is not None else None
    assert stage_for(receipts, first, last, NOW) == stage


def test_the_policy_is_a_setting():
    strict = LifecyclePolicy(lapsing_factor=1.5, lost_factor=3.0)
    assert stage_for(10, NOW - 74 * DAY, NOW - 11 * DAY, NOW, strict) == Stage.LAPSING
    assert stage_for(10, NOW - 74 * DAY, NOW - 11 * DAY, NOW) == Stage.REGULAR


def test_every_score_combination_has_exactly_one_name():
    names = {name for name, _ in RFM_NAMES}
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert rfm_name(r, f, m) in names
    assert rfm_name(5, 5, 5) == "champions"
    assert rfm_name(1, 1, 1) == "lost"
    assert rfm_name(1, 5, 5) == "cant_lose_them"
    assert rfm_name(5, 1, 1) == "new_customers"


async def test_rfm_scores_are_quintiles_that_respect_order_and_ties(stack):
    store = await new_store()
    now = utcnow()
    for spend in ("10.00", "20.00", "20.00", "300.00", "4000.00"):
        _, card = await new_customer()
        await buy(store, card, [item("Dairy/Milk", spend)], now - timedelta(days=int(spend[:2])))
    await recompute_rfm(now)
    # Everyone active is scored (erased customers, from other tests, are not).
    rows = await CustomerMetrics.filter(receipts__gt=0, customer__erased_at__isnull=True).values(
        "spent_minor", "receipts", "last_purchase_at", "rfm_r", "rfm_f", "rfm_m", "rfm_segment"
    )
    assert rows and all(1 <= row["rfm_m"] <= 5 for row in rows)
    for a in rows:
        assert a["rfm_segment"] == rfm_name(a["rfm_r"], a["rfm_f"], a["rfm_m"])
        for b in rows:
            if a["spent_minor"] > b["spent_minor"]:
                assert a["rfm_m"] >= b["rfm_m"]
            if a["spent_minor"] == b["spent_minor"]:
                assert a["rfm_m"] == b["rfm_m"]
            if a["receipts"] == b["receipts"]:
                assert a["rfm_f"] == b["rfm_f"]
            if a["last_purchase_at"] > b["last_purchase_at"]:
                assert a["rfm_r"] >= b["rfm_r"]
    top = max(rows, key=lambda row: row["spent_minor"])
    assert top["rfm_m"] == 5
    bottom = min(rows, key=lambda row: row["spent_minor"])
    assert bottom["rfm_m"] == 1
    never = await CustomerMetrics.filter(receipts=0).values_list("rfm_r", flat=True)
    assert all(score is None for score in never)


async def test_time_moves_customers_along_and_every_move_is_recorded(stack):
    store = await new_store()
    customer, card = await new_customer(city=secrets.token_hex(3))
    now = utcnow()
    for week in range(10):
        await buy(store, card, [item("Dairy/Milk", "20.00")], now - timedelta(days=7 * week + 1))
    assert (await CustomerMetrics.get(customer_id=customer.id)).stage == Stage.REGULAR

    await nightly_refresh(now + timedelta(days=20))
    metrics = await CustomerMetrics.get(customer_id=customer.id)
    assert metrics.stage == Stage.LAPSING
    await nightly_refresh(now + timedelta(days=60))
    assert (await CustomerMetrics.get(customer_id=customer.id)).stage == Stage.LAPSING
    await nightly_refresh(now + timedelta(days=125))
    assert (await CustomerMetrics.get(customer_id=customer.id)).stage == Stage.LOST

    moves = await StageChange.filter(customer_id=customer.id).order_by("id")
    assert [(m.from_stage, m.to_stage) for m in moves] == [
        ("registered", "new"),
        ("new", "regular"),
        ("regular", "lapsing"),
        ("lapsing", "lost"),
    ]
    # A purchase brings them straight back.
    await buy(
        store,
        card,
        [item("Dairy/Milk", "20.00")],
        now + timedelta(days=126),
        now=now + timedelta(days=126),
    )
    assert (await CustomerMetrics.get(customer_id=customer.id)).stage == Stage.REGULAR
    last = await StageChange.filter(customer_id=customer.id).order_by("-id").first()
    assert (last.from_stage, last.to_stage) == ("lost", "regular")
