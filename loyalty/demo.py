"""A believable, deterministic demo data set, loaded through the project's own services.

Shoppers come in personas with real structure (households with children, pet owners,
regulars, occasional shoppers, lapsing and lost ones, newcomers, people who never bought),
so RFM, lifecycle stages and every example segment show something meaningful. The same
seed on the same day gives the same data: histories are laid out backwards from today.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from crm_core.cards.service import CardNumberPolicy
from crm_core.clock import utcnow
from crm_core.customers.models import Channel
from crm_core.customers.service import touch_identity
from crm_core.db import close_db, init_db
from crm_core.imports.products import import_products
from crm_core.imports.purchases import import_purchases
from crm_core.metrics.service import recompute_everything
from crm_core.profiles.preferences import Question, record_answer
from crm_core.profiles.service import define_field, set_field_values, update_profile
from crm_core.recommendations.service import refresh_clusters
from crm_core.registration.service import NewCustomer, register_customer
from crm_core.segments.models import SegmentKind
from crm_core.segments.service import create_segment
from crm_core.stores.models import Store
from crm_core.stores.service import create_store
from loyalty.settings import Settings

DEMO_CONSENT_VERSION = "demo-import"
HISTORY_DAYS = 540

STORES = (
    ("DEMO-KYIV", "Demo Kyiv, Khreshchatyk", "Kyiv"),
    ("DEMO-LVIV", "Demo Lviv, Rynok", "Lviv"),
    ("DEMO-ODESA", "Demo Odesa, Derybasivska", "Odesa"),
    ("DEMO-KHARKIV", "Demo Kharkiv, Sumska", "Kharkiv"),
)

# (category path, [(sku, name, price)]): a small supermarket catalogue with a category tree.
CATALOGUE: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Dairy/Milk", (("D-MILK1", "Milk 2.5% 1 l", "42.90"), ("D-MILK2", "Kefir 1 l", "46.50"))),
    ("Dairy/Cheese", (("D-CHS1", "Gouda 200 g", "89.00"), ("D-CHS2", "Brynza 250 g", "72.40"))),
    ("Dairy/Yoghurt", (("D-YOG1", "Greek yoghurt", "38.20"), ("D-YOG2", "Fruit yoghurt", "29.90"))),
    ("Bakery", (("B-BRD1", "Rye bread", "31.00"), ("B-BRD2", "Croissant", "24.50"))),
    ("Fruit & Veg/Fruit", (("F-APL", "Apples 1 kg", "36.90"), ("F-BAN", "Bananas 1 kg", "64.00"))),
    (
        "Fruit & Veg/Vegetables",
        (("V-TOM", "Tomatoes 1 kg", "79.00"), ("V-POT", "Potatoes", "21.50")),
    ),
    (
        "Meat & Fish/Meat",
        (("M-CHK", "Chicken fillet 1 kg", "189.00"), ("M-PRK", "Pork neck", "239.00")),
    ),
    ("Meat & Fish/Fish", (("M-SAL", "Salmon steak", "312.00"), ("M-HER", "Herring", "84.00"))),
    ("Grocery", (("G-BUCK", "Buckwheat 1 kg", "58.00"), ("G-PAST", "Pasta 500 g", "44.90"))),
    ("Drinks", (("R-WAT", "Mineral water 1.5 l", "24.00"), ("R-JUI", "Orange juice 1 l", "68.00"))),
    ("Household", (("H-DET", "Washing gel 1.5 l", "219.00"), ("H-TIS", "Paper towels", "54.00"))),
    ("Baby/Food", (("Y-PUR", "Fruit puree 90 g", "27.50"), ("Y-POR", "Baby porridge", "96.00"))),
    ("Baby/Care", (("Y-DIA", "Diapers, size 4", "489.00"), ("Y-WIP", "Baby wipes", "62.00"))),
    ("Pets/Dogs", (("P-DOGF", "Dog food 3 kg", "412.00"), ("P-DOGT", "Dog treats", "88.00"))),
    (
        "Pets/Cats",
        (("P-CATF", "Cat food 1.5 kg", "276.00"), ("P-CATL", "Cat litter 5 kg", "199.00")),
    ),
)
EVERYDAY = tuple(path for path, _ in CATALOGUE if not path.startswith(("Baby", "Pets")))


@dataclass(frozen=True)
class Persona:
    """How a kind of shopper buys: rhythm, basket size, special categories, recency."""

    name: str
    share: float
    interval_days: tuple[int, int]  # typical days between visits, min..max
    lines: tuple[int, int]  # lines per receipt, min..max
    special: tuple[str, ...] = ()  # category prefixes this household buys in most visits
    idle_days: tuple[int, int] = (0, 10)  # days since the last visit
    visits: tuple[int, int] | None = None  # a fixed number of visits instead of a rhythm


PERSONAS = (
    Persona("family", 0.18, (4, 9), (6, 12), special=("Baby",)),
    Persona("pet_owner", 0.12, (6, 12), (4, 8), special=("Pets",)),
    Persona("regular", 0.20, (5, 10), (3, 7)),
    Persona("occasional", 0.14, (25, 45), (2, 5), idle_days=(5, 40)),
    Persona("lapsing", 0.10, (7, 12), (3, 6), idle_days=(35, 70)),
    Persona("lost", 0.08, (10, 20), (2, 5), idle_days=(200, 400)),
    Persona("new", 0.08, (1, 1), (2, 6), idle_days=(0, 25), visits=(1, 1)),
    Persona("never", 0.10, (1, 1), (1, 1), visits=(0, 0)),
)

# First names by the gender the profile gets, so a woman's name never comes with "male".
FIRST_NAMES = {
    "female": "Олена Марія Оксана Наталія Юлія Софія Ольга Anna Kateřina".split(),
    "male": "Андрій Іван Тарас Дмитро Богдан Максим Сергій Piotr Jan".split(),
}
GENDERS = ("female", "female", "male", "other")
LANGUAGES = ("uk", "uk", "uk", "uk", "ru", "en", "pl", "cs")
CHANNELS = (Channel.TELEGRAM, Channel.TELEGRAM, Channel.VIBER, Channel.VIBER, Channel.WEBCHAT)

SEGMENTS: tuple[tuple[str, SegmentKind, dict], ...] = (
    (
        "Young families: baby products in the last 60 days",
        SegmentKind.DYNAMIC,
        {"type": "purchased", "category": "Baby", "within_days": 60},
    ),
    (
        "Pet owners",
        SegmentKind.DYNAMIC,
        {
            "any": [
                {"type": "purchased", "category": "Pets", "within_days": 90, "min_times": 2},
                {"type": "custom_field", "field": "pet", "op": "in", "value": ["dog", "cat"]},
            ]
        },
    ),
    (
        "Champions and loyal",
        SegmentKind.DYNAMIC,
        {"type": "rfm_segment", "op": "in", "value": ["champions", "loyal"]},
    ),
    (
        "Lapsing: win back",
        SegmentKind.DYNAMIC,
        {
            "all": [
                {"type": "lifecycle", "op": "eq", "value": "lapsing"},
                {"type": "consent", "purpose": "marketing", "granted": True},
            ]
        },
    ),
    (
        "Registered, never bought",
        SegmentKind.DYNAMIC,
        {"type": "lifecycle", "op": "eq", "value": "registered"},
    ),
    (
        "Baby buyers with big baskets or champions",
        SegmentKind.STATIC,
        {
            "all": [
                {"type": "purchased", "category": "Baby/Food", "within_days": 60},
                {
                    "any": [
                        {"type": "rfm_segment", "op": "in", "value": ["champions"]},
                        {"type": "metric", "metric": "avg_basket", "op": "gt", "value": 2000},
                    ]
                },
            ]
        },
    ),
)


class DemoAlreadyLoaded(RuntimeError):
    """The demo stores exist: loading twice would double every history."""


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    receipts: int
    lines: int
    segments: dict[str, int]


def _persona(rng: random.Random) -> Persona:
    pick = rng.random()
    for persona in PERSONAS:
        pick -= persona.share
        if pick < 0:
            return persona
    return PERSONAS[-1]


def _products() -> dict[str, tuple[tuple[str, str, str], ...]]:
    return dict(CATALOGUE)


def _visit_days(rng: random.Random, persona: Persona, registered_days_ago: int) -> list[int]:
    """Days ago of each visit, oldest first, all after the registration day."""
    if persona.visits is not None:
        count = rng.randint(*persona.visits)
        return sorted((rng.randint(*persona.idle_days) for _ in range(count)), reverse=True)
    interval = rng.randint(*persona.interval_days)
    day = rng.randint(*persona.idle_days)
    days = []
    while day <= registered_days_ago:
        days.append(day)
        day += max(1, round(rng.gauss(interval, interval / 4)))
    return sorted(days, reverse=True)


def _receipt_lines(rng: random.Random, persona: Persona) -> list[tuple[str, str, str, str, int]]:
    """(category, sku, name, unit price, quantity) for one visit."""
    products = _products()
    count = rng.randint(*persona.lines)
    lines = []
    for index in range(count):
        if persona.special and (index == 0 or rng.random() < 0.3):
            options = [p for p in products if p.startswith(persona.special)]
        else:
            options = list(EVERYDAY)
        category = rng.choice(sorted(options))
        sku, name, price = rng.choice(products[category])
        lines.append((category, sku, name, price, rng.choice((1, 1, 1, 2, 3))))
    return lines


@dataclass
class _Shopper:
    card_number: str
    persona: Persona
    registered_days_ago: int
    store: Store


def _purchase_rows(
    rng: random.Random, shoppers: list[_Shopper], now: datetime
) -> Iterator[tuple[int, dict[str, str]]]:
    """Receipt lines in the import's CSV shape, one receipt after another; none later than
    `now` (today's visits happen before the load)."""
    today = now.date()
    row = 1
    for number, shopper in enumerate(shoppers):
        for visit, days_ago in enumerate(
            _visit_days(rng, shopper.persona, shopper.registered_days_ago)
        ):
            at = datetime.combine(today - timedelta(days=days_ago), time(8), UTC) + timedelta(
                minutes=rng.randint(0, 12 * 60)
            )
            at = min(at, now - timedelta(minutes=1))
            receipt = f"D{number:05d}-{visit:04d}"
            for line_no, (category, sku, name, price, quantity) in enumerate(
                _receipt_lines(rng, shopper.persona), start=1
            ):
                row += 1
                yield (
                    row,
                    {
                        "store": shopper.store.code,
                        "receipt_id": receipt,
                        "purchased_at": at.isoformat(),
                        "card_number": shopper.card_number,
                        "sku": sku,
                        "name": name,
                        "category": category,
                        "quantity": str(quantity),
                        "unit_price": price,
                        "line_total": str(Decimal(price) * quantity),
                        "line_no": str(line_no),
                    },
                )


async def _stores(now: datetime) -> list[Store]:
    if await Store.filter(code=STORES[0][0]).exists():
        raise DemoAlreadyLoaded(STORES[0][0])
    return [await create_store(code, name, "Europe/Kyiv", "UAH", now) for code, name, _ in STORES]


async def _catalogue(now: datetime) -> None:
    rows = (
        (index, {"sku": sku, "name": name, "category": path})
        for index, (path, products) in enumerate(CATALOGUE, start=2)
        for sku, name, _price in products
    )
    await import_products(rows, now)


async def _custom_fields(now: datetime) -> None:
    await define_field("children", "Children in the household", "number", [], now)
    await define_field("pet", "Pet", "choice", ["dog", "cat", "none"], now)


async def _customers(
    rng: random.Random, settings: Settings, stores: list[Store], count: int, seed: int, today: date
) -> list[_Shopper]:
    # Demo cards only: serials from the seed, so a seed reproduces the same card numbers.
    serials = random.Random(f"card-serials-{seed}")  # noqa: S311 (demo data, not real cards)
    policy = CardNumberPolicy(
        settings.card_number_prefix, settings.card_serial_digits, serials.randrange
    )
    shoppers: list[_Shopper] = []
    for index in range(count):
        persona = _persona(rng)
        low = persona.idle_days[1] + 1 if persona.visits is None else persona.idle_days[1]
        registered_days_ago = rng.randint(max(low, 1), HISTORY_DAYS)
        if persona.name == "new":
            registered_days_ago = rng.randint(persona.idle_days[1], 40)
        registered_at = datetime.combine(
            today - timedelta(days=registered_days_ago), time(9), UTC
        ) + timedelta(minutes=rng.randint(0, 600))
        channel = rng.choice(CHANNELS)
        external_id = f"demo-{seed}-{index}"
        language = rng.choice(LANGUAGES)
        identity, _ = await touch_identity(
            channel, external_id, external_id, language, registered_at
        )
        store_index = rng.randrange(len(stores))
        # Numbers from the +380 99 0xx xx xx block: valid format, reserved for tests, not people.
        phone = f"+3809900{index:05d}"
        gender = rng.choice(GENDERS)
        names = FIRST_NAMES.get(gender) or [*FIRST_NAMES["female"], *FIRST_NAMES["male"]]
        registration = await register_customer(
            identity,
            NewCustomer(
                first_name=rng.choice(names),
                phone=phone,
                phone_confirmed=channel != Channel.WEBCHAT,
                language=language,
                marketing_consent=rng.random() < 0.75,
                consent_text_version=DEMO_CONSENT_VERSION,
            ),
            settings.default_timezone,
            policy,
            registered_at,
        )
        customer_id = registration.customer.id
        age = rng.randint(19, 72) if persona.name != "family" else rng.randint(24, 41)
        birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        await update_profile(
            customer_id,
            {
                "city": STORES[store_index][2],
                "gender": gender,
                "birth_date": birth.isoformat() if rng.random() < 0.6 else None,
            },
            registered_at,
        )
        await _household(rng, customer_id, persona, registered_at)
        shoppers.append(
            _Shopper(registration.card.number, persona, registered_days_ago, stores[store_index])
        )
    return shoppers


async def _household(rng: random.Random, customer_id: int, persona: Persona, at: datetime) -> None:
    """Custom fields and survey answers, as many shoppers would give them."""
    values: dict[str, object] = {}
    if persona.name == "family":
        values["children"] = rng.randint(1, 3)
    elif rng.random() < 0.3:
        values["children"] = 0
    if persona.name == "pet_owner":
        values["pet"] = rng.choice(("dog", "cat"))
    elif rng.random() < 0.2:
        values["pet"] = "none"
    if values:
        await set_field_values(customer_id, values, at)
    if rng.random() < 0.4:
        favourites = {"family": ["Baby"], "pet_owner": ["Pets"]}.get(persona.name, [])
        favourites += rng.sample([path.split("/")[0] for path in EVERYDAY[:6]], 2)
        await record_answer(
            customer_id, Question.FAVOURITE_CATEGORIES, sorted(set(favourites)), at, "telegram"
        )


async def load_demo(settings: Settings, count: int, seed: int = 7) -> DemoSummary:
    """Stores, catalogue, custom fields, customers with histories, metrics, example segments."""
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    now = utcnow()
    today = now.date()
    await init_db(settings.database_url, pool_size=2)
    try:
        stores = await _stores(now)
        await _catalogue(now)
        await _custom_fields(now)
        shoppers = await _customers(rng, settings, stores, count, seed, today)
        report = await import_purchases(_purchase_rows(rng, shoppers, now), now)
        await recompute_everything(now)
        await refresh_clusters(now)  # {products} in campaigns works before the first night
        segments = {}
        for name, kind, rule in SEGMENTS:
            _segment, built = await create_segment(name, kind, rule, now)
            segments[name] = built.members if built else 0
        return DemoSummary(count, report.imported, report.lines, segments)
    finally:
        await close_db()
