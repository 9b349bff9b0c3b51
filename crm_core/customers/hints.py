"""Short facts for the cashier: what is worth saying to this customer at the till today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from crm_core.customers.models import Customer
from crm_core.purchases.models import Purchase
from crm_core.vouchers.models import Voucher

LONG_ABSENCE = timedelta(days=60)
NEW_CUSTOMER = timedelta(days=14)
EXPIRING_SOON = timedelta(days=3)


class HintKind(StrEnum):
    FIRST_PURCHASE = "first_purchase"
    WELCOME_BACK = "welcome_back"
    NEW_CUSTOMER = "new_customer"
    VOUCHER_EXPIRES_SOON = "voucher_expires_soon"


@dataclass(frozen=True)
class Hint:
    kind: HintKind
    values: dict[str, str]


async def hints_for(customer: Customer, vouchers: list[Voucher], now: datetime) -> list[Hint]:
    hints: list[Hint] = []
    latest = (
        await Purchase.filter(customer_id=customer.id)
        .order_by("-purchased_at")
        .limit(1)
        .values_list("purchased_at", flat=True)
    )
    last = latest[0] if latest else None
    if last is None:
        hints.append(Hint(HintKind.FIRST_PURCHASE, {}))
    elif now - last >= LONG_ABSENCE:
        hints.append(Hint(HintKind.WELCOME_BACK, {"days": str((now - last).days)}))
    if now - customer.created_at <= NEW_CUSTOMER:
        hints.append(Hint(HintKind.NEW_CUSTOMER, {}))
    for voucher in vouchers:
        if voucher.valid_from <= now and voucher.valid_until - now <= EXPIRING_SOON:
            hints.append(Hint(HintKind.VOUCHER_EXPIRES_SOON, {"title": voucher.title}))
    return hints
