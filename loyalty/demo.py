"""A believable demo data set, built through the same services the bot uses."""

from __future__ import annotations

import random
from datetime import timedelta

from crm_core.cards.service import CardNumberPolicy
from crm_core.clock import utcnow
from crm_core.customers.models import Channel
from crm_core.customers.service import touch_identity
from crm_core.db import close_db, init_db
from crm_core.registration.service import NewCustomer, register_customer
from loyalty.settings import Settings

_FIRST_NAMES = [
    "Олена",
    "Андрій",
    "Марія",
    "Іван",
    "Оксана",
    "Тарас",
    "Наталія",
    "Дмитро",
    "Anna",
    "Piotr",
    "Kateřina",
    "Jan",
    "Olga",
    "Sergiy",
    "Iryna",
    "Mykola",
]
_LANGUAGES = ["uk", "uk", "uk", "ru", "en", "pl", "cs"]
_CHANNELS = [Channel.TELEGRAM, Channel.TELEGRAM, Channel.VIBER, Channel.VIBER, Channel.WEBCHAT]
DEMO_CONSENT_VERSION = "demo-import"


async def load_demo(settings: Settings, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    policy = CardNumberPolicy(settings.card_number_prefix, settings.card_serial_digits)
    await init_db(settings.database_url, pool_size=2)
    created = 0
    try:
        for index in range(count):
            now = utcnow() - timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 1440))
            channel = rng.choice(_CHANNELS)
            external_id = f"demo-{channel}-{seed}-{index}"
            language = rng.choice(_LANGUAGES)
            identity, _customer = await touch_identity(
                channel, external_id, external_id, language, now
            )
            if identity.customer_id is not None:
                continue
            # Numbers from the +380 99 000 xx xx test block: valid format, not real people.
            phone = f"+38099000{index % 10000:04d}"
            await register_customer(
                identity,
                NewCustomer(
                    first_name=rng.choice(_FIRST_NAMES),
                    phone=phone,
                    phone_confirmed=channel != Channel.WEBCHAT,
                    language=language,
                    marketing_consent=rng.random() < 0.7,
                    consent_text_version=DEMO_CONSENT_VERSION,
                ),
                settings.default_timezone,
                policy,
                now,
            )
            created += 1
    finally:
        await close_db()
    return created
