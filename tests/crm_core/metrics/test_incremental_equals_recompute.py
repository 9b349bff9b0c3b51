"""Metrics kept current receipt by receipt equal a full rebuild from the purchase history.

Property-based: Hypothesis draws random sequences of purchases (several categories, weighed
and counted quantities) and refunds (whole receipts, parts of lines), on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.metrics.models import CategorySpend, CustomerMetrics
from crm_core.metrics.service import recompute_customers
from crm_core.purchases.models import PurchaseLine
from crm_core.purchases.service import PurchaseRejected, RefundLineIn, refund_purchase
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CATEGORIES = ["Dairy/Milk", "Dairy/Cheese/Hard", "Baby/Food", "Pets", None]
QUANTITIES = ["1", "2", "3", "0.5", "1.234", "0.333"]

lines = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.integers(min_value=1, max_value=99_999).map(lambda cents: f"{cents / 100:.2f}"),
        st.sampled_from(QUANTITIES),
    ),
    min_size=1,
    max_size=4,
)
purchase = st.tuples(st.just("buy"), st.integers(min_value=0, max_value=400), lines)
refund = st.tuples(
    st.just("refund"),
    st.integers(min_value=0, max_value=50),
    st.one_of(st.none(), st.sampled_from(["0.5", "1", "0.001", "0.111"])),
)
operations = st.lists(st.one_of(purchase, purchase, refund), min_size=1, max_size=12)


async def snapshot(customer_id: int) -> dict:
    metrics = await CustomerMetrics.filter(customer_id=customer_id).values(
        "receipts",
        "spent_minor",
        "items_milli",
        "first_purchase_at",
        "last_purchase_at",
        "favourite_category_id",
        "stage",
    )
    spend = (
        await CategorySpend.filter(customer_id=customer_id)
        .order_by("category_id")
        .values("category_id", "spent_minor", "lines")
    )
    return {"metrics": metrics[0] if metrics else None, "spend": spend}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations)
async def test_incremental_metrics_equal_a_full_rebuild(stack, ops):
    store = await new_store()
    customer, card = await new_customer()
    receipts = []
    for op in ops:
        if op[0] == "buy":
            _, days_ago, drawn = op
            at = NOW - timedelta(days=days_ago, minutes=len(receipts))
            recorded = await buy(store, card, [item(c, p, q) for c, p, q in drawn], at, now=NOW)
            receipts.append(recorded.purchase)
        elif receipts:
            _, which, quantity = op
            target = receipts[which % len(receipts)]
            wanted = None
            if quantity is not None:
                first = await PurchaseLine.filter(purchase_id=target.id).order_by("line_no").first()
                wanted = (RefundLineIn(first.line_no, Decimal(quantity)),)
            try:
                await refund_purchase(
                    store, target.id, f"F-{len(receipts)}-{which}-{quantity}-{op}", wanted, NOW
                )
            except PurchaseRejected:
                pass  # more than is left, or nothing left: refused, metrics untouched
    incremental = await snapshot(customer.id)
    await recompute_customers(NOW, [customer.id])
    rebuilt = await snapshot(customer.id)
    if incremental["metrics"] is None:  # never bought: the rebuild finds a registered customer
        assert rebuilt["metrics"]["receipts"] == 0 and rebuilt["metrics"]["stage"] == "registered"
        return
    assert incremental == rebuilt
    kept = [r.id for r in receipts]
    still_counted = (
        await PurchaseLine.filter(purchase_id__in=kept)
        .exclude(purchase__status="refunded")
        .distinct()
        .values_list("purchase_id", flat=True)
    )
    assert incremental["metrics"]["receipts"] == len(set(still_counted))
