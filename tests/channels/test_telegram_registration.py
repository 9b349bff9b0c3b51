"""A Telegram user gets a card through the webhook: three answers from /start to card."""

from __future__ import annotations

import itertools
import random

from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, is_luhn_valid
from crm_core.consents.models import Consent
from crm_core.customers.models import ChannelIdentity, Customer
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t

_user_ids = itertools.count(random.randint(10**8, 9 * 10**8))


def new_chat(stack, language: str = "uk") -> TelegramChat:
    return TelegramChat(stack, next(_user_ids), language)


def phone() -> str:
    return f"38067{random.randint(1000000, 9999999)}"


async def test_start_to_card_takes_three_answers(stack):
    chat = new_chat(stack)

    greeting = await chat.text("/start")
    assert len(greeting) == 1 and greeting[0].via_response
    assert t("uk", "What is your first name?") in greeting[0].text

    ask_phone = await chat.text("Олена")
    assert ask_phone[0].asks_for_contact()
    assert "Олена" in ask_phone[0].text

    ask_consent = await chat.contact("+380671234500")
    assert ask_consent[0].inline_payloads() == ["consent:yes", "consent:no"]

    card_messages = await chat.press("consent:yes")
    card_message, _survey_question = card_messages
    assert card_message.method == "sendPhoto" and not card_message.via_response
    number = decode_qr(card_message.photo)
    assert number.isdigit() and is_luhn_valid(number) and number.startswith("2710")
    assert format_card_number(number) in card_message.text
    assert t("uk", "Show this QR code at the till before paying.") in card_message.text
    # The callback spinner was answered.
    assert stack.telegram.calls_to("answerCallbackQuery")

    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    customer = await Customer.get(id=identity.customer_id)
    assert customer.first_name == "Олена"
    assert customer.phone == "+380671234500"
    assert customer.language == "uk"
    assert customer.timezone == "Europe/Kyiv"
    card = await Card.get(customer_id=customer.id)
    assert card.number == number and card.status == "active"
    consent = await Consent.get(customer_id=customer.id)
    assert consent.granted and consent.channel == "telegram" and consent.purpose == "marketing"
    assert consent.text_version == "marketing-2026-12-v2:uk"


async def test_repeat_card_reuses_the_uploaded_photo_in_the_webhook_response(stack):
    chat = new_chat(stack)
    first, _survey_question = await chat.register("Петро", phone())
    uploads = len(stack.telegram.calls_to("sendPhoto", chat.user_id))

    (again,) = await chat.text("/card")

    assert again.via_response and again.method == "sendPhoto"
    assert isinstance(again.photo, str) and again.photo.startswith("PHOTO-")
    assert len(stack.telegram.calls_to("sendPhoto", chat.user_id)) == uploads
    assert decode_qr(first.photo) in again.text.replace(" ", "")


async def test_returning_user_gets_the_same_card_not_a_new_one(stack):
    chat = new_chat(stack)
    await chat.register("Ірина", phone())
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    cards_before = await Card.filter(customer_id=identity.customer_id).count()

    (welcome_back,) = await chat.text("/start")

    assert t("uk", "Welcome back, {name}!", name="Ірина") in welcome_back.text
    assert await Card.filter(customer_id=identity.customer_id).count() == cards_before == 1
    assert (
        await Customer.filter(phone=(await Customer.get(id=identity.customer_id)).phone).count()
        == 1
    )


async def test_greets_in_the_users_telegram_language(stack):
    chat = new_chat(stack, language="pl")
    (greeting,) = await chat.text("/start")
    assert t("pl", "What is your first name?") in greeting.text
    assert t("pl", "What is your first name?") != t("uk", "What is your first name?")


async def test_someone_elses_contact_is_refused_and_the_step_kept(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Андрій")

    (refusal,) = await chat.contact(phone(), own=False)

    assert t("uk", "That is someone else's contact. Please share your own number.") in refusal.text
    assert refusal.asks_for_contact()
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.state == "awaiting_phone" and identity.customer_id is None


async def test_invalid_names_are_refused_politely(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    for bad in ["😀😀", "visit http://spam.example", "R2D2", "x" * 65]:
        (reply,) = await chat.text(bad)
        assert not reply.asks_for_contact(), bad
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.state == "awaiting_name"
    (ok,) = await chat.text("Анна-Марія О'Коннор")
    assert ok.asks_for_contact()


async def test_a_typed_phone_is_not_accepted_on_telegram(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Олег")
    replies = await chat.text("+380671112233")
    assert t("uk", "Please use the button below to share your phone number.") in replies[0].text
    assert replies[-1].asks_for_contact()


async def test_stickers_and_stray_text_get_help_and_keep_the_state(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Марко")
    replies = await chat.sticker()
    assert t("uk", "Sorry, I can only read text and buttons here.") in replies[0].text
    assert replies[-1].asks_for_contact()
    await chat.contact(phone())
    replies = await chat.text("what?")
    assert t("uk", "Please answer with one of the buttons.") in replies[0].text
    assert replies[-1].inline_payloads() == ["consent:yes", "consent:no"]
