"""A small cohort of customers with known profiles, fields, purchases and events.

Tests share one database per backend, so every rule is evaluated inside the cohort (its
customers all live in cities tagged with the cohort's own marker) and compared with the
names the rule must select.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.metrics.rfm import recompute_rfm
from crm_core.profiles.service import define_field, set_field_values
from crm_core.segments.compiler import compile_members
from crm_core.segments.rules import validate_rule
from crm_core.segments.service import load_catalogue
from crm_core.sql import dialect_of, fetch
from crm_core.stores.models import Store
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store


@dataclass
class Cohort:
    tag: str
    now: datetime
    ids: dict[str, int] = field(default_factory=dict)
    stores: dict[str, Store] = field(default_factory=dict)

    def city(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def names(self, ids: set[int]) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in ids if i in by_id}

    async def select(self, rule: dict[str, Any], now: datetime | None = None) -> set[str]:
        """Names of the cohort's customers the rule selects."""
        checked = validate_rule(rule, await load_catalogue())
        query = compile_members(checked.root, dialect_of(), now or self.now)
        rows = await fetch(query.sql, query.values)
        return self.names({row["id"] for row in rows})


async def build_cohort() -> Cohort:
    now = utcnow()
    cohort = Cohort(secrets.token_hex(4), now)
    tag = cohort.tag
    cohort.stores["a"] = await new_store()
    cohort.stores["b"] = await new_store()
    await define_field(f"pet_{tag}", "Pet", "choice", ["dog", "cat", "none"], now)
    await define_field(f"kids_{tag}", "Children", "number", [], now)
    await define_field(f"vip_{tag}", "VIP", "boolean", [], now)
    await define_field(f"since_{tag}", "Member since", "date", [], now)
    await define_field(f"note_{tag}", "Note", "text", [], now)

    anna, anna_card = await new_customer(
        "Anna",
        city=cohort.city("Kyiv"),
        gender="female",
        birth_date=date(1990, 5, 1),
        language="uk",
    )
    bohdan, bohdan_card = await new_customer(
        "Bohdan",
        channel="viber",
        consent=False,
        city=cohort.city("Lviv"),
        gender="male",
        birth_date=_years_ago(now.date(), 26),
        language="en",
    )
    chrystia, _ = await new_customer(
        "Chrystia", channel="webchat", city=cohort.city("kyiv").upper(), language="pl"
    )
    dmytro, dmytro_card = await new_customer(
        "Dmytro", city=cohort.city("Odesa"), birth_date=date(1960, 1, 15), language="uk"
    )
    erased, erased_card = await new_customer("Erased", city=cohort.city("Kyiv"))
    cohort.ids = {
        "anna": anna.id,
        "bohdan": bohdan.id,
        "chrystia": chrystia.id,
        "dmytro": dmytro.id,
    }
    await set_field_values(
        anna.id,
        {
            f"pet_{tag}": "dog",
            f"kids_{tag}": 2,
            f"vip_{tag}": True,
            f"since_{tag}": "2020-03-01",
            f"note_{tag}": "Prefers Organic",
        },
        now,
    )
    await set_field_values(
        bohdan.id, {f"pet_{tag}": "cat", f"kids_{tag}": 0, f"vip_{tag}": False}, now
    )
    await set_field_values(dmytro.id, {f"kids_{tag}": 3.5, f"since_{tag}": "2024-01-01"}, now)

    store_a, store_b = cohort.stores["a"], cohort.stores["b"]
    # Anna: baby food three times this month (100 each), once a big basket in store B.
    for days in (3, 10, 20):
        await buy(store_a, anna_card, [item("Baby/Food", "50.00", "2")], now - timedelta(days=days))
    await buy(
        store_b,
        anna_card,
        [item("Dairy/Milk", "40.00", "3"), item("Bakery/Bread", "15.50", "1")],
        now - timedelta(days=40),
    )
    # Bohdan: one pet-food receipt long ago.
    await buy(store_a, bohdan_card, [item("Pets/Food", "50.00", "1")], now - timedelta(days=200))
    # Dmytro: milk every week for ten weeks, the last two days ago; one large basket.
    for week in range(10):
        await buy(
            store_b,
            dmytro_card,
            [item("Dairy/Milk", "20.00", "1"), item("Dairy/Cheese/Hard", "35.00", "0.5")],
            now - timedelta(days=2 + 7 * week),
        )
    await buy(store_b, dmytro_card, [item("Snacks", "100.00", "5")], now - timedelta(days=30))
    for days in (1, 5, 8):
        await record_event(
            dmytro.id, EventKind.OPENED_OFFER, now - timedelta(days=days), "telegram"
        )
    await record_event(anna.id, EventKind.OPENED_OFFER, now - timedelta(days=45), "telegram")
    # The erased customer bought too, but never appears anywhere.
    await buy(store_a, erased_card, [item("Baby/Food", "50.00", "2")], now - timedelta(days=3))
    await Customer.filter(id=erased.id).update(erased_at=now, first_name=None, phone=None)
    # Bohdan blocked the bot: his only identity is unreachable.
    await ChannelIdentity.filter(customer_id=bohdan.id).update(reachable=False)
    await recompute_rfm(now)  # what the nightly job does: every buyer gets scores
    return cohort


def _years_ago(today: date, years: int) -> date:
    return today.replace(year=today.year - years) - timedelta(days=1)
