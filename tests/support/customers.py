"""Customers with cards and purchases, made through the real registration and till services."""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_core.cards.models import Card
from crm_core.cards.service import CardNumberPolicy
from crm_core.clock import utcnow
from crm_core.customers.models import Customer
from crm_core.customers.service import touch_identity
from crm_core.purchases.service import LineIn, PaymentIn, PurchaseIn, record_purchase
from crm_core.registration.service import NewCustomer, register_customer
from crm_core.stores.models import Store

_users = itertools.count(random.randint(10**11, 2 * 10**11))
_phones = itertools.count(random.randint(10**6, 5 * 10**6))
CARD_POLICY = CardNumberPolicy(prefix="2710")


async def new_customer(
    name: str = "Олена",
    channel: str = "telegram",
    consent: bool = True,
    now: datetime | None = None,
    **profile: Any,
) -> tuple[Customer, Card]:
    """A registered customer with an active card; `profile` sets optional demographics."""
    now = now or utcnow()
    user = str(next(_users))
    identity, _ = await touch_identity(channel, user, user, "uk", now)
    registration = await register_customer(
        identity,
        NewCustomer(
            first_name=name,
            phone=f"+38067{next(_phones):07d}",
            phone_confirmed=True,
            language="uk",
            marketing_consent=consent,
            consent_text_version="test-v1",
        ),
        "Europe/Kyiv",
        CARD_POLICY,
        now,
    )
    customer = registration.customer
    if profile:
        await Customer.filter(id=customer.id).update(**profile)
        await customer.refresh_from_db()
    return customer, registration.card


def item(
    category: str | None = "Dairy/Milk",
    price: str = "10.00",
    quantity: str = "1",
    sku: str | None = None,
) -> LineIn:
    total = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
    sku = sku or f"SKU-{(category or 'none').replace('/', '-')}"
    return LineIn(sku, sku, category, Decimal(quantity), Decimal(price), Decimal(0), total)


async def buy(
    store: Store,
    card: Card | None,
    lines: Sequence[LineIn],
    at: datetime,
    now: datetime | None = None,
) -> Any:
    total = sum((line.line_total for line in lines), Decimal(0))
    return await record_purchase(
        store,
        PurchaseIn(
            till="T1",
            receipt_id=f"R-{secrets.token_hex(6)}",
            purchased_at=at,
            card_code=card.number if card else None,
            lines=tuple(lines),
            total=total,
            payments=(PaymentIn("card", total),),
        ),
        now or utcnow(),
    )
