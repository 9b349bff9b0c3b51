"""Recommendations: what similar customers buy, minus what one already has, never sensitive."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from crm_core.catalogue.service import TILL_AMOUNT_SKU
from crm_core.clock import utcnow
from crm_core.recommendations.service import mark_sensitive, recommend_for, refresh_clusters
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

pytestmark = pytest.mark.db


@pytest.fixture
async def shop(stack):
    """A catalogue of its own: Baby, Dairy, Health/Pregnancy (sensitive), Pharmacy
    (sensitive, but may be recommended to customers who buy there themselves)."""
    tag = secrets.token_hex(3)
    store = await new_store()
    now = utcnow()

    def product(category: str, name: str, price: str = "20.00"):
        top, _, rest = category.partition("/")
        path = f"{top}{tag}/{rest}" if rest else f"{top}{tag}"
        return item(path, price, sku=f"{name}-{tag}")

    baby, dairy = "Baby", "Dairy"
    b1, b2, b3 = (product(baby, n, "90.00") for n in ("Puree", "Porridge", "Wipes"))
    d1 = product(dairy, "Milk", "60.00")  # clearly everyone's second category: one cluster
    test = product("Health/Pregnancy", "PregnancyTest")
    vitamins = product("Pharmacy", "Vitamins")
    for _ in range(3):
        _, card = await new_customer("Parent")
        await buy(store, card, [b1, b2, b3, d1, test, vitamins], now - timedelta(days=3))
    for _ in range(5):  # a shop-wide best seller outside the cluster
        _, card = await new_customer("Neighbour")
        await buy(store, card, [product("Bakery", "Bread")], now - timedelta(days=1))
    _, target_card = await new_customer("Target")
    target = target_card.customer_id
    await buy(store, target_card, [b1, b1, d1], now - timedelta(days=2))
    _, pharmacy_card = await new_customer("PharmacyRegular")
    await buy(store, pharmacy_card, [b1, b1, d1, product("Pharmacy", "Plasters")], now)
    await mark_sensitive(f"Health{tag}", allow_own_history=False, now=now)
    await mark_sensitive(f"Pharmacy{tag}", allow_own_history=True, now=now)
    await refresh_clusters(now)
    return {
        "tag": tag,
        "target": target,
        "pharmacy_regular": pharmacy_card.customer_id,
        "names": lambda *names: [f"{n}-{tag}" for n in names],
    }


async def test_popular_in_the_cluster_and_not_bought_yet_comes_first(shop):
    chosen = (await recommend_for([shop["target"]]))[shop["target"]]
    assert len(chosen) == 3
    assert chosen[:2] == shop["names"]("Porridge", "Wipes")
    assert not set(chosen) & set(shop["names"]("Puree", "Milk"))  # bought already


async def test_sensitive_categories_are_never_recommended_from_other_peoples_baskets(shop):
    everyone = await recommend_for([shop["target"], shop["pharmacy_regular"]], limit=10)
    assert not set(everyone[shop["target"]]) & set(shop["names"]("PregnancyTest", "Vitamins"))
    # Pharmacy allows it for customers with their own history there; Health never.
    assert shop["names"]("Vitamins")[0] in everyone[shop["pharmacy_regular"]]
    assert shop["names"]("PregnancyTest")[0] not in everyone[shop["pharmacy_regular"]]


async def test_a_customer_without_history_gets_the_shops_best_sellers(shop):
    newcomer, _ = await new_customer("Newcomer")
    chosen = (await recommend_for([newcomer.id]))[newcomer.id]
    assert len(chosen) == 3
    assert not set(chosen) & set(shop["names"]("PregnancyTest"))


async def test_only_goods_in_a_category_are_offered(stack):
    """The till page records amounts as TILL-AMOUNT lines, which every shopper of a shop without
    till integration "buys": they must never come back as "You might like: Amount entered at
    the till". Nor may an uncategorised product, which no sensitive mark can be judged against."""
    tag = secrets.token_hex(3)
    store = await new_store()
    now = utcnow()
    amount = item(f"Grocery{tag}", "50.00", sku=TILL_AMOUNT_SKU)
    loose = item(None, "5.00", sku=f"Loose-{tag}")
    goods = item(f"Grocery{tag}/Tea", "30.00", sku=f"Tea-{tag}")
    for _ in range(40):  # far more buyers than any other test's products: shop-wide leaders
        _, card = await new_customer("Shopper")
        await buy(store, card, [amount, loose, goods], now - timedelta(hours=1))
    newcomer, _ = await new_customer("Newcomer")
    await refresh_clusters(now)

    offered = (await recommend_for([newcomer.id], limit=10))[newcomer.id]

    assert f"Tea-{tag}" in offered
    assert TILL_AMOUNT_SKU not in offered and f"Loose-{tag}" not in offered
