"""The Viber webhook: signed callbacks, a welcome in the response, a card in three answers."""

from __future__ import annotations

import itertools
import random
import re

from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, is_luhn_valid
from crm_core.consents.models import Consent
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.inbox.models import ProcessedUpdate
from tests.support import viber_payloads as vb
from tests.support.qr import decode_qr
from tests.support.texts import t
from tests.support.viber_chat import ViberChat

# lifecell numbers (+38073...): no other test module uses this operator code.
_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))


def new_phone() -> str:
    """A fresh number as Viber's share-phone sends it: digits with the country code, no '+'."""
    return f"38073{next(_subscribers):07d}"


def new_chat(stack, language: str = "uk", country: str = "UA") -> ViberChat:
    return ViberChat(stack, language=language, country=country)


async def identity_of(chat: ViberChat) -> ChannelIdentity | None:
    return await ChannelIdentity.filter(channel="viber", external_id=chat.user_id).first()


async def test_conversation_started_is_answered_with_one_welcome_in_the_response(stack):
    chat = new_chat(stack)

    (welcome,) = await chat.open()

    assert welcome.via_response
    assert "receiver" not in welcome.body
    assert welcome.body["sender"]["name"] == stack.settings.viber_bot_name
    assert welcome.type == "text"
    assert welcome.text == t(
        "uk", "Hello! Here you can get our digital loyalty card in under a minute."
    )
    assert welcome.button_payloads() == ["/start"]
    assert t("uk", "Get my card") in welcome.buttons[0]["Text"]
    # Viber forbids sending to a user who only opened the chat; nothing is remembered either.
    assert chat.sent() == []
    assert await identity_of(chat) is None


async def test_welcome_button_to_card_takes_three_answers(stack):
    chat = new_chat(stack)
    await chat.open()
    phone = new_phone()

    (greeting,) = await chat.press("/start")  # what the welcome button sends
    assert not greeting.via_response
    assert t("uk", "What is your first name?") in greeting.text

    (ask_phone,) = await chat.text("Тарас")
    assert "Тарас" in ask_phone.text
    assert ask_phone.asks_for_phone()
    share = next(b for b in ask_phone.buttons if b["ActionType"] == "share-phone")
    assert t("uk", "Share my phone number") in share["Text"]

    (ask_consent,) = await chat.contact(phone)
    assert ask_consent.button_payloads() == ["consent:yes", "consent:no"]

    card_text, card_picture, _survey_question = await chat.press("consent:yes")

    assert card_text.type == "text" and card_picture.type == "picture"
    assert not card_text.via_response and not card_picture.via_response
    assert t("uk", "Show this QR code at the till before paying.") in card_text.text
    base = re.escape(f"http://127.0.0.1:{stack.server.port}")
    assert re.fullmatch(rf"{base}/media/cards/[A-Za-z0-9_.-]+\.png", card_picture.media)
    # The menu rides on the card's last message, where Viber shows the keyboard (until the
    # optional survey question after it brings its own buttons).
    assert "/card" in card_picture.button_payloads()

    image = await stack.client.get(card_picture.media)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    number = decode_qr(image.content)
    assert number.isdigit() and is_luhn_valid(number) and number.startswith("2710")
    assert format_card_number(number) in card_text.text

    identity = await identity_of(chat)
    assert identity.reachable and identity.chat_id == chat.user_id
    customer = await Customer.get(id=identity.customer_id)
    assert customer.first_name == "Тарас"
    assert customer.phone == f"+{phone}"
    assert customer.language == "uk"
    card = await Card.get(customer_id=customer.id)
    assert card.number == number and card.status == "active"
    consent = await Consent.get(customer_id=customer.id)
    assert consent.granted and consent.channel == "viber" and consent.purpose == "marketing"
    assert consent.text_version == "marketing-2026-12-v2:uk"


async def test_the_welcome_is_in_the_language_of_the_viber_profile(stack):
    message = "Hello! Here you can get our digital loyalty card in under a minute."
    chat = new_chat(stack, language="pl", country="PL")

    (welcome,) = await chat.open()

    assert welcome.text == t("pl", message)
    assert t("pl", message) != t("uk", message)


async def test_registration_speaks_the_language_of_the_viber_profile(stack):
    question = "What is your first name?"
    chat = new_chat(stack, language="pl", country="PL")

    (greeting,) = await chat.press("/start")

    assert t("pl", question) in greeting.text
    assert t("pl", question) != t("uk", question)
    assert (await identity_of(chat)).language == "pl"


async def test_a_forged_or_missing_signature_is_401_and_nothing_is_processed(stack):
    chat = new_chat(stack)
    payload = vb.text_message(chat.user, "/start")
    body = vb.encode(payload)
    forged = [
        vb.sign("some-other-token", body),
        vb.sign(chat.auth_token, body + b" "),
        vb.sign(chat.auth_token, body)[:-1],
        "",
        "é".encode("latin-1") * 64,  # not even hex
    ]
    for signature in forged:
        response = await chat.post_raw(body, signature)
        assert response.status_code == 401, signature
    response = await chat.post_raw(body, None)
    assert response.status_code == 401

    assert chat.sent() == []
    assert await identity_of(chat) is None
    update_key = f"message:{payload['message_token']}"
    assert not await ProcessedUpdate.exists(channel="viber", update_key=update_key)


async def test_a_replayed_callback_is_processed_once(stack):
    chat = new_chat(stack)
    await chat.press("/start")
    callback = vb.text_message(chat.user, "Богдан")

    first = await chat.deliver(callback)
    again = await chat.deliver(callback)

    assert len(first) == 1 and first[0].asks_for_phone()
    assert again == []
    assert (await identity_of(chat)).state == "awaiting_phone"


async def test_malformed_callbacks_are_400_with_a_reason(stack):
    chat = new_chat(stack)
    message = vb.text_message(chat.user, "/start")
    no_sender = {key: value for key, value in message.items() if key != "sender"}
    bad_bodies = [
        b"{not json",
        b"\xff\xfe not even text",
        b"[1, 2, 3]",
        vb.encode({"timestamp": 1700000000000, "message_token": 1}),  # no "event"
        vb.encode({"event": 42, "timestamp": 1700000000000}),
        vb.encode(no_sender),
        vb.encode({**message, "sender": {"name": "No Id"}}),
        vb.encode({**message, "sender": {**chat.user, "id": 12345}}),
        vb.encode({**message, "message": {"type": "text", "text": ["/start"]}}),
        vb.encode({**message, "message": {"type": "contact"}}),
        vb.encode({**vb.conversation_started(chat.user), "user": {}}),
        vb.encode({**vb.subscribed(chat.user), "user": {"name": "No Id"}}),
    ]
    for body in bad_bodies:
        response = await chat.post_raw(body, vb.sign(chat.auth_token, body))
        assert response.status_code == 400, body
        assert response.json()["detail"], body
    assert chat.sent() == []
    assert await identity_of(chat) is None


async def test_an_unknown_event_type_is_acknowledged_and_ignored(stack):
    chat = new_chat(stack)
    callback = {**vb.delivered(chat.user_id), "event": "client_status", "user": chat.user}
    before = len(stack.viber.calls)

    response = await chat.post(callback)

    assert response.status_code == 200 and response.json() == {}
    assert len(stack.viber.calls) == before
    assert await identity_of(chat) is None


async def test_a_body_over_one_mebibyte_is_413(stack):
    chat = new_chat(stack)

    response = await chat.post(vb.text_message(chat.user, "x" * (1024 * 1024 + 10)))

    assert response.status_code == 413
    assert await identity_of(chat) is None


async def test_unsubscribed_makes_the_identity_unreachable_until_the_user_writes_again(stack):
    chat = new_chat(stack)
    await chat.press("/start")
    await chat.text("Оксана")

    assert await chat.deliver(vb.unsubscribed(chat.user_id)) == []

    identity = await identity_of(chat)
    assert identity.reachable is False
    assert identity.state == "awaiting_phone"  # the conversation is kept for their return
    await chat.deliver(vb.subscribed(chat.user))
    assert (await identity_of(chat)).reachable is True


async def test_delivery_receipts_are_acknowledged(stack):
    chat = new_chat(stack)
    await chat.press("/start")
    before = len(stack.viber.calls)

    for callback in [vb.delivered(chat.user_id), vb.seen(chat.user_id), vb.failed(chat.user_id)]:
        response = await chat.post(callback)
        assert response.status_code == 200 and response.json() == {}, callback["event"]

    assert len(stack.viber.calls) == before
    assert (await identity_of(chat)).reachable is True


async def test_not_subscribed_status_marks_the_identity_unreachable(stack):
    chat = new_chat(stack)
    stack.viber.answer_next(6, "notSubscribed")

    response = await chat.post(vb.text_message(chat.user, "/start"))

    assert response.status_code == 200
    assert len(chat.sent()) == 1  # not retried: the user cannot be reached
    assert (await identity_of(chat)).reachable is False


async def test_too_many_requests_is_retried_and_delivered(stack):
    chat = new_chat(stack)
    stack.viber.answer_next(12, "tooManyRequests")

    sent = await chat.press("/start")

    first_try, retry = sent
    assert first_try.body == retry.body
    assert t("uk", "What is your first name?") in retry.text
    identity = await identity_of(chat)
    assert identity.reachable is True and identity.state == "awaiting_name"


async def test_a_sticker_mid_registration_gets_a_polite_reply_and_the_step_is_kept(stack):
    chat = new_chat(stack)
    await chat.press("/start")
    await chat.text("Марко")

    replies = await chat.sticker()

    assert t("uk", "Sorry, I can only read text and buttons here.") in replies[0].text
    assert replies[-1].asks_for_phone()
    assert (await identity_of(chat)).state == "awaiting_phone"
    (ask_consent,) = await chat.contact(new_phone())
    assert ask_consent.button_payloads() == ["consent:yes", "consent:no"]
