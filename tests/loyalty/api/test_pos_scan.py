"""Scanning at the till: a card number or a voucher code, and only what a cashier needs to know."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from bot.formatting import money
from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, make_card_number
from crm_core.customers.models import Customer
from crm_core.vouchers.codes import ALPHABET, format_voucher_code
from crm_core.vouchers.models import Voucher, VoucherKind, VoucherStatus
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, line, open_till, receipt

# The 13-digit layout of the brief's example "2710 0000 0001 0": prefix, serial, check digit.
PREFIX = "2710"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unknown_card_number() -> str:
    """A well-formed number far beyond the serials any test issues."""
    return make_card_number(PREFIX, random.randint(90_000_000, 99_999_999), 8)


async def test_a_card_scan_shows_first_name_status_since_vouchers_and_hints(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Ганна")
    voucher = await new_voucher(card.customer_id, title="−50 UAH", min_basket="200.00")

    response = await till.scan(card.number, language="en")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "card"
    assert body["card"] == {
        "number": card.number,
        "number_for_reading": format_card_number(card.number),
        "status": "active",
    }
    customer = await Customer.get(id=card.customer_id)
    assert set(body["customer"]) == {"first_name", "customer_since"}
    assert body["customer"]["first_name"] == "Ганна"
    assert when(body["customer"]["customer_since"]) == customer.created_at
    (listed,) = body["vouchers"]
    assert listed["code"] == voucher.code
    assert listed["code_for_reading"] == format_voucher_code(voucher.code)
    assert listed["title"] == "−50 UAH"
    assert listed["kind"] == "fixed_amount"
    assert listed["value"] == "50.00" and listed["currency"] == "UAH"
    assert listed["value_text"] == t("en", "{amount} off", amount="UAH\u00a050.00")
    assert when(listed["valid_until"]) == voucher.valid_until
    assert listed["uses_left"] == 1
    assert listed["conditions"] == [t("en", "Minimum basket {amount}", amount="UAH\u00a0200.00")]
    codes = [hint["code"] for hint in body["hints"]]
    assert "first_purchase" in codes and "new_customer" in codes


async def test_nothing_more_personal_than_the_first_name_is_shown(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    customer = await Customer.get(id=card.customer_id)
    await new_voucher(card.customer_id)

    answer = (await till.scan(card.number)).text

    national = customer.phone.removeprefix("+380")
    for shown in [customer.phone, customer.phone.lstrip("+"), national]:
        assert shown not in answer
    assert "phone" not in answer and "language" not in answer


async def test_spaces_and_dashes_typed_by_a_person_are_ignored(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    spaced = format_card_number(card.number)  # "2710 0000 0001 0"
    for typed in [spaced, spaced.replace(" ", "-"), f" {card.number[:4]}-{card.number[4:]} "]:
        response = await till.scan(typed)
        assert response.status_code == 200, typed
        assert response.json()["card"]["number"] == card.number


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
    number = unknown_card_number()
    assert not await Card.filter(number=number).exists()

    response = await till.scan(format_card_number(number), language="en")

    assert response.status_code == 404
    assert response.json() == {"code": "card_not_found", "detail": "No card has this number."}


async def test_a_card_closed_at_the_customers_request_is_409_with_the_reason(stack):
    till = await open_till(stack)
    chat, card = await customer_with_card(stack)
    await chat.text("/delete")
    await chat.press("delete:yes")

    response = await till.scan(card.number, language="uk")

    assert response.status_code == 409
    assert response.json()["code"] == "card_blocked"
    assert response.json()["reason"] == "erased"
    assert response.json()["detail"] == t("uk", "This card was closed at the customer's request.")


async def test_a_voucher_code_is_scanned_in_any_case_and_with_dashes(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Марта")
    voucher = await new_voucher(card.customer_id)
    for typed in [
        voucher.code,
        voucher.code.lower(),
        format_voucher_code(voucher.code),
        format_voucher_code(voucher.code).lower().replace("-", " "),
    ]:
        response = await till.scan(typed)
        assert response.status_code == 200, typed
        body = response.json()
        assert body["kind"] == "voucher" and body["card"] is None
        assert [v["code"] for v in body["vouchers"]] == [voucher.code]
        assert body["customer"]["first_name"] == "Марта"


async def test_a_bearer_voucher_scans_without_a_customer(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = (await till.scan(voucher.code, language="en")).json()
    assert body["kind"] == "voucher" and body["customer"] is None
    assert body["vouchers"][0]["conditions"] == [t("en", "Anyone holding the code may use it")]


async def test_a_voucher_code_with_one_wrong_character_is_422_probably_mistyped(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    for position in [0, 4, len(voucher.code) - 1]:
        changed = ALPHABET[(ALPHABET.index(voucher.code[position]) + 1) % len(ALPHABET)]
        mistyped = voucher.code[:position] + changed + voucher.code[position + 1 :]
        response = await till.scan(mistyped)
        assert response.status_code == 422, mistyped
        assert response.json()["code"] == "voucher_mistyped"


async def test_an_unknown_but_well_formed_voucher_code_is_404(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    await Voucher.filter(id=voucher.id).delete()
    response = await till.scan(voucher.code)
    assert response.status_code == 404 and response.json()["code"] == "voucher_not_found"


async def test_garbage_is_422(stack):
    till = await open_till(stack)
    for typed in ["not a code!", "ABC", "ABCDEFGHJKLM", "ÄÖÜ"]:
        response = await till.scan(typed)
        assert response.status_code == 422, typed
        assert response.json()["code"] == "code_unreadable", typed


async def test_used_expired_and_cancelled_vouchers_are_not_offered(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    await new_voucher(
        card.customer_id,
        title="expired",
        starts_in=timedelta(days=-10),
        valid_for=timedelta(days=2),
    )
    used = await new_voucher(card.customer_id, title="used")
    await Voucher.filter(id=used.id).update(uses_count=1)
    cancelled = await new_voucher(card.customer_id, title="cancelled")
    await Voucher.filter(id=cancelled.id).update(status=VoucherStatus.CANCELLED)
    half_used = await new_voucher(card.customer_id, title="one of two used", uses_allowed=2)
    await Voucher.filter(id=half_used.id).update(uses_count=1)
    fresh = await new_voucher(card.customer_id, title="fresh")

    listed = (await till.scan(card.number)).json()["vouchers"]

    assert sorted(v["code"] for v in listed) == sorted([half_used.code, fresh.code])
    assert {v["code"]: v["uses_left"] for v in listed} == {half_used.code: 1, fresh.code: 1}


async def test_after_the_first_purchase_the_hint_is_no_longer_first_purchase(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    recorded = await till.post("/api/v1/pos/purchases", receipt([line()], card=card.number))
    assert recorded.status_code == 201, recorded.text

    hints = (await till.scan(card.number)).json()["hints"]

    assert "first_purchase" not in [hint["code"] for hint in hints]


async def test_texts_follow_the_cashiers_language(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    await new_voucher(
        card.customer_id,
        kind=VoucherKind.PERCENT,
        value="15",
        title="Осінь",
        min_basket="100.00",
        allowed_categories=("Dairy",),
        valid_for=timedelta(days=2),
    )
    for language in ["uk", "en"]:
        body = (await till.scan(card.number, language=language)).json()
        hints = {hint["code"]: hint["text"] for hint in body["hints"]}
        assert hints["first_purchase"] == t(language, "First purchase with the card: welcome them!")
        assert hints["new_customer"] == t(
            language, "Joined the loyalty programme in the last two weeks."
        )
        assert hints["voucher_expires_soon"] == t(
            language, "Voucher \u201c{title}\u201d expires in the next days.", title="Осінь"
        )
        (voucher,) = body["vouchers"]
        percent = {"uk": "15%", "en": "15%"}[language]  # as each language writes a percentage
        minimum = {"uk": "100,00\u00a0грн", "en": "UAH\u00a0100.00"}[language]
        assert voucher["value_text"] == t(language, "{percent} off", percent=percent)
        assert voucher["conditions"] == [
            t(language, "Minimum basket {amount}", amount=minimum),
            t(language, "Only for: {categories}", categories="Dairy"),
        ]


async def test_each_voucher_says_whether_it_can_be_used_now_and_why_not(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    _other, other_card = await customer_with_card(stack)
    later = await new_voucher(card.customer_id, starts_in=timedelta(days=2))
    now_usable = await new_voucher(card.customer_id)
    theirs = await new_voucher(other_card.customer_id)
    used = await new_voucher(None)
    await Voucher.filter(id=used.id).update(uses_count=1)

    listed = (await till.scan(card.number, "en")).json()["vouchers"]
    states = {v["code"]: (v["state"], v["state_text"]) for v in listed}
    assert states[later.code] == ("not_yet_valid", t("en", "This voucher is not valid yet."))
    assert states[now_usable.code] == ("usable", t("en", "Can be used now."))

    async def state_of(code: str, card_number: str | None = None) -> str:
        path = f"/api/v1/pos/cards/{code}" + (f"?card={card_number}" if card_number else "")
        answer = (await till.get(path)).json()
        return answer["vouchers"][0]["state"], answer["customer"]

    assert (await state_of(used.code))[0] == "used"
    assert (await state_of(now_usable.code))[0] == "no_customer"
    assert (await state_of(now_usable.code, card.number))[0] == "usable"
    # Another customer's voucher after this card: said so, and without their name.
    assert await state_of(theirs.code, card.number) == ("not_this_customer", None)


async def test_amounts_of_a_voucher_for_any_currency_carry_the_stores(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    await new_voucher(
        card.customer_id, kind=VoucherKind.PERCENT, value="10", currency=None, min_basket="300"
    )
    (voucher,) = (await till.scan(card.number, "uk")).json()["vouchers"]
    minimum = t("uk", "Minimum basket {amount}", amount=money(Decimal("300"), "UAH", "uk"))
    assert minimum in voucher["conditions"]
