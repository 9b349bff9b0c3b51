"""A shopper with an imported plastic card gets it into the chat, never a second card."""

from __future__ import annotations

import random

from crm_core.cards.models import Card
from crm_core.customers.models import ChannelIdentity
from tests.crm_core.cards.test_imports import import_one
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t


def new_chat(stack) -> TelegramChat:
    return TelegramChat(stack, random.randint(6 * 10**11, 7 * 10**11))


async def test_the_card_number_and_the_matching_phone_link_the_chat_to_the_plastic_card(
    stack, tmp_path
):
    number, phone = await import_one(stack, tmp_path)
    chat = new_chat(stack)
    (greeting,) = await chat.text("/start")
    assert greeting.inline_payloads() == ["have_card"]

    (ask_number,) = await chat.press("have_card")
    assert ask_number.text == t("uk", "Please type the number printed on your card.")
    (ask_phone,) = await chat.text(" ".join([number[:4], number[4:8], number[8:]]))
    assert ask_phone.asks_for_contact()
    done, card_message = await chat.contact(phone)

    assert done.text == t("uk", "Done: your card is now in this chat.")
    assert decode_qr(card_message.photo) == number
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert await Card.filter(customer_id=identity.customer_id).count() == 1


async def test_another_phone_is_refused_without_saying_why_and_a_new_card_can_follow(
    stack, tmp_path
):
    number, _phone = await import_one(stack, tmp_path)
    unknown = str(random.randint(10**11, 10**12 - 1))
    refusals = []
    for typed in [number, unknown]:
        chat = new_chat(stack)
        await chat.text("/start")
        await chat.press("have_card")
        await chat.text(typed)
        (refusal,) = await chat.contact(f"+38099{random.randint(1000000, 9999999)}")
        refusals.append(refusal.text)
    assert refusals[0] == refusals[1]  # the same words for a stranger's card and no card
    assert "Оксана" not in refusals[0]

    await chat.text("Тимур")
    card_message, _survey_question = await chat.press("consent:no")
    new_number = decode_qr(card_message.photo)
    assert new_number not in {number, unknown} and new_number.startswith("2710")


async def test_registering_with_the_phone_of_a_plastic_card_links_to_it(stack, tmp_path):
    number, phone = await import_one(stack, tmp_path)
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Оксана")
    linked, card_message = await chat.contact(phone)
    assert linked.text == t("uk", "You already have our card: I have linked this chat to it.")
    assert decode_qr(card_message.photo) == number


async def test_letters_instead_of_a_card_number_are_refused_and_the_step_kept(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.press("have_card")
    (reply,) = await chat.text("my card is blue")
    assert reply.text == t("uk", "A card number has only digits. Please type it as printed.")
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.state == "awaiting_card_number"
