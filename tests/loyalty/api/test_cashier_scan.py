"""Scanning at the till: a card number or a voucher code, and only what a cashier needs."""

from __future__ import annotations

from datetime import timedelta

from crm_core.cards.numbers import format_card_number, make_card_number
from crm_core.customers.models import Customer
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, open_till


async def test_a_card_scan_shows_name_status_since_vouchers_and_a_hint(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Ганна")
    voucher = await new_voucher(card.customer_id, title="−50 UAH", min_basket="200.00")

    response = await till.scan(card.number)

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "card"
    assert body["card"] == {
        "number": card.number,
        "number_for_reading": format_card_number(card.number),
        "status": "active",
    }
    assert body["customer"]["first_name"] == "Ганна" and body["customer"]["customer_since"]
    (listed,) = body["vouchers"]
    assert listed["code"] == voucher.code and listed["title"] == "−50 UAH"
    assert listed["value"] == "50.00" and listed["valid_until"] and listed["uses_left"] == 1
    assert listed["conditions"] == [t("uk", "Minimum basket {amount}", amount="200.00 UAH")]
    assert "first_purchase" in [hint["code"] for hint in body["hints"]]
    customer = await Customer.get(id=card.customer_id)
    assert customer.phone.lstrip("+") not in response.text  # nothing more personal than needed


async def test_spaces_and_dashes_typed_by_a_person_are_ignored(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    for typed in [
        format_card_number(card.number),
        format_card_number(card.number).replace(" ", "-"),
    ]:
        assert (await till.scan(typed)).json()["card"]["number"] == card.number


async def test_a_wrong_check_digit_is_422_probably_mistyped(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    wrong = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
    response = await till.scan(wrong, language="uk")
    assert response.status_code == 422
    assert response.json()["code"] == "card_mistyped"
    assert response.json()["detail"] == t(
        "uk", "This card number is probably mistyped: please check the digits."
    )


async def test_an_unknown_valid_number_is_404(stack):
    till = await open_till(stack)
    response = await till.scan(make_card_number("2710", 99_999_999, 8))
    assert response.status_code == 404 and response.json()["code"] == "card_not_found"


async def test_a_card_closed_at_the_customers_request_is_409_with_the_reason(stack):
    till = await open_till(stack)
    chat, card = await customer_with_card(stack)
    await chat.text("/delete")
    await chat.press("delete:yes")
    response = await till.scan(card.number)
    assert response.status_code == 409
    assert response.json()["code"] == "card_blocked" and response.json()["reason"] == "erased"


async def test_a_voucher_code_is_scanned_in_any_case_and_with_dashes(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Марта")
    voucher = await new_voucher(card.customer_id)
    for typed in [voucher.code, voucher.code.lower(), f"{voucher.code[:4]}-{voucher.code[4:]}"]:
        body = (await till.scan(typed)).json()
        assert body["kind"] == "voucher"
        assert body["vouchers"][0]["code"] == voucher.code
        assert body["customer"]["first_name"] == "Марта"


async def test_a_mistyped_voucher_code_and_garbage_are_422(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    swapped = alphabet[(alphabet.index(voucher.code[2]) + 1) % 32]
    mistyped = voucher.code[:2] + swapped + voucher.code[3:]
    assert (await till.scan(mistyped)).json()["code"] == "voucher_mistyped"
    assert (await till.scan("hello?")).status_code == 422


async def test_used_and_expired_vouchers_are_not_offered(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    await new_voucher(card.customer_id, starts_in=timedelta(days=-10), valid_for=timedelta(days=2))
    used = await new_voucher(card.customer_id)
    used.uses_count = 1
    await used.save()
    assert (await till.scan(card.number)).json()["vouchers"] == []


async def test_texts_follow_the_cashiers_language(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    body = (await till.scan(card.number, language="uk")).json()
    first = next(h for h in body["hints"] if h["code"] == "first_purchase")
    assert first["text"] == t("uk", "First purchase with the card: welcome them!")
