"""The built-in web chat: a self-hosted page and a JSON API running the messenger conversation.

A browser opens /chat, which opens a session; the user types a name and a phone number,
answers the consent question with a button and gets the card with its QR code by URL.
"""

from __future__ import annotations

import base64
import html
import itertools
import random
import re
from datetime import timedelta

import pytest

from crm_core.cards.media_tokens import sign_card_token
from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, is_luhn_valid
from crm_core.clock import utcnow
from crm_core.consents.models import Consent, ConsentPurpose
from crm_core.consents.service import has_consent
from crm_core.customers.models import ChannelIdentity, Customer
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t
from tests.support.webchat_chat import (
    MESSAGES,
    SESSIONS,
    BotReply,
    WebChat,
    new_phone,
    typed_locally,
)

_telegram_ids = itertools.count(random.randint(2 * 10**9, 3 * 10**9))

MENU = ["/card", "/vouchers", "/language", "/stop", "/delete"]
CONSENT_BUTTONS = ["consent:yes", "consent:no"]
INVALID_PHONE = t(
    "uk",
    "That doesn't look like a phone number. "
    "Please send it with the country code, e.g. +380 50 123 4567.",
)
NUMBER_TAKEN = t(
    "uk",
    "I cannot use this number here without a confirmation. If it has our card in Telegram or "
    'Viber, tap "Send me a code": a one-time code will arrive there. Or send another number.',
)


async def registered_chat(stack, name: str = "Олена") -> tuple[WebChat, BotReply]:
    chat = WebChat(stack)
    card_reply, survey_question = await chat.register(name, typed_locally(new_phone()))
    assert card_reply.image_url, card_reply
    await chat.skip_survey([survey_question])
    return chat, card_reply


async def card_of(chat: WebChat) -> Card:
    return await Card.get(customer_id=(await chat.customer()).id)


async def latest_marketing_consent(customer_id: int) -> Consent:
    latest = (
        await Consent.filter(customer_id=customer_id, purpose=ConsentPurpose.MARKETING)
        .order_by("-recorded_at", "-id")
        .first()
    )
    assert latest is not None
    return latest


def token_of(image_url: str) -> str:
    match = re.fullmatch(r"/media/cards/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\.png", image_url)
    assert match, image_url
    return match.group(1)


def unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [("uk-UA,uk;q=0.9,en;q=0.8", "uk"), ("en-GB,en;q=0.9", "en"), ("pl", "pl"), ("de", "uk")],
)
async def test_the_page_speaks_the_browsers_language(stack, accept_language, language):
    response = await stack.client.get("/chat", headers={"Accept-Language": accept_language})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    (title,) = re.findall(r"<title>(.*?)</title>", page)
    assert html.unescape(title) == t(language, "Loyalty card")
    assert f'<html lang="{language}">' in page
    assert html.escape(t(language, "Send")) in page
    assert "{{" not in page


async def test_the_page_title_differs_between_ukrainian_and_english(stack):
    titles = {}
    for language in ["uk", "en"]:
        page = await stack.client.get("/chat", headers={"Accept-Language": language})
        titles[language] = html.unescape(re.findall(r"<title>(.*?)</title>", page.text)[0])

    assert titles == {"uk": t("uk", "Loyalty card"), "en": "Loyalty card"}
    assert titles["uk"] != titles["en"]


async def test_the_page_loads_only_self_hosted_assets(stack):
    page = (await stack.client.get("/chat")).text

    referenced = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert sorted(referenced) == ["/chat/assets/chat.css", "/chat/assets/chat.js"]
    script = await stack.client.get("/chat/assets/chat.js")
    style = await stack.client.get("/chat/assets/chat.css")
    assert script.status_code == style.status_code == 200
    assert script.headers["content-type"].split(";")[0] == "text/javascript"
    assert style.headers["content-type"].split(";")[0] == "text/css"
    for text in (page, script.text, style.text):
        assert not re.search(r"https?://|url\(\s*['\"]?//|@import", text)
    assert "/api/v1/webchat/sessions" in script.text and "/api/v1/webchat/messages" in script.text


@pytest.mark.parametrize("name", ["app.js", "chat.html", "..%2Fapi.py", "CHAT.JS", "chat.js.map"])
async def test_unknown_assets_are_not_found(stack, name):
    response = await stack.client.get(f"/chat/assets/{name}")
    assert response.status_code == 404


# --- registration ------------------------------------------------------------------------


async def test_from_greeting_to_card_with_a_typed_local_number(stack):
    chat = WebChat(stack, language="uk")
    phone = new_phone()

    (greeting,) = await chat.open()
    assert chat.session_id and re.fullmatch(r"[A-Za-z0-9_-]{22,64}", chat.session_id)
    assert t("uk", "What is your first name?") in greeting.text
    assert greeting.buttons == ["have_card"]  # "I already have a plastic card"
    assert not greeting.menu and not greeting.image_url

    (ask_phone,) = await chat.send("Олена")
    assert ask_phone.text == t(
        "uk", "Nice to meet you, {name}! What is your phone number?", name="Олена"
    )
    assert ask_phone.ask_phone is False  # typed here: there is no share-contact button

    (ask_consent,) = await chat.send(typed_locally(phone))
    assert ask_consent.buttons == CONSENT_BUTTONS
    assert ask_consent.labels == [t("uk", "Yes, send offers"), t("uk", "No")]
    identity = await chat.identity()
    assert identity.state == "awaiting_consent" and identity.customer_id is None

    card_reply, _survey_question = await chat.send("consent:yes")

    assert re.fullmatch(r"/media/cards/[A-Za-z0-9_.-]+\.png", card_reply.image_url)
    assert card_reply.menu == MENU
    customer = await chat.customer()
    assert customer.first_name == "Олена"
    assert customer.unconfirmed_phone == phone  # typed "096 ..." became +38096...
    assert customer.phone is None  # a typed number is never taken as confirmed
    assert customer.language == "uk" and customer.timezone == "Europe/Kyiv"
    card = await Card.get(customer_id=customer.id)
    assert card.status == "active" and is_luhn_valid(card.number)
    assert t("uk", "Here is your loyalty card, {name}!", name="Олена") in card_reply.text
    assert (
        t("uk", "Card number: {number}", number=format_card_number(card.number)) in card_reply.text
    )
    consent = await latest_marketing_consent(customer.id)
    assert consent.granted and consent.channel == "webchat"

    image = await stack.client.get(card_reply.image_url)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert decode_qr(image.content) == card.number


async def test_declining_offers_still_gives_the_card_with_a_subscribe_button(stack):
    chat = WebChat(stack)
    card_reply, _survey_question = await chat.register(
        "Богдан", typed_locally(new_phone()), consent=False
    )

    assert card_reply.image_url
    assert card_reply.menu == ["/card", "/vouchers", "/language", "/subscribe", "/delete"]
    customer = await chat.customer()
    assert customer.marketing_consent is False
    assert not await has_consent(customer.id, ConsentPurpose.MARKETING)


@pytest.mark.parametrize(
    "typed", ["+380 96 {a} {b} {c}", "0{op}{a}{b}{c}", "(0{op}) {a}-{b}-{c}", "00380{op}{a}{b}{c}"]
)
async def test_common_ways_of_typing_a_number_are_understood(stack, typed):
    phone = new_phone()
    digits = phone.removeprefix("+38096")
    text = typed.format(op="96", a=digits[:3], b=digits[3:5], c=digits[5:])
    chat = WebChat(stack)
    await chat.open()
    await chat.send("Ганна")

    (ask_consent,) = await chat.send(text)

    assert ask_consent.buttons == CONSENT_BUTTONS, text
    assert (await chat.identity()).state_data["phone"] == phone


# --- resuming a session ------------------------------------------------------------------


async def test_reopening_after_the_name_asks_for_the_phone_again(stack):
    chat = WebChat(stack)
    await chat.open()
    await chat.send("Тарас")
    session_id = chat.session_id

    (again,) = await chat.open()

    assert chat.session_id == session_id
    assert again.text == t(
        "uk", "Nice to meet you, {name}! What is your phone number?", name="Тарас"
    )
    identity = await chat.identity()
    assert identity.state == "awaiting_phone"
    assert identity.state_data == {"first_name": "Тарас"}
    assert await ChannelIdentity.filter(channel="webchat", external_id=session_id).count() == 1


async def test_reopening_at_the_consent_question_asks_it_again(stack):
    chat = WebChat(stack)
    phone = new_phone()
    await chat.open()
    await chat.send("Марія")
    await chat.send(typed_locally(phone))

    (again,) = await chat.open()

    assert again.buttons == CONSENT_BUTTONS
    identity = await chat.identity()
    assert identity.state == "awaiting_consent"
    assert identity.state_data["first_name"] == "Марія" and identity.state_data["phone"] == phone
    card_reply, _survey_question = await chat.send("consent:yes")
    assert card_reply.image_url


async def test_reopening_as_a_registered_user_shows_the_same_card(stack):
    chat, _ = await registered_chat(stack, "Ірина")
    card = await card_of(chat)

    replies = await chat.open()

    assert replies[-1].image_url, [r.text for r in replies]
    assert format_card_number(card.number) in replies[-1].text
    assert replies[-1].menu == MENU
    image = await stack.client.get(replies[-1].image_url)
    assert decode_qr(image.content) == card.number
    assert await Card.filter(customer_id=card.customer_id).count() == 1


async def test_start_and_card_commands_show_the_same_card_never_a_second_one(stack):
    chat, _ = await registered_chat(stack, "Ірина")
    card = await card_of(chat)

    for command in ["/start", "/card", "/start"]:
        (reply,) = await chat.send(command)
        assert format_card_number(card.number) in reply.text, command
        assert reply.image_url and reply.menu == MENU

    assert await Card.filter(customer_id=card.customer_id).count() == 1


async def test_an_unknown_session_id_opens_a_new_session_instead(stack):
    chat = WebChat(stack)
    unknown = "x" * 32

    (greeting,) = await chat.open(unknown)

    assert chat.session_id != unknown
    assert t("uk", "What is your first name?") in greeting.text
    assert not await ChannelIdentity.exists(channel="webchat", external_id=unknown)


async def test_a_new_session_takes_the_browsers_language_when_none_is_given(stack):
    response = await stack.client.post(SESSIONS, json={}, headers={"Accept-Language": "pl-PL"})

    assert response.status_code == 200
    (greeting,) = response.json()["replies"]
    assert t("pl", "What is your first name?") in greeting["text"]


# --- card image URLs ---------------------------------------------------------------------


async def test_tampered_garbage_and_foreign_tokens_are_not_found(stack):
    _, card_reply = await registered_chat(stack)
    _, other_reply = await registered_chat(stack, "Петро")
    token = token_of(card_reply.image_url)
    claims, signature = token.split(".")
    card_id, expires_at = unb64(claims).split(".")
    other_card_id = unb64(token_of(other_reply.image_url).split(".")[0]).split(".")[0]
    assert other_card_id != card_id

    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = signature[:middle] + flipped + signature[middle + 1 :]
    forged = {
        "tampered signature": f"{claims}.{tampered}",
        "other card id": f"{b64(f'{other_card_id}.{expires_at}')}.{signature}",
        "later expiry": f"{b64(f'{card_id}.{int(expires_at) + 86400}')}.{signature}",
        "no signature": claims,
        "empty signature": f"{claims}.",
        "garbage": "garbage",
        "garbage with a dot": "not.base64!",
        "not a number": f"{b64('one.two')}.{signature}",
    }
    for case, bad in forged.items():
        response = await stack.client.get(f"/media/cards/{bad}.png")
        assert response.status_code == 404, case

    assert (await stack.client.get(card_reply.image_url)).status_code == 200


async def test_an_expired_token_is_not_found(stack):
    chat, _ = await registered_chat(stack)
    card = await card_of(chat)
    key = stack.settings.resolved_secret_key()
    now = utcnow()
    fresh = sign_card_token(key, card.id, card.media_salt, now, timedelta(days=30))
    expired = sign_card_token(
        key, card.id, card.media_salt, now - timedelta(days=31), timedelta(days=30)
    )

    assert (await stack.client.get(f"/media/cards/{fresh}.png")).status_code == 200
    assert (await stack.client.get(f"/media/cards/{expired}.png")).status_code == 404


@pytest.mark.parametrize(
    "card_id", ["99999999999999999999999", "-99999999999999999999999"], ids=["huge", "negative"]
)
async def test_an_out_of_range_card_id_is_not_found(stack, card_id):
    # A forged token naming no possible card must be a 404, not a database error.
    token = f"{b64(f'{card_id}.9999999999')}.{'A' * 32}"
    response = await stack.client.get(f"/media/cards/{token}.png")
    assert response.status_code == 404


async def test_a_non_ascii_signature_is_not_found(stack):
    _, card_reply = await registered_chat(stack)
    claims = token_of(card_reply.image_url).split(".")[0]

    response = await stack.client.get(f"/media/cards/{claims}.ключ.png")

    assert response.status_code == 404


async def test_erasure_revokes_the_card_image_url(stack):
    chat, card_reply = await registered_chat(stack)
    salt_before = (await card_of(chat)).media_salt
    customer_id = (await chat.customer()).id
    assert (await stack.client.get(card_reply.image_url)).status_code == 200

    await chat.send("/delete")
    await chat.send("delete:yes")

    assert (await stack.client.get(card_reply.image_url)).status_code == 404
    card = await Card.get(customer_id=customer_id)
    assert card.status == "blocked" and card.media_salt != salt_before


# --- invalid input -----------------------------------------------------------------------


async def test_an_invalid_phone_is_refused_and_the_step_kept(stack):
    chat = WebChat(stack)
    await chat.open()
    await chat.send("Олег")

    for bad in ["12345", "+380 12", "call me", "+1 555 0100"]:
        (reply,) = await chat.send(bad)
        assert reply.text == INVALID_PHONE, bad
        assert not reply.buttons and not reply.ask_phone

    identity = await chat.identity()
    assert identity.state == "awaiting_phone" and identity.customer_id is None
    assert identity.state_data == {"first_name": "Олег"}
    (ask_consent,) = await chat.send(typed_locally(new_phone()))
    assert ask_consent.buttons == CONSENT_BUTTONS


async def test_names_with_emoji_links_or_digits_are_refused(stack):
    chat = WebChat(stack)
    await chat.open()
    bad_characters = t(
        "uk",
        "A first name can only have letters, spaces, hyphens and apostrophes. "
        "What is your first name?",
    )

    for bad in ["😀😀", "Олена 😀", "visit http://spam.example", "www.spam.example", "R2D2"]:
        (reply,) = await chat.send(bad)
        assert reply.text == bad_characters, bad
    (too_long,) = await chat.send("Я" * 65)
    assert too_long.text == t(
        "uk", "That is too long for a first name. Please use at most 64 characters."
    )
    (blank,) = await chat.send("   ")
    assert blank.text == t("uk", "Please tell me your first name.")

    identity = await chat.identity()
    assert identity.state == "awaiting_name" and identity.state_data == {}
    (ask_phone,) = await chat.send("Анна-Марія О'Коннор")
    assert "Анна-Марія О'Коннор" in ask_phone.text


async def test_a_message_for_an_unknown_session_is_not_found_with_a_reason(stack):
    unknown = "U" * 32
    response = await stack.client.post(MESSAGES, json={"session_id": unknown, "text": "Олена"})

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert not await ChannelIdentity.exists(channel="webchat", external_id=unknown)


@pytest.mark.parametrize(
    "session_id",
    ["short", "a" * 21, "a" * 65, "a" * 30 + "!", "a" * 30 + "/..", "a" * 30 + " ", "ї" * 30],
)
async def test_a_malformed_session_id_is_unprocessable(stack, session_id):
    message = await stack.client.post(MESSAGES, json={"session_id": session_id, "text": "hi"})
    session = await stack.client.post(SESSIONS, json={"session_id": session_id})

    assert message.status_code == 422
    assert session.status_code == 422
    assert not await ChannelIdentity.exists(channel="webchat", external_id=session_id)


async def test_bad_message_bodies_are_unprocessable(stack):
    chat = WebChat(stack)
    await chat.open()
    session_id = chat.session_id

    bodies = {
        "empty text": {"session_id": session_id, "text": ""},
        "text over 1000 characters": {"session_id": session_id, "text": "Я" * 1001},
        "no text": {"session_id": session_id},
        "no session": {"text": "Олена"},
        "text not a string": {"session_id": session_id, "text": ["Олена"]},
    }
    for case, body in bodies.items():
        response = await stack.client.post(MESSAGES, json=body)
        assert response.status_code == 422, case

    for raw in [b'{"session_id": "' + session_id.encode() + b'", "text": ', b"not json", b""]:
        response = await stack.client.post(
            MESSAGES, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
    malformed_open = await stack.client.post(
        SESSIONS, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed_open.status_code == 422

    identity = await chat.identity()
    assert identity.state == "awaiting_name" and identity.state_data == {}  # nothing got through


async def test_a_text_of_exactly_1000_characters_is_accepted(stack):
    chat = WebChat(stack)
    await chat.open()

    (reply,) = await chat.send("Я" * 1000)

    assert reply.text == t(
        "uk", "That is too long for a first name. Please use at most 64 characters."
    )


# --- a number that belongs to someone else -----------------------------------------------


async def test_a_typed_number_with_a_confirmed_card_elsewhere_is_not_linked(stack):
    phone = new_phone()
    telegram = TelegramChat(stack, next(_telegram_ids))
    await telegram.register("Степан", phone.removeprefix("+"))
    owner = await Customer.get(phone=phone)
    owner_cards = await Card.filter(customer_id=owner.id).count()
    chat = WebChat(stack)
    await chat.open()
    await chat.send("Степан")

    refusal, _open_in_telegram = await chat.send(typed_locally(phone))

    assert refusal.text == NUMBER_TAKEN
    assert not refusal.image_url and not refusal.menu
    identity = await chat.identity()
    assert identity.customer_id is None
    assert identity.state == "awaiting_phone" and "phone" not in identity.state_data
    assert refusal.buttons == ["link:code", "link:opened"]
    assert await ChannelIdentity.filter(customer_id=owner.id).count() == 1
    assert await Card.filter(customer_id=owner.id).count() == owner_cards == 1
    assert await Customer.filter(unconfirmed_phone=phone).count() == 0

    # Another number goes on as usual, to a customer of its own.
    other = new_phone()
    await chat.send(typed_locally(other))
    card_reply, _survey_question = await chat.send("consent:yes")
    assert card_reply.image_url
    customer = await chat.customer()
    assert customer.id != owner.id and customer.unconfirmed_phone == other


# --- commands ----------------------------------------------------------------------------


async def test_changing_the_language(stack):
    chat, _ = await registered_chat(stack)

    (menu,) = await chat.send("/language")
    assert menu.buttons == ["lang:uk", "lang:en", "lang:pl", "lang:cs", "lang:ru"]

    changed, *_ = await chat.send("lang:en")

    assert changed.text == t("en", "Language changed.")
    assert (await chat.customer()).language == "en"
    assert (await chat.identity()).language == "en"
    (card_reply,) = await chat.send("/card")
    assert t("en", "Show this QR code at the till before paying.") in card_reply.text


async def test_stop_then_subscribe_again(stack):
    chat, _ = await registered_chat(stack)
    customer = await chat.customer()
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)

    (question,) = await chat.send("/stop")
    assert question.buttons == ["stop:yes", "stop:no"]
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)  # not before confirming
    (stopped,) = await chat.send("stop:yes")

    assert stopped.menu == ["/card", "/vouchers", "/language", "/subscribe", "/delete"]
    latest = await latest_marketing_consent(customer.id)
    assert latest.granted is False and latest.channel == "webchat"
    assert not await has_consent(customer.id, ConsentPurpose.MARKETING)

    (ask,) = await chat.send("/subscribe")
    assert ask.buttons == CONSENT_BUTTONS
    (subscribed,) = await chat.send("consent:yes")

    assert subscribed.text == t("uk", "Done: we will send you offers here.")
    assert subscribed.menu == MENU
    assert (await latest_marketing_consent(customer.id)).granted is True
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)
    assert await Card.filter(customer_id=customer.id).count() == 1


async def test_delete_erases_the_customer_and_ends_the_session(stack):
    chat, _ = await registered_chat(stack)
    customer_id = (await chat.customer()).id
    session_id = chat.session_id

    (question,) = await chat.send("/delete")
    assert question.buttons == ["delete:yes", "delete:no"]
    (erased,) = await chat.send("delete:yes")

    assert erased.text == t(
        "uk", "Your data has been erased and your card closed. Send /start to begin again."
    )
    customer = await Customer.get(id=customer_id)
    assert customer.first_name is None and customer.phone is None
    assert customer.unconfirmed_phone is None and customer.erased_at is not None
    card = await Card.get(customer_id=customer_id)
    assert card.status == "blocked" and card.status_reason == "erased"
    assert not await ChannelIdentity.filter(customer_id=customer_id).exists()
    assert not await ChannelIdentity.exists(channel="webchat", external_id=session_id)
    assert (await latest_marketing_consent(customer_id)).granted is False
    assert not await has_consent(customer_id, ConsentPurpose.MARKETING)

    gone = await chat.post("/card")
    assert gone.status_code == 404 and gone.json()["detail"]
    # The page then opens a new session: a stranger again, who may register anew.
    (greeting,) = await chat.open(session_id)
    assert chat.session_id != session_id
    assert t("uk", "What is your first name?") in greeting.text


async def test_delete_cancelled_changes_nothing(stack):
    chat, card_reply = await registered_chat(stack)

    await chat.send("/delete")
    (kept,) = await chat.send("delete:no")

    assert kept.text == t("uk", "OK, nothing changed.") and kept.menu == MENU
    assert (await chat.customer()).erased_at is None
    assert (await stack.client.get(card_reply.image_url)).status_code == 200
