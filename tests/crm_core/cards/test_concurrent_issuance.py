"""Card numbers stay unique, valid and random when many people register at the same moment
(PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import random

import httpx
import pytest

from crm_core.cards.models import Card
from crm_core.cards.numbers import is_luhn_valid

pytestmark = pytest.mark.postgres_only
CONCURRENT_REGISTRATIONS = 200


async def register_in_web_chat(client: httpx.AsyncClient, phone: str) -> str:
    opened = await client.post("/api/v1/webchat/sessions", json={"language": "uk"})
    opened.raise_for_status()
    session = opened.json()["session_id"]
    for text in ["Олександр", phone, "consent:yes"]:
        answer = await client.post(
            "/api/v1/webchat/messages", json={"session_id": session, "text": text}
        )
        answer.raise_for_status()
    card_reply, _survey_question = answer.json()["replies"]
    assert card_reply["image_url"], card_reply
    return session


async def test_two_hundred_concurrent_registrations_get_distinct_valid_numbers(stack):
    phones = {f"+38050{n:07d}" for n in random.sample(range(10**7), CONCURRENT_REGISTRATIONS)}
    # Idle connections are dropped before the server's 5 s keep-alive timeout: reusing one the
    # server is closing at that moment fails with a ReadError that is no fault of the app.
    limits = httpx.Limits(max_connections=CONCURRENT_REGISTRATIONS, keepalive_expiry=2)
    cards_before = set(await Card.all().values_list("number", flat=True))
    async with httpx.AsyncClient(
        base_url=stack.server.base_url, limits=limits, timeout=60
    ) as client:
        results = await asyncio.gather(
            *(register_in_web_chat(client, phone) for phone in phones), return_exceptions=True
        )

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    new_numbers = set(await Card.all().values_list("number", flat=True)) - cards_before
    assert len(new_numbers) == CONCURRENT_REGISTRATIONS
    assert all(is_luhn_valid(n) and n.startswith("2710") for n in new_numbers)
    # Random serials: sequential ones (each the last plus one) let a till key count through
    # the customers. Among 200 random serials of 10^8, next neighbours closer than 1,000 are rare.
    serials = sorted(int(n[4:-1]) for n in new_numbers)
    assert sum(b - a < 1000 for a, b in itertools.pairwise(serials)) <= 10
