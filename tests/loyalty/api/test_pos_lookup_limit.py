"""A cashier key cannot list customers by guessing card numbers: serials are random, and
lookups beyond the limit per key and till answer 429 with Retry-After, logged for the admin."""

from __future__ import annotations

import itertools
import logging
import random

from crm_core.cards.numbers import make_card_number
from tests.support.customers import new_customer
from tests.support.till import open_till

PREFIX = "2710"


async def test_new_cards_have_random_serials_with_prefix_and_check_digit(stack):
    cards = [(await new_customer())[1] for _ in range(12)]
    serials = sorted(int(card.number[len(PREFIX) : -1]) for card in cards)
    assert all(card.number == make_card_number(PREFIX, serial, 8) for card, serial in zip(
        cards, (int(card.number[len(PREFIX) : -1]) for card in cards), strict=True
    ))  # fmt: skip
    gaps = [later - earlier for earlier, later in itertools.pairwise(serials)]
    # Sequential serials differ by one; twelve random ones out of a hundred million are far apart.
    assert sum(gap < 1000 for gap in gaps) <= 2, serials


async def test_guessing_card_numbers_is_stopped_per_till_and_logged(stack, caplog):
    caplog.set_level(logging.WARNING, logger="loyalty.security")
    limit = stack.settings.pos_lookups_per_minute
    guesser, neighbour = await open_till(stack), await open_till(stack)
    _, card = await new_customer("Мирослава")
    guesses = [make_card_number(PREFIX, random.randint(1, 10**8 - 1), 8) for _ in range(limit)]

    answers = [(await guesser.scan(number)).status_code for number in guesses]
    refused = await guesser.scan(card.number)

    assert 429 not in answers
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "too_many_lookups"
    assert refused.json()["detail"]
    assert (await guesser.scan(card.number)).status_code == 429
    assert (await neighbour.scan(card.number)).status_code == 200  # other tills are served
    logged = [r.getMessage() for r in caplog.records if r.name == "loyalty.security"]
    assert len(logged) == 1, logged  # once per burst, not once per refusal
    _, lookup, secret = guesser.key.split("_", 2)
    assert lookup in logged[0] and secret not in logged[0]  # the id to revoke, not the key
    assert "Мирослава" not in logged[0] and card.number not in logged[0]
