"""Recommendations over HTTP: rebuilt on request and after purchase imports (API and CLI)."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from crm_core.clock import utcnow
from crm_core.recommendations.service import recommend_for
from crm_core.staff.models import Role
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store

LOYALTY = str(Path(sys.executable).parent / "loyalty")


class Shop:
    """Parents who buy Baby{tag} then Dairy{tag}: a cluster of their own in the shared
    database, and a target customer in it who has bought only Puree and Milk."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def product(self, category: str, name: str, price: str = "20.00"):
        return item(f"{category}{self.tag}", price, sku=self.sku(name))

    def sku(self, name: str) -> str:
        return f"{name}-{self.tag}"

    async def build(self) -> Shop:
        self.store = await new_store()
        now = utcnow()
        self.parents = []
        for _ in range(3):
            _, card = await new_customer("Parent")
            self.parents.append(card)
            await buy(
                self.store,
                card,
                [self.product("Baby", "Puree", "90.00"), self.product("Dairy", "Milk", "30.00")],
                now - timedelta(days=2),
            )
        _, target = await new_customer("Target")
        await buy(
            self.store,
            target,
            [self.product("Baby", "Puree", "90.00"), self.product("Dairy", "Milk", "30.00")],
            now - timedelta(days=1),
        )
        self.target = target.customer_id
        return self

    async def offered(self) -> list[str]:
        return (await recommend_for([self.target], limit=20))[self.target]

    def receipt_lines(self, sku_name: str) -> str:
        """The parents buy `sku_name` in Baby{tag}: a CSV of receipt lines."""
        when = (utcnow() - timedelta(hours=3)).isoformat()
        rows = [
            f"{self.store.code},R-{self.tag}-{i},{when},{card.number},{self.sku(sku_name)},"
            f"{self.sku(sku_name)},Baby{self.tag},1,50.00,50.00"
            for i, card in enumerate(self.parents)
        ]
        header = "store,receipt_id,purchased_at,card_number,sku,name,category,quantity,"
        return header + "unit_price,line_total\n" + "\n".join(rows) + "\n"


@pytest.fixture
async def shop(stack) -> Shop:
    return await Shop(secrets.token_hex(3)).build()


async def test_refresh_rebuilds_now_and_says_what_it_built(stack, shop):
    marketer = bearer(await new_key(Role.MARKETER))
    first = await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)
    assert first.status_code == 200, first.text
    assert shop.sku("Wipes") not in await shop.offered()
    for card in shop.parents:  # at the till: not imported, so nothing rebuilds yet
        await buy(shop.store, card, [shop.product("Baby", "Wipes", "40.00")], utcnow())
    assert shop.sku("Wipes") not in await shop.offered()

    answer = await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)
    assert answer.status_code == 200, answer.text
    built = answer.json()
    assert built["products_ranked"] > 0 and built["shop_products"] > 0
    assert built["clusters"] >= 1 and built["categories"] >= 2
    assert built["customers_clustered"] >= 4
    assert built["refreshed_at"]
    assert (await shop.offered())[0] == shop.sku("Wipes")


async def test_refresh_is_for_marketers(stack):
    cashier = bearer(await new_key(Role.CASHIER, await new_store()))
    refused = await stack.client.post("/api/v1/recommendations/refresh", headers=cashier)
    assert refused.status_code == 403 and refused.json()["code"]


async def test_an_import_over_the_api_rebuilds_them(stack, shop):
    marketer = bearer(await new_key(Role.MARKETER))
    await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)
    answer = await stack.client.post(
        "/api/v1/imports/purchases",
        content=shop.receipt_lines("Bottle").encode(),
        headers={**marketer, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] == 3 and report["products_ranked"] > 0
    assert (await shop.offered())[0] == shop.sku("Bottle")


async def test_an_import_from_the_terminal_rebuilds_them(stack, shop, tmp_path):
    marketer = bearer(await new_key(Role.MARKETER))
    await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)
    lines = tmp_path / "lines.csv"
    lines.write_text(shop.receipt_lines("Rattle"), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        LOYALTY,
        "import",
        "purchases",
        str(lines),
        env={**os.environ, "DATABASE_URL": stack.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert "imported 3 (3 lines)" in output.decode()
    assert "recommendations rebuilt" in output.decode()
    assert (await shop.offered())[0] == shop.sku("Rattle")
