"""Every condition type and operator selects exactly the customers it should, on both databases.

Each case is a rule and the names of the cohort's customers it must select (see cohort.py:
Anna buys baby food, Bohdan once bought pet food long ago and opted out, Chrystia never
bought, Dmytro buys milk weekly; an erased customer never appears).
"""

from __future__ import annotations

import pytest

from tests.crm_core.segments.cohort import Cohort, build_cohort

EVERYONE = {"anna", "bohdan", "chrystia", "dmytro"}


@pytest.fixture(scope="module")
async def cohort(stack) -> Cohort:
    return await build_cohort()


def profile(field: str, op: str, value=None) -> dict:
    node = {"type": "profile", "field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


def custom(key: str, op: str, value=None) -> dict:
    node = {"type": "custom_field", "field": key, "op": op}
    if value is not None:
        node["value"] = value
    return node


def metric(name: str, op: str, value=None, **extra) -> dict:
    node = {"type": "metric", "metric": name, "op": op, **extra}
    if value is not None:
        node["value"] = value
    return node


async def inside(cohort: Cohort, rule: dict) -> set[str]:
    """The rule, limited to the cohort (its customers' cities carry the cohort's tag)."""
    in_cohort = {"type": "profile", "field": "city", "op": "contains", "value": cohort.tag}
    return await cohort.select({"all": [in_cohort, rule]})


PROFILE_CASES = [
    (lambda c: profile("city", "eq", c.city("kyiv")), {"anna", "chrystia"}),
    (lambda c: profile("city", "ne", c.city("Kyiv")), {"bohdan", "dmytro"}),
    (lambda c: profile("city", "in", [c.city("Lviv"), c.city("Odesa")]), {"bohdan", "dmytro"}),
    (lambda c: profile("city", "not_in", [c.city("Lviv")]), {"anna", "chrystia", "dmytro"}),
    (lambda c: profile("city", "starts_with", "ly"), set()),
    (lambda c: profile("city", "starts_with", "lv"), {"bohdan"}),
    (lambda c: profile("gender", "eq", "female"), {"anna"}),
    (lambda c: profile("gender", "is_not_set"), {"chrystia", "dmytro"}),
    (lambda c: profile("gender", "is_set"), {"anna", "bohdan"}),
    (lambda c: profile("language", "in", ["en", "pl"]), {"bohdan", "chrystia"}),
    (lambda c: profile("birth_date", "lt", "1970-01-01"), {"dmytro"}),
    (lambda c: profile("birth_date", "between", ["1980-01-01", "1995-12-31"]), {"anna"}),
    (lambda c: profile("age", "gte", 30), {"anna", "dmytro"}),
    (lambda c: profile("age", "lt", 30), {"bohdan"}),
    (lambda c: profile("age", "eq", 26), {"bohdan"}),
    (lambda c: profile("age", "between", [20, 40]), {"anna", "bohdan"}),
    (lambda c: profile("days_since_registration", "lte", 1), EVERYONE),
    (lambda c: profile("has_phone", "eq", True), EVERYONE),
]


@pytest.mark.parametrize(("rule", "expected"), PROFILE_CASES)
async def test_profile_conditions(cohort, rule, expected):
    assert await inside(cohort, rule(cohort)) == expected


CUSTOM_CASES = [
    (lambda t: custom(f"pet_{t}", "eq", "dog"), {"anna"}),
    (lambda t: custom(f"pet_{t}", "ne", "dog"), {"bohdan"}),
    (lambda t: custom(f"pet_{t}", "in", ["dog", "cat"]), {"anna", "bohdan"}),
    (lambda t: custom(f"pet_{t}", "is_not_set"), {"chrystia", "dmytro"}),
    (lambda t: custom(f"kids_{t}", "gte", 2), {"anna", "dmytro"}),
    (lambda t: custom(f"kids_{t}", "gt", 2), {"dmytro"}),
    (lambda t: custom(f"kids_{t}", "eq", 0), {"bohdan"}),
    (lambda t: custom(f"kids_{t}", "between", ["0.5", 3]), {"anna"}),
    (lambda t: custom(f"vip_{t}", "eq", True), {"anna"}),
    (lambda t: custom(f"vip_{t}", "eq", False), {"bohdan"}),
    (lambda t: custom(f"vip_{t}", "is_set"), {"anna", "bohdan"}),
    (lambda t: custom(f"since_{t}", "lt", "2023-01-01"), {"anna"}),
    (lambda t: custom(f"since_{t}", "gte", "2020-03-01"), {"anna", "dmytro"}),
    (lambda t: custom(f"note_{t}", "contains", "organic"), {"anna"}),
    (lambda t: custom(f"note_{t}", "contains", "100%"), set()),
]


@pytest.mark.parametrize(("rule", "expected"), CUSTOM_CASES)
async def test_custom_field_conditions(cohort, rule, expected):
    assert await inside(cohort, rule(cohort.tag)) == expected


CONSENT_AND_CHANNEL_CASES = [
    ({"type": "consent", "purpose": "marketing", "granted": True}, {"anna", "chrystia", "dmytro"}),
    ({"type": "consent", "granted": False}, {"bohdan"}),
    ({"type": "channel", "channel": "telegram"}, {"anna", "dmytro"}),
    ({"type": "channel", "channel": "viber"}, set()),  # Bohdan blocked the bot
    ({"type": "channel", "channel": "viber", "reachable": False}, {"bohdan"}),
    ({"type": "channel", "channel": "webchat"}, {"chrystia"}),
]


@pytest.mark.parametrize(("rule", "expected"), CONSENT_AND_CHANNEL_CASES)
async def test_consent_and_channel_conditions(cohort, rule, expected):
    assert await inside(cohort, rule) == expected


METRIC_CASES = [
    (metric("total_spent", "gte", 400), {"anna", "dmytro"}),
    (metric("total_spent", "lt", 100), {"bohdan", "chrystia"}),
    (metric("total_spent", "eq", "435.50"), {"anna"}),
    (metric("receipts", "eq", 0), {"chrystia"}),
    (metric("receipts", "gte", 5), {"dmytro"}),
    (metric("receipts", "between", [1, 4]), {"anna", "bohdan"}),
    (metric("receipts", "ne", 0), {"anna", "bohdan", "dmytro"}),
    (metric("receipts", "lte", 1), {"bohdan", "chrystia"}),
    (metric("receipts", "gt", 4), {"dmytro"}),
    (metric("receipts", "lt", 1), {"chrystia"}),
    (metric("total_spent", "ne", "435.50"), {"bohdan", "chrystia", "dmytro"}),
    (metric("first_purchase_at", "gte", "2000-01-01"), {"anna", "bohdan", "dmytro"}),
    (metric("days_since_last_purchase", "between", [1, 3]), {"anna", "dmytro"}),
    ({"type": "rfm", "score": "r", "op": "is_not_set"}, {"chrystia"}),
    ({"type": "rfm", "score": "m", "op": "between", "value": [1, 5]}, {"anna", "bohdan", "dmytro"}),
    ({"type": "rfm", "score": "f", "op": "gte", "value": 1}, {"anna", "bohdan", "dmytro"}),
    (metric("avg_basket", "gt", 100), {"anna"}),
    (metric("avg_basket", "is_not_set"), {"chrystia"}),
    (metric("avg_items", "gte", 2), {"anna"}),
    (metric("days_since_last_purchase", "lte", 7), {"anna", "dmytro"}),
    (metric("days_since_last_purchase", "gt", 100), {"bohdan"}),
    (metric("days_since_last_purchase", "is_not_set"), {"chrystia"}),
    (metric("days_since_first_purchase", "gte", 60), {"bohdan", "dmytro"}),
    (metric("typical_interval_days", "between", [5, 9]), {"dmytro"}),
    (metric("typical_interval_days", "is_not_set"), {"bohdan", "chrystia"}),
    (metric("favourite_category", "eq", "Baby"), {"anna"}),
    (metric("favourite_category", "eq", "Snacks"), {"dmytro"}),  # 500 against 375 on Dairy
    (metric("category_spend", "gte", 200, category="Dairy"), {"dmytro"}),
    (metric("category_spend", "gt", 0, category="Pets/Food"), {"bohdan"}),
    (metric("last_purchase_at", "is_set"), {"anna", "bohdan", "dmytro"}),
]


@pytest.mark.parametrize(("rule", "expected"), METRIC_CASES)
async def test_metric_conditions(cohort, rule, expected):
    assert await inside(cohort, rule) == expected


LIFECYCLE_CASES = [
    ({"type": "lifecycle", "op": "eq", "value": "registered"}, {"chrystia"}),
    ({"type": "lifecycle", "op": "in", "value": ["regular"]}, {"anna", "dmytro"}),
    ({"type": "lifecycle", "op": "eq", "value": "lost"}, {"bohdan"}),
    ({"type": "lifecycle", "op": "not_in", "value": ["lost", "registered"]}, {"anna", "dmytro"}),
]


@pytest.mark.parametrize(("rule", "expected"), LIFECYCLE_CASES)
async def test_lifecycle_conditions(cohort, rule, expected):
    assert await inside(cohort, rule) == expected


def purchased(**fields) -> dict:
    return {"type": "purchased", **fields}


PURCHASE_CASES = [
    (purchased(category="Baby"), {"anna"}),
    (purchased(category="Baby/Food", within_days=60, min_times=3), {"anna"}),
    (purchased(category="Baby/Food", within_days=60, min_times=4), set()),
    (purchased(category="Baby", within_days=5), {"anna"}),
    (purchased(category="Dairy"), {"anna", "dmytro"}),
    (purchased(category="Dairy/Cheese"), {"dmytro"}),
    (purchased(category="Dairy", within_days=30, min_sum=150), {"dmytro"}),
    (purchased(category="Dairy", min_sum=120), {"anna", "dmytro"}),
    (purchased(category="Pets", within_days=100), set()),
    (purchased(sku="SKU-Snacks"), {"dmytro"}),
    (purchased(within_days=7), {"anna", "dmytro"}),
    ({"type": "basket", "measure": "value", "op": "gte", "value": 130}, {"anna", "dmytro"}),
    (
        {"type": "basket", "measure": "value", "op": "gte", "value": 150, "within_days": 35},
        {"dmytro"},
    ),
    ({"type": "basket", "measure": "items", "op": "gte", "value": 4}, {"anna", "dmytro"}),
    ({"type": "basket", "measure": "value", "op": "lt", "value": 60, "min_times": 2}, {"dmytro"}),
    ({"type": "basket", "measure": "value", "op": "lt", "value": 60}, {"bohdan", "dmytro"}),
    ({"type": "basket", "measure": "value", "op": "lt", "value": 60, "min_times": 11}, set()),
    ({"type": "event", "kind": "opened_offer"}, {"anna", "dmytro"}),
    ({"type": "event", "kind": "opened_offer", "within_days": 30}, {"dmytro"}),
    ({"type": "event", "kind": "opened_offer", "within_days": 30, "min_times": 4}, set()),
    ({"type": "event", "kind": "opened_offer", "min_times": 3}, {"dmytro"}),
]


@pytest.mark.parametrize(("rule", "expected"), PURCHASE_CASES)
async def test_purchase_basket_and_event_conditions(cohort, rule, expected):
    assert await inside(cohort, rule) == expected


async def test_store_conditions(cohort):
    store_a, store_b = cohort.stores["a"].code, cohort.stores["b"].code
    assert await inside(cohort, purchased(store=store_a)) == {"anna", "bohdan"}
    assert await inside(cohort, purchased(store=store_b, category="Bakery")) == {"anna"}
    assert await inside(cohort, purchased(store=store_b, within_days=5)) == {"dmytro"}


async def test_nested_all_any_not(cohort):
    # "bought Baby food in the last 60 days AND (RFM champion OR basket over 80)"
    rule = {
        "any": [
            {
                "all": [
                    purchased(category="Baby", within_days=60),
                    {
                        "any": [
                            {"type": "rfm_segment", "op": "in", "value": ["champions"]},
                            {"type": "basket", "op": "gt", "value": 80},
                        ]
                    },
                ]
            },
            {"not": {"any": [metric("receipts", "gte", 1), profile("language", "eq", "pl")]}},
        ]
    }
    assert await inside(cohort, rule) == {"anna"}
    assert await inside(cohort, {"not": rule}) == {"bohdan", "chrystia", "dmytro"}


async def test_not_treats_unknown_as_false(cohort):
    """`not` selects everyone the inner rule does not: customers without a gender included."""
    assert await inside(cohort, {"not": profile("gender", "eq", "female")}) == EVERYONE - {"anna"}


async def test_deep_nesting(cohort):
    rule: dict = metric("receipts", "gte", 5)
    for _ in range(20):
        rule = {"not": {"not": rule}}
    assert await inside(cohort, {"all": [rule]}) == {"dmytro"}


async def test_values_are_never_sql(cohort):
    hostile = "x' OR '1'='1"
    assert await inside(cohort, profile("city", "eq", hostile)) == set()
    assert await inside(cohort, profile("city", "contains", "%")) == set()
    assert await inside(cohort, {"not": profile("city", "eq", hostile)}) == EVERYONE


async def test_deep_alternating_nesting(cohort):
    """all / any / not alternating 30 levels deep still compiles to a query both run."""
    rule: dict = metric("receipts", "gte", 5)
    for level in range(30):
        kind = ("all", "any", "not")[level % 3]
        if kind == "not":
            rule = {"not": {"not": rule}}
        elif kind == "all":
            rule = {"all": [rule, metric("receipts", "gte", 1)]}
        else:
            rule = {"any": [rule, profile("city", "eq", "nowhere")]}
    assert await inside(cohort, rule) == {"dmytro"}
