"""One customer as the marketer sees them, their purchase history, and the GDPR inventory."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.cards.models import Card
from crm_core.churn.models import CustomerPrediction
from crm_core.churn.service import prediction_of
from crm_core.consents.models import Consent
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.events.models import CustomerEvent
from crm_core.metrics.models import CategorySpend, CustomerMetrics, StageChange
from crm_core.profiles.models import CustomFieldValue, Preference
from crm_core.profiles.service import field_values_of
from crm_core.purchases.models import Purchase, PurchaseLine, Refund
from crm_core.segments.models import MembershipChange, SegmentMember
from crm_core.vouchers.models import Voucher, VoucherRedemption


class CustomerNotFound(LookupError):
    pass


class CustomerErased(CustomerNotFound):
    """The customer existed and was erased (or merged into another): when, and into whom."""

    def __init__(self, customer_id: int, erased_at: datetime, merged_into: int | None) -> None:
        super().__init__(customer_id)
        self.erased_at = erased_at
        self.merged_into = merged_into


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _money(minor: int | None) -> str:
    return f"{Decimal(minor or 0) / 100:.2f}"


async def live_customer(customer_id: int) -> Customer:
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    if customer.erased_at is not None:
        raise CustomerErased(customer_id, customer.erased_at, customer.merged_into_id)
    return customer


async def metrics_of(customer_id: int) -> dict[str, Any]:
    metrics = await CustomerMetrics.get_or_none(customer_id=customer_id).select_related(
        "favourite_category"
    )
    spend = await CategorySpend.filter(customer_id=customer_id).select_related("category")
    if metrics is None or metrics.receipts <= 0:
        receipts, spent, items = 0, 0, 0
    else:
        receipts, spent, items = metrics.receipts, metrics.spent_minor, metrics.items_milli
    first = metrics.first_purchase_at if metrics else None
    last = metrics.last_purchase_at if metrics else None
    typical = None
    if receipts >= 2 and first and last:
        typical = round((last - first).total_seconds() / 86400 / (receipts - 1), 1)
    favourite = metrics.favourite_category if metrics else None
    return {
        "receipts": receipts,
        "total_spent": _money(spent),
        "average_basket": _money(spent // receipts) if receipts else None,
        "average_items": round(items / 1000 / receipts, 2) if receipts else None,
        "first_purchase_at": _plain(first),
        "last_purchase_at": _plain(last),
        "days_since_last_purchase": None,
        "typical_days_between_purchases": typical,
        "favourite_category": favourite.path if favourite else None,  # type: ignore[union-attr]
        "spend_by_category": {
            row.category.path: _money(row.spent_minor)  # type: ignore[attr-defined]
            for row in sorted(spend, key=lambda r: -r.spent_minor)
        },
        "rfm": None
        if metrics is None or metrics.rfm_r is None
        else {
            "r": metrics.rfm_r,
            "f": metrics.rfm_f,
            "m": metrics.rfm_m,
            "segment": metrics.rfm_segment,
            "computed_at": _plain(metrics.rfm_at),
        },
        "lifecycle": {
            "stage": metrics.stage if metrics else "registered",
            "since": _plain(metrics.stage_since if metrics else None),
        },
    }


async def full_profile(customer_id: int, now: datetime) -> dict[str, Any]:
    customer = await live_customer(customer_id)
    metrics = await metrics_of(customer_id)
    if metrics["last_purchase_at"]:
        last = datetime.fromisoformat(metrics["last_purchase_at"])
        metrics["days_since_last_purchase"] = (now - last).days
    identities = await ChannelIdentity.filter(customer_id=customer_id).order_by("id")
    consents = await Consent.filter(customer_id=customer_id).order_by("recorded_at", "id")
    cards = await Card.filter(customer_id=customer_id).order_by("id")
    stages = await StageChange.filter(customer_id=customer_id).order_by("changed_at", "id")
    preferences = await Preference.filter(customer_id=customer_id).order_by("answered_at", "id")
    memberships = await SegmentMember.filter(customer_id=customer_id).select_related("segment")
    events = await CustomerEvent.filter(customer_id=customer_id).order_by("-occurred_at").limit(50)
    return {
        "id": customer.id,
        "first_name": customer.first_name,
        "phone": customer.phone,
        "birth_date": _plain(customer.birth_date),
        "gender": customer.gender,
        "city": customer.city,
        "language": customer.language,
        "timezone": customer.timezone,
        "registered_at": _plain(customer.created_at),
        "marketing_consent": customer.marketing_consent,
        "channels": [
            {
                "channel": i.channel,
                "reachable": i.reachable,
                "language": i.language,
                "last_seen_at": _plain(i.last_seen_at),
            }
            for i in identities
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "channel": c.channel,
                "text_version": c.text_version,
                "recorded_at": _plain(c.recorded_at),
            }
            for c in consents
        ],
        "cards": [
            {"number": c.number, "status": c.status, "issued_at": _plain(c.issued_at)}
            for c in cards
        ],
        "custom_fields": await field_values_of(customer_id),
        "preferences": [
            {
                "question": p.question,
                "answer": p.answer.get("value") if isinstance(p.answer, dict) else p.answer,
                "channel": p.channel,
                "answered_at": _plain(p.answered_at),
            }
            for p in preferences
        ],
        "metrics": metrics,
        "predictions": await prediction_of(customer_id),
        "lifecycle_history": [
            {"from": s.from_stage, "to": s.to_stage, "at": _plain(s.changed_at)} for s in stages
        ],
        "segments": sorted(
            (
                {
                    "id": m.segment_id,  # type: ignore[attr-defined]
                    "name": m.segment.name,  # type: ignore[attr-defined]
                    "entered_at": _plain(m.entered_at),
                }
                for m in memberships
            ),
            key=lambda s: s["id"],
        ),
        "recent_events": [
            {"kind": e.kind, "channel": e.channel, "at": _plain(e.occurred_at), "data": e.data}
            for e in events
        ],
    }


async def purchase_history(
    customer_id: int, before_id: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest receipts first, with lines and refunds; the next page starts before the last id."""
    await live_customer(customer_id)
    query = Purchase.filter(customer_id=customer_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    size = max(1, min(limit, 200))
    purchases = await query.order_by("-id").limit(size + 1).select_related("store")
    more = len(purchases) > size
    purchases = purchases[:size]
    ids = [p.id for p in purchases]
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in (
        await PurchaseLine.filter(purchase_id__in=ids)
        .order_by("purchase_id", "line_no")
        .select_related("product", "category")
        if ids
        else []
    ):
        lines.setdefault(line.purchase_id, []).append(  # type: ignore[attr-defined]
            {
                "line_no": line.line_no,
                "sku": line.product.sku,  # type: ignore[attr-defined]
                "name": line.product.name,  # type: ignore[attr-defined]
                "category": line.category.path if line.category else None,  # type: ignore[attr-defined]
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
                "refunded_quantity": str(line.refunded_quantity),
            }
        )
    items = [
        {
            "id": p.id,
            "store": p.store.code,  # type: ignore[attr-defined]
            "receipt_id": p.receipt_id,
            "purchased_at": _plain(p.purchased_at),
            "currency": p.currency,
            "total": str(p.total),
            "refunded_total": str(p.refunded_total),
            "status": p.status,
            "lines": lines.get(p.id, []),
        }
        for p in purchases
    ]
    return items, (purchases[-1].id if more else None)


async def data_inventory(customer_id: int, now: datetime) -> dict[str, Any]:
    """Everything stored about one customer, table by table (the right of access)."""
    profile = await full_profile(customer_id, now)
    purchases, _ = await purchase_history(customer_id, limit=200)
    refunds = await Refund.filter(purchase__customer_id=customer_id).values(
        "purchase_id", "refund_id", "amount", "created_at"
    )
    vouchers = await Voucher.filter(customer_id=customer_id).values(
        "code", "title", "kind", "value", "status", "valid_until", "created_at"
    )
    redemptions = await VoucherRedemption.filter(customer_id=customer_id).values(
        "receipt_id", "discount", "redeemed_at", "cancelled_at"
    )
    events = (
        await CustomerEvent.filter(customer_id=customer_id)
        .order_by("occurred_at")
        .values("kind", "channel", "data", "occurred_at")
    )
    segment_log = (
        await MembershipChange.filter(customer_id=customer_id)
        .order_by("at")
        .values("segment_id", "event", "at")
    )
    return {
        "profile": profile,
        "purchases": purchases,
        "refunds": [{k: _plain(v) for k, v in row.items()} for row in refunds],
        "vouchers": [{k: _plain(v) for k, v in row.items()} for row in vouchers],
        "voucher_redemptions": [{k: _plain(v) for k, v in row.items()} for row in redemptions],
        "events": [{k: _plain(v) for k, v in row.items()} for row in events],
        "segment_history": [{k: _plain(v) for k, v in row.items()} for row in segment_log],
    }


async def erase_profile_data(customer_id: int, connection: BaseDBAsyncClient) -> None:
    """The CRM part of erasure: demographics, custom fields, survey answers, behaviour events
    and current segment memberships go; purchase figures stay as anonymous statistics."""
    await (
        Customer.filter(id=customer_id)
        .using_db(connection)
        .update(birth_date=None, gender=None, city=None)
    )
    await CustomFieldValue.filter(customer_id=customer_id).using_db(connection).delete()
    await Preference.filter(customer_id=customer_id).using_db(connection).delete()
    await CustomerEvent.filter(customer_id=customer_id).using_db(connection).delete()
    await SegmentMember.filter(customer_id=customer_id).using_db(connection).delete()
    await CustomerPrediction.filter(customer_id=customer_id).using_db(connection).delete()
