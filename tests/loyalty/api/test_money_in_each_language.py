"""Money reads as each language writes it: at the till (voucher values, minimum baskets,
refusals) and in the chat's voucher list, for a store in hryvnias, zloty or korunas."""

from __future__ import annotations

import pytest

from crm_core.customers.models import Customer
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import basket, customer_with_card, line, open_till

pytestmark = pytest.mark.db

NBSP = "\u00a0"
CASES = [
    # store currency, language, the voucher's value and minimum basket as the language writes them
    ("UAH", "uk", "50,00 грн", "1 200,00 грн"),
    ("UAH", "ru", "50,00 грн", "1 200,00 грн"),
    ("PLN", "pl", "50,00 zł", "1 200,00 zł"),
    ("CZK", "cs", "50,00 Kč", "1 200,00 Kč"),
    ("UAH", "en", "UAH 50.00", "UAH 1,200.00"),
]


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace("\u202f", " ")


@pytest.mark.parametrize(("currency", "language", "value", "minimum"), CASES)
async def test_the_till_says_amounts_in_the_cashiers_language(
    stack, currency, language, value, minimum
):
    till = await open_till(stack, currency)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, currency=currency, min_basket="1200.00")

    scanned = (await till.scan(card.number, language=language)).json()
    (listed,) = scanned["vouchers"]
    assert plain(listed["value_text"]) == plain(t(language, "{amount} off", amount=value))
    assert plain(listed["conditions"][0]) == plain(
        t(language, "Minimum basket {amount}", amount=minimum)
    )
    assert listed["value"] == "50.00" and listed["currency"] == currency  # data stays plain

    small = basket([line(price="99.00")], card=card.number)
    answer = await till.post(
        f"/api/v1/pos/vouchers/{voucher.code}/validate",
        small,
        headers={"Accept-Language": language},
    )
    message = "The basket is too small: this voucher needs at least {minimum}."
    assert plain(answer.json()["reason"]) == plain(t(language, message, minimum=minimum))
    assert "1200.00" not in answer.json()["reason"]


@pytest.mark.parametrize(("currency", "language", "value", "minimum"), CASES)
async def test_the_chat_lists_vouchers_with_amounts_in_the_customers_language(
    stack, currency, language, value, minimum
):
    chat, card = await customer_with_card(stack)
    await Customer.filter(id=card.customer_id).update(language=language)
    await new_voucher(card.customer_id, currency=currency, min_basket="1200.00")

    (listed,) = await chat.text("/vouchers")
    assert plain(t(language, "{amount} off", amount=value)) in plain(listed.text)
    assert plain(t(language, "Minimum basket {amount}", amount=minimum)) in plain(listed.text)
    if language != "en":  # a decimal point is English only
        assert "1200.00" not in listed.text and "50.00" not in listed.text
