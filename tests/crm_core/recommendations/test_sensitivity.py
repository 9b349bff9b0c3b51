"""Nested sensitive marks: the most specific category's mark decides, in whatever order made."""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

import pytest

from crm_core.clock import utcnow
from crm_core.recommendations.sensitivity import SensitiveMark, SensitivityRules
from crm_core.recommendations.service import mark_sensitive, recommend_for, refresh_clusters
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

HEALTH = SensitiveMark("Health", allow_own_history=True)
PREGNANCY = SensitiveMark("Health/Pregnancy", allow_own_history=False)
TESTS = SensitiveMark("Health/Pregnancy/Tests", allow_own_history=True)
THREE_LEVELS = (HEALTH, PREGNANCY, TESTS)


@pytest.mark.parametrize("marks", list(itertools.permutations(THREE_LEVELS)))
def test_the_deepest_mark_over_a_product_decides_whatever_the_order(marks):
    rules = SensitivityRules(marks)
    assert rules.mark_for("Health/Vitamins") == HEALTH
    assert rules.mark_for("Health/Pregnancy/Vitamins") == PREGNANCY
    assert rules.mark_for("Health/Pregnancy/Tests/Digital") == TESTS
    assert rules.mark_for("Healthy snacks") is None


@pytest.mark.parametrize("marks", list(itertools.permutations(THREE_LEVELS)))
def test_own_history_counts_only_inside_the_deciding_category(marks):
    rules = SensitivityRules(marks)
    vitamins_buyer = ["Health/Vitamins"]
    assert rules.allows("Health/Plasters", vitamins_buyer)
    # Pregnancy says never, even to a customer with Health history or Pregnancy history.
    assert not rules.allows("Health/Pregnancy/Folic acid", vitamins_buyer)
    assert not rules.allows("Health/Pregnancy/Folic acid", ["Health/Pregnancy/Folic acid"])
    # Tests allow own history, but only history in Tests: Health history is not enough.
    assert not rules.allows("Health/Pregnancy/Tests/Strip", vitamins_buyer)
    assert rules.allows("Health/Pregnancy/Tests/Strip", ["Health/Pregnancy/Tests/Digital"])
    # Nothing marked: offered to anyone.
    assert rules.allows("Bakery/Bread", [])


@pytest.mark.db
@pytest.mark.parametrize("parent_first", [True, False], ids=["parent-first", "child-first"])
async def test_a_never_mark_under_an_own_history_mark_holds_in_recommendations(stack, parent_first):
    """The creepy offer: Health allowed from own history, Health/Pregnancy never. A Health
    regular must not be offered pregnancy products other shoppers buy."""
    tag = secrets.token_hex(3)
    store = await new_store()
    now = utcnow()
    health, pregnancy = f"Health{tag}", f"Health{tag}/Pregnancy"
    plasters = item(health, "30.00", sku=f"Plasters-{tag}")
    bandage = item(health, "30.00", sku=f"Bandage-{tag}")
    test = item(pregnancy, "40.00", sku=f"PregnancyTest-{tag}")
    for _ in range(4):
        _, card = await new_customer("Shopper")
        await buy(store, card, [plasters, bandage, test], now - timedelta(days=2))
    _, regular = await new_customer("HealthRegular")
    await buy(store, regular, [plasters], now - timedelta(days=1))
    marks = [(health, True), (pregnancy, False)]
    for path, own in marks if parent_first else reversed(marks):
        await mark_sensitive(path, allow_own_history=own, now=now)
    await refresh_clusters(now)

    offered = (await recommend_for([regular.customer_id], limit=10))[regular.customer_id]

    assert f"Bandage-{tag}" in offered  # Health allows it: the regular buys there
    assert f"PregnancyTest-{tag}" not in offered
