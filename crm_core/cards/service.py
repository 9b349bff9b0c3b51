"""Issuing, finding and showing cards."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.cards import media_tokens
from crm_core.cards.models import Card, CardStatus
from crm_core.cards.numbers import make_card_number
from crm_core.customers.models import Customer

SERIAL_DRAWS = 20


@dataclass(frozen=True)
class CardNumberPolicy:
    """How card numbers look: a retailer-specific prefix and a fixed-width serial."""

    prefix: str = "2710"
    serial_digits: int = 8
    # randbelow(n): a serial below n. Unpredictable for real cards; the demo passes a seeded
    # draw so that one seed gives the same card numbers every time.
    randbelow: Callable[[int], int] = field(default=secrets.randbelow, compare=False)


class CardNumbersExhausted(Exception):
    """Every draw hit a taken number: the serial part is too short for the cards issued."""


class CustomerAlreadyHasCard(Exception):
    """One active card per customer: issuing a second one is a bug upstream."""


async def issue_card(
    customer: Customer,
    policy: CardNumberPolicy,
    now: datetime,
    connection: BaseDBAsyncClient,
) -> Card:
    """Issue the customer's card inside the caller's transaction.

    The customer row is locked first (PostgreSQL), so two concurrent calls cannot both
    pass the one-active-card check. The serial is random, so a number says nothing about
    the others (sequential serials let anyone with a till key list customers by counting);
    a serial already taken is drawn again, and the unique index on the number settles the
    (one in a hundred million) race of two registrations drawing the same one at once.
    """
    await Customer.select_for_update().using_db(connection).get(id=customer.id)
    if (
        await Card.filter(customer_id=customer.id, status=CardStatus.ACTIVE)
        .using_db(connection)
        .exists()
    ):
        raise CustomerAlreadyHasCard(customer.id)
    return await Card.create(
        number=await _unused_number(policy, connection),
        customer_id=customer.id,
        status=CardStatus.ACTIVE,
        issued_at=now,
        media_salt=secrets.token_hex(8),
        using_db=connection,
    )


async def _unused_number(policy: CardNumberPolicy, connection: BaseDBAsyncClient) -> str:
    for _ in range(SERIAL_DRAWS):
        serial = 1 + policy.randbelow(10**policy.serial_digits - 1)
        number = make_card_number(policy.prefix, serial, policy.serial_digits)
        if not await Card.filter(number=number).using_db(connection).exists():
            return number
    raise CardNumbersExhausted(policy.prefix)


async def active_card_of(customer_id: int) -> Card | None:
    return await Card.filter(customer_id=customer_id, status=CardStatus.ACTIVE).first()


async def deactivate_cards(
    customer_id: int, reason: str, now: datetime, connection: BaseDBAsyncClient
) -> int:
    """Block every active card of a customer and revoke its image URLs."""
    return await (
        Card.filter(customer_id=customer_id, status=CardStatus.ACTIVE)
        .using_db(connection)
        .update(
            status=CardStatus.BLOCKED,
            status_reason=reason,
            status_changed_at=now,
            media_salt=secrets.token_hex(8),
            telegram_file_id=None,
        )
    )


def card_image_token(card: Card, key: bytes, now: datetime, ttl: timedelta) -> str:
    return media_tokens.sign_card_token(key, card.id, card.media_salt, now, ttl)


async def card_for_image_token(token: str, key: bytes, now: datetime) -> Card | None:
    """The active card a media token was signed for, or None for anything else."""
    claims = media_tokens.read_card_token(token)
    if claims is None:
        return None
    card = await Card.filter(id=claims.card_id, status=CardStatus.ACTIVE).first()
    if card is None:
        return None
    if not media_tokens.verify_card_token(key, token, claims, card.media_salt, now):
        return None
    return card


async def remember_telegram_file_id(card_id: int, file_id: str) -> None:
    await Card.filter(id=card_id).update(telegram_file_id=file_id)
