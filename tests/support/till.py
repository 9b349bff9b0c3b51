"""A cashier at a till: a store, a cashier key, and helpers to build receipts and baskets."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from crm_core.cards.models import Card
from crm_core.customers.models import ChannelIdentity
from crm_core.staff.models import Role
from crm_core.stores.models import Store
from tests.support.staff import bearer, new_key, new_store
from tests.support.telegram_chat import TelegramChat

_receipts = itertools.count(random.randint(10**6, 10**7))
_users = itertools.count(random.randint(8 * 10**11, 9 * 10**11))


def receipt_id() -> str:
    return f"R-{next(_receipts)}"


def line(
    sku: str = "MILK-1L",
    price: str = "42.50",
    quantity: str = "1",
    category: tuple[str, ...] = ("Dairy", "Milk"),
    discount: str = "0.00",
    name: str | None = None,
) -> dict[str, Any]:
    total = (Decimal(quantity) * Decimal(price) - Decimal(discount)).quantize(Decimal("0.01"))
    return {
        "sku": sku,
        "name": name or sku.title(),
        "category_path": list(category),
        "quantity": quantity,
        "unit_price": price,
        "discount": discount,
        "line_total": str(total),
    }


def receipt(lines: list[dict[str, Any]], card: str | None = None, **extra: Any) -> dict[str, Any]:
    total = sum(Decimal(item["line_total"]) for item in lines)
    body = {
        "receipt_id": receipt_id(),
        "purchased_at": "2026-11-22T10:15:00+02:00",
        "lines": lines,
        "total": str(total),
        "payments": [{"method": "card", "amount": str(total)}],
    }
    if card:
        body["card"] = card
    body.update(extra)
    return body


def basket(lines: list[dict[str, Any]], card: str | None = None, **extra: Any) -> dict[str, Any]:
    total = sum(Decimal(item["line_total"]) for item in lines)
    body: dict[str, Any] = {
        "total": str(total),
        "lines": [
            {k: item[k] for k in ("sku", "category_path", "quantity", "unit_price", "line_total")}
            for item in lines
        ],
    }
    if card:
        body["card"] = card
    body.update(extra)
    return body


@dataclass
class Till:
    stack: Any
    store: Store
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.stack.client.get(path, headers=self.headers, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.stack.client.post(path, json=body, headers=headers, **kwargs)

    async def scan(self, code: str, language: str | None = None) -> httpx.Response:
        headers = {**self.headers, **({"Accept-Language": language} if language else {})}
        return await self.stack.client.get(f"/api/v1/pos/cards/{code}", headers=headers)


async def open_till(stack: Any, currency: str = "UAH", timezone: str = "Europe/Kyiv") -> Till:
    store = await new_store(currency, timezone)
    return Till(stack, store, await new_key(Role.CASHIER, store))


async def customer_with_card(stack: Any, name: str = "Олена") -> tuple[TelegramChat, Card]:
    chat = TelegramChat(stack, next(_users))
    await chat.register(name, f"+38091{random.randint(1000000, 9999999)}")
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    return chat, await Card.get(customer_id=identity.customer_id)
