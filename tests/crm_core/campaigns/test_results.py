"""Results: delivery counts, vouchers, and purchases of treatment and control in the window."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from crm_core.campaigns.models import Group, MessageState, OutboxMessage
from crm_core.campaigns.results import campaign_results
from crm_core.campaigns.service import CampaignIn, create_campaign, schedule_campaign, start_run
from crm_core.campaigns.stats import Verdict
from crm_core.segments.models import SegmentKind
from crm_core.segments.service import create_segment
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

pytestmark = pytest.mark.db
FIRE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


async def test_results_count_purchases_of_both_groups_within_the_window(stack):
    city = f"Results-{secrets.token_hex(4)}"
    store = await new_store()
    cards = {}
    for index in range(40):
        customer, card = await new_customer(f"C{index}", city=city, now=FIRE - timedelta(days=30))
        cards[customer.id] = card
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        FIRE,
    )
    campaign = await create_campaign(
        CampaignIn(
            name="Results",
            segment_id=segment.id,
            messages={"uk": {"text": "Привіт"}},
            default_language="uk",
            schedule={"kind": "once", "at": FIRE.isoformat()},
            control_percent=50,
        ),
        ("uk",),
        "Europe/Kyiv",
        FIRE,
    )
    await schedule_campaign(campaign, FIRE)
    run = await start_run(campaign, FIRE, FIRE)
    rows = await OutboxMessage.filter(run_id=run.id)
    treated = [r.customer_id for r in rows if r.group == Group.TREATMENT]
    control = [r.customer_id for r in rows if r.group == Group.CONTROL]
    assert treated and control and len(treated) + len(control) == 40
    # Two treated customers were sent their message; one failed.
    await OutboxMessage.filter(customer_id=treated[0], run_id=run.id).update(
        state=MessageState.SENT, sent_at=FIRE, delivered_at=FIRE, seen_at=FIRE
    )
    await OutboxMessage.filter(customer_id=treated[1], run_id=run.id).update(
        state=MessageState.SENT, sent_at=FIRE, delivered_at=FIRE
    )
    await OutboxMessage.filter(customer_id=treated[2], run_id=run.id).update(
        state=MessageState.FAILED, reason="unreachable"
    )
    # Purchases: two treated buy (one twice), one control buys; others outside the window.
    await buy(store, cards[treated[0]], [item(price="100.00")], FIRE + timedelta(days=1))
    await buy(store, cards[treated[0]], [item(price="50.00")], FIRE + timedelta(days=13))
    await buy(store, cards[treated[1]], [item(price="30.00")], FIRE + timedelta(hours=2))
    await buy(store, cards[control[0]], [item(price="40.00")], FIRE + timedelta(days=2))
    await buy(store, cards[control[1]], [item(price="999.00")], FIRE - timedelta(days=1))
    await buy(store, cards[treated[3]], [item(price="999.00")], FIRE + timedelta(days=15))

    results = await campaign_results(campaign.id, FIRE + timedelta(days=20), 14)

    assert results.runs == 1
    assert (results.recipients, results.control) == (len(treated), len(control))
    assert results.states[MessageState.SENT] == 2
    assert results.failed == {"unreachable": 1}
    assert (results.delivered, results.seen) == (2, 1)
    t, c = results.treatment_figures, results.control_figures
    assert (t.converted, t.purchases, t.revenue) == (2, 3, 180.0)
    assert (c.converted, c.purchases, c.revenue) == (1, 1, 40.0)
    assert results.conversion.treatment == pytest.approx(2 / len(treated))
    assert results.conversion.control == pytest.approx(1 / len(control))
    assert results.revenue.treatment == pytest.approx(180 / len(treated))
    # 20 customers per group and three buyers: far too little to call.
    assert results.conversion.verdict is Verdict.NOT_ENOUGH_DATA
    assert results.revenue.verdict is Verdict.NOT_ENOUGH_DATA
