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
from crm_core.recommendations.service import mark_sensitive, recommend_for
from crm_core.staff.models import Role
from loyalty.api.recommendations import FAVOURITE, SHOP, SIMILAR_ONE, SIMILAR_TWO
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t

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


async def offered_over_http(stack, customer_id: int, language: str, limit: int = 5) -> list:
    marketer = bearer(await new_key(Role.MARKETER))
    answer = await stack.client.get(
        f"/api/v1/customers/{customer_id}/recommendations",
        params={"limit": limit},
        headers={**marketer, "Accept-Language": language},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["customer_id"] == customer_id
    return answer.json()["items"]


@pytest.mark.parametrize("language", ["uk", "en", "pl", "cs", "ru"])
async def test_a_customers_products_come_with_a_score_and_a_reason_in_the_callers_language(
    stack, shop, language
):
    for card in shop.parents:
        await buy(shop.store, card, [shop.product("Baby", "Porridge", "15.00")], utcnow())
    _, loner = await new_customer("Loner")  # buys only Dairy: a cluster of two
    await buy(shop.store, loner, [shop.product("Dairy", "Cream", "25.00")], utcnow())
    _, other = await new_customer("Other")
    await buy(shop.store, other, [shop.product("Dairy", "Kefir", "25.00")], utcnow())
    marketer = bearer(await new_key(Role.MARKETER))
    assert (await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)).is_success

    items = await offered_over_http(stack, shop.target, language)
    assert len(items) == 5
    first = items[0]
    assert (first["sku"], first["name"]) == (shop.sku("Porridge"), shop.sku("Porridge"))
    assert first["category_path"] == f"Baby{shop.tag}"
    baby, dairy = f"Baby{shop.tag}", f"Dairy{shop.tag}"
    assert first["reason"] == {
        "code": "similar_customers",
        "text": t(language, SIMILAR_TWO, first=baby, second=dairy),
        "categories": [baby, dairy],
    }
    assert first["score"] > 0.667
    # Nothing else new in the cluster or in Baby: the shop's best sellers fill the list.
    for rest in items[1:]:
        assert rest["reason"] == {
            "code": "shop_best_seller",
            "text": t(language, SHOP),
            "categories": [],
        }
    scores = [product["score"] for product in items]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= 0.333
    assert not {shop.sku("Puree"), shop.sku("Milk")} & {p["sku"] for p in items}  # bought

    alone = await offered_over_http(stack, loner.customer_id, language, limit=2)
    assert [p["sku"] for p in alone] == [shop.sku("Kefir"), shop.sku("Milk")]
    assert alone[0]["reason"] == {  # the other customer who buys only Dairy bought it
        "code": "similar_customers",
        "text": t(language, SIMILAR_ONE, first=dairy),
        "categories": [dairy],
    }
    assert alone[1]["reason"] == {  # then her favourite category's best seller
        "code": "favourite_category",
        "text": t(language, FAVOURITE, category=dairy),
        "categories": [dairy],
    }
    assert 0.333 < alone[1]["score"] <= 0.667  # (1/3, 2/3], to three decimals


async def test_the_limit_is_checked(stack, shop):
    marketer = bearer(await new_key(Role.MARKETER))
    path = f"/api/v1/customers/{shop.target}/recommendations"
    for limit in (0, 21, "many"):
        refused = await stack.client.get(path, params={"limit": limit}, headers=marketer)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] and refused.json()["detail"]
    assert len(await offered_over_http(stack, shop.target, "uk", limit=20)) <= 20
    assert len(await offered_over_http(stack, shop.target, "uk", limit=1)) == 1
    default = await stack.client.get(path, headers=marketer)
    assert default.status_code == 200 and len(default.json()["items"]) == 3


async def test_unknown_and_erased_customers_answer_404_and_410(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    unknown = await stack.client.get(
        "/api/v1/customers/987654321/recommendations", headers=marketer
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "customer_not_found"
    leaving, _ = await new_customer("Leaving")
    assert (
        await stack.client.delete(f"/api/v1/customers/{leaving.id}", headers=marketer)
    ).status_code == 204
    gone = await stack.client.get(f"/api/v1/customers/{leaving.id}/recommendations",
                                  headers=marketer)  # fmt: skip
    assert gone.status_code == 410 and gone.json()["code"] == "customer_erased"
    cashier = bearer(await new_key(Role.CASHIER, await new_store()))
    refused = await stack.client.get(
        f"/api/v1/customers/{leaving.id}/recommendations", headers=cashier
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("child_first", [True, False])
async def test_sensitive_categories_hold_in_the_answer(stack, child_first):
    """Health allows offers from a customer's own history; Health/Pregnancy never does, in
    whichever order they were marked. Everyone in the cluster bought a pregnancy test."""
    shop = await Shop(secrets.token_hex(3)).build()
    for card in shop.parents:
        await buy(
            shop.store,
            card,
            [
                shop.product("Health", "Vitamins", "5.00"),
                item(f"Health{shop.tag}/Pregnancy", "5.00", sku=shop.sku("PregnancyTest")),
            ],
            utcnow(),
        )
    _, regular = await new_customer("HealthRegular")  # buys in Health herself
    await buy(
        shop.store,
        regular,
        [
            shop.product("Baby", "Puree", "90.00"),
            shop.product("Dairy", "Milk", "30.00"),
            item(f"Health{shop.tag}/Plasters", "5.00", sku=shop.sku("Plasters")),
        ],
        utcnow(),
    )
    marks = [(f"Health{shop.tag}", True), (f"Health{shop.tag}/Pregnancy", False)]
    for path, own_history in reversed(marks) if child_first else marks:
        await mark_sensitive(path, allow_own_history=own_history, now=utcnow())
    marketer = bearer(await new_key(Role.MARKETER))
    assert (await stack.client.post("/api/v1/recommendations/refresh", headers=marketer)).is_success

    target = {p["sku"] for p in await offered_over_http(stack, shop.target, "en", limit=20)}
    assert not {shop.sku("Vitamins"), shop.sku("PregnancyTest")} & target
    own = await offered_over_http(stack, regular.customer_id, "en", limit=20)
    assert own[0]["sku"] == shop.sku("Vitamins")  # allowed: she buys in Health herself
    assert shop.sku("PregnancyTest") not in {p["sku"] for p in own}


@pytest.mark.postgres_only
async def test_refreshes_at_the_same_time_all_succeed(stack, shop):
    """Each rebuild deletes the ranks and writes them again: at once, they would collide on
    (cluster_key, rank) without waiting for each other."""
    marketer = bearer(await new_key(Role.MARKETER))
    answers = await asyncio.gather(
        *(stack.client.post("/api/v1/recommendations/refresh", headers=marketer) for _ in range(6))
    )
    assert [answer.status_code for answer in answers] == [200] * 6, [a.text for a in answers]
    assert len({answer.json()["products_ranked"] for answer in answers}) == 1
