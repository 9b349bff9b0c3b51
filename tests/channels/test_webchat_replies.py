"""The web chat's wording after the card: help with buttons, no promise after a 'no'."""

from __future__ import annotations

from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number
from crm_core.vouchers.codes import format_voucher_code
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.webchat_chat import WebChat, new_phone, typed_locally

BIRTHDAY_WITH_OFFER = (
    "When is your birthday? We would like to send you a birthday offer. "
    "Type the date, e.g. 31.12.1990, or tap “Skip”."
)
HELP = (
    "Commands: /card shows your card, /vouchers your vouchers, "
    "/language changes the language, /stop stops offers, /delete erases your data."
)
NOT_A_PHONE = (
    "That doesn't look like a phone number. "
    "Please send it with the country code, e.g. +380 50 123 4567."
)
BIRTHDAY_PLAIN = "When is your birthday? Type the date, e.g. 31.12.1990, or tap “Skip”."


async def birthday_question(chat: WebChat, consent: bool) -> str:
    replies = await chat.register("Ганна", typed_locally(new_phone()), consent=consent)
    # With categories known, they come first and "Done" brings the birthday question.
    if "survey:done" in replies[-1].buttons:
        replies = await chat.send("survey:done")
    return replies[-1].text.splitlines()[-1]


async def test_the_birthday_question_promises_an_offer_only_to_those_who_want_offers(stack):
    assert await birthday_question(WebChat(stack), consent=False) == t("uk", BIRTHDAY_PLAIN)
    assert await birthday_question(WebChat(stack), consent=True) == t("uk", BIRTHDAY_WITH_OFFER)


async def test_a_customers_free_text_gets_help_with_the_menu(stack):
    chat = WebChat(stack)
    await chat.skip_survey(await chat.register("Ганна", typed_locally(new_phone())))

    (reply,) = await chat.send("що тут можна робити?")

    assert reply.text == t("uk", HELP)
    assert "/card" in reply.menu and "/vouchers" in reply.menu


async def test_a_mistyped_phone_keeps_the_phone_keypad(stack):
    chat = WebChat(stack)
    await chat.open()
    await chat.send("Ганна")
    response = await chat.post("12")
    (reply,) = response.json()["replies"]
    assert reply["text"] == t("uk", NOT_A_PHONE)
    assert reply["expects_phone"] is True


async def test_pictures_say_what_they_show_for_their_description(stack):
    chat = WebChat(stack)
    await chat.skip_survey(await chat.register("Ганна", typed_locally(new_phone())))
    customer = await chat.customer()
    voucher = await new_voucher(customer.id, title="Кава")
    card = await Card.get(customer_id=customer.id)

    (card_reply,) = (await chat.post("/card")).json()["replies"]
    (voucher_reply,) = (await chat.post("/vouchers")).json()["replies"]

    assert (card_reply["image_kind"], card_reply["image_code"]) == (
        "card",
        format_card_number(card.number),
    )
    assert (voucher_reply["image_kind"], voucher_reply["image_code"]) == (
        "voucher",
        format_voucher_code(voucher.code),
    )
    page = await stack.client.get("/chat", headers={"Accept-Language": "pl"})
    assert t("pl", "QR code of card {number}") in page.text
