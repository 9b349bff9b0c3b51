"""A1/A2: one phone, one customer, one card, in any order of channels, with proof, no SMS.

A typed number (web chat) or a Viber contact proves nothing. A chat sending a number in use is
offered a one-time code sent to that customer's Telegram or Viber chats; nothing of the
customer is shown before the code comes back, and the words are the same whoever holds the
number. A messenger proving a number merges the web-chat registrations that typed it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re

import httpx
import pytest

from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.identity.models import LinkRequest
from crm_core.staff.models import Role
from tests.crm_core.cards.test_imports import import_one
from tests.support.qr import decode_qr
from tests.support.staff import new_key
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t
from tests.support.till import line, open_till, receipt
from tests.support.viber_chat import ViberChat
from tests.support.webchat_chat import SESSIONS, WebChat, typed_locally

# Kyivstar +38068...: no other test module draws from this operator code.
_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))
_telegram_ids = itertools.count(random.randint(9 * 10**11, 10**12 - 1))

NEEDS_PROOF = (
    "I cannot use this number here without a confirmation. If it has our card in Telegram or "
    'Viber, tap "Send me a code": a one-time code will arrive there. Or send another number.'
)
CODE_SENT = (
    "If this number has our card in Telegram or Viber, a one-time code has just arrived there. "
    "Please type it here; it is valid for {minutes} minutes."
)
WRONG_CODE = "That code is not right. Please check it and type it again."
OPEN_IN_TELEGRAM = (
    'Or tap "Open in Telegram" and confirm there, in the chat where you have our card; then '
    "come back and reload this page."
)
LINK_GONE = (
    "This link is no longer valid, or it is for another number. "
    "Please ask for a new one in the web chat."
)
CODE_GONE = (
    'This code is no longer valid. Tap "Send me a code" for a new one, or send another number.'
)


def new_phone() -> str:
    return f"+38068{next(_subscribers):07d}"


async def telegram_customer(stack, phone: str, name: str = "Соломія") -> tuple[TelegramChat, str]:
    chat = TelegramChat(stack, next(_telegram_ids))
    card_message, _survey_question = await chat.register(name, phone)
    return chat, decode_qr(card_message.photo)


def codes_pushed_to(stack, telegram: TelegramChat, since: int) -> list[str]:
    texts = [
        c.params.get("text") or ""
        for c in stack.telegram.calls[since:]
        if c.method == "sendMessage" and c.chat_id == str(telegram.user_id)
    ]
    return [m for text in texts for m in re.findall(r"\b\d{6}\b", text)]


async def web_chat_at_phone_step(stack, name: str = "Соломія") -> WebChat:
    chat = WebChat(stack)
    await chat.open()
    await chat.send(name)
    return chat


def shown(replies) -> str:
    return "\n".join(r.text + " " + " ".join(r.labels) + " " + str(r.image_url) for r in replies)


async def test_the_web_chat_reaches_a_telegram_card_only_with_the_code_sent_there(stack):
    phone = new_phone()
    telegram, card_number = await telegram_customer(stack, phone)
    owner = await Customer.get(phone=phone)
    web = await web_chat_at_phone_step(stack, "Мирослава")

    refusal, _open_in_telegram = await web.send(typed_locally(phone))

    assert refusal.text == t("uk", NEEDS_PROOF)
    assert refusal.buttons == ["link:code", "link:opened"]
    assert "Соломія" not in shown([refusal]) and card_number not in shown([refusal])
    before = len(stack.telegram.calls)
    (asked,) = await web.send("link:code")
    assert asked.text == t("uk", CODE_SENT, minutes=10)
    (code,) = codes_pushed_to(stack, telegram, before)
    # Pressed again at once: no second code, and the first one still works.
    await web.send("link:other")
    await web.send(typed_locally(phone))
    (again,) = await web.send("link:code")
    assert again.text == t("uk", CODE_SENT, minutes=10)
    assert codes_pushed_to(stack, telegram, before) == [code]

    (wrong,) = await web.send("000000" if code != "000000" else "111111")
    assert wrong.text == t("uk", WRONG_CODE)
    assert (await web.identity()).customer_id is None

    done, card_reply = await web.send(code)

    assert done.text == t("uk", "Done: your card is now in this chat.")
    assert format_card_number(card_number) in card_reply.text
    assert (await web.identity()).customer_id == owner.id
    assert await Card.filter(customer_id=owner.id).count() == 1
    assert await Customer.filter(unconfirmed_phone=phone).count() == 0
    # Used once: the same code from another chat opens nothing.
    other = await web_chat_at_phone_step(stack)
    await other.send(typed_locally(phone))
    await other.send("link:code")
    (reused,) = await other.send(code)
    assert reused.text in {t("uk", WRONG_CODE), t("uk", CODE_GONE)}
    assert (await other.identity()).customer_id is None


async def test_a_viber_chat_joins_a_telegram_customer_with_the_code(stack):
    phone = new_phone()
    telegram, card_number = await telegram_customer(stack, phone)
    viber = ViberChat(stack)
    await viber.text("/start")
    await viber.text("Соломія")
    (refusal,) = await viber.contact(phone.removeprefix("+"))
    assert "link:code" in refusal.button_payloads()
    before = len(stack.telegram.calls)
    await viber.press("link:code")
    (code,) = codes_pushed_to(stack, telegram, before)

    replies = await viber.text(code)

    assert replies[0].text == t("uk", "Done: your card is now in this chat.")
    assert any(format_card_number(card_number) in m.text for m in replies)
    owner = await Customer.get(phone=phone)
    identity = await ChannelIdentity.get(channel="viber", external_id=viber.user_id)
    assert identity.customer_id == owner.id


async def test_five_wrong_codes_end_the_request(stack):
    phone = new_phone()
    telegram, _ = await telegram_customer(stack, phone)
    web = await web_chat_at_phone_step(stack)
    await web.send(typed_locally(phone))
    before = len(stack.telegram.calls)
    await web.send("link:code")
    (code,) = codes_pushed_to(stack, telegram, before)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [(await web.send(wrong))[0].text for _ in range(5)]
    (late,) = await web.send(code)

    assert answers[:4] == [t("uk", WRONG_CODE)] * 4
    assert answers[4] == t("uk", CODE_GONE)
    assert late.text != t("uk", "Done: your card is now in this chat.")
    assert (await web.identity()).customer_id is None
    request = await LinkRequest.filter(
        identity_id=(await web.identity()).id, code_hash__isnull=False
    ).first()
    assert request is not None and request.code_hash != code and code not in request.code_hash


async def test_wrong_codes_sent_at_once_count_one_by_one(stack):
    """Guesses sent in parallel must not share one count: after five, even the right code
    opens nothing."""
    phone = new_phone()
    telegram, _ = await telegram_customer(stack, phone)
    web = await web_chat_at_phone_step(stack)
    await web.send(typed_locally(phone))
    before = len(stack.telegram.calls)
    await web.send("link:code")
    (code,) = codes_pushed_to(stack, telegram, before)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    await asyncio.gather(*(web.send(wrong) for _ in range(12)))
    late = await web.send(code)

    assert t("uk", "Done: your card is now in this chat.") not in [r.text for r in late]
    assert (await web.identity()).customer_id is None
    request = await LinkRequest.filter(
        identity_id=(await web.identity()).id, code_hash__isnull=False
    ).first()
    assert request is not None and request.attempts <= 5 + 1  # five guesses and the late code


async def test_the_words_are_the_same_whoever_holds_the_number(stack):
    """A confirmed Telegram number and a number only typed in another web chat look alike; the
    second gets no code anywhere (its holder has no messenger), and no second card."""
    confirmed, typed = new_phone(), new_phone()
    await telegram_customer(stack, confirmed)
    first = WebChat(stack)
    await first.register("Соломія", typed_locally(typed))
    answers = []
    for phone in (confirmed, typed):
        web = await web_chat_at_phone_step(stack)
        refusal, how = await web.send(typed_locally(phone))
        (asked,) = await web.send("link:code")
        answers.append((refusal.text, refusal.buttons, how.text, asked.text))
        assert (await web.identity()).customer_id is None

    assert answers[0] == answers[1]
    assert await Customer.filter(unconfirmed_phone=typed).count() == 1
    assert await Card.filter(customer__unconfirmed_phone=typed).count() == 1


async def test_telegram_confirming_a_typed_number_merges_the_web_chat_registration(stack):
    phone = new_phone()
    web = WebChat(stack)
    _web_card_reply, _survey = await web.register("Соломія", typed_locally(phone))
    web_customer = await web.customer()
    web_card = await Card.get(customer_id=web_customer.id)
    till = await open_till(stack)
    bought = await till.post("/api/v1/pos/purchases", receipt([line()], card=web_card.number))
    assert bought.status_code in (200, 201), bought.text

    _telegram, card_number = await telegram_customer(stack, phone)

    owner = await Customer.get(phone=phone)
    assert card_number != web_card.number
    assert await Customer.filter(unconfirmed_phone=phone, erased_at__isnull=True).count() == 0
    assert (await Customer.get(id=web_customer.id)).merged_into_id == owner.id
    scanned = await till.scan(web_card.number)
    assert scanned.status_code == 200 and scanned.json()["card"]["number"] == card_number
    marketer = {"Authorization": f"Bearer {await new_key(Role.MARKETER)}"}
    history = await stack.client.get(f"/api/v1/customers/{owner.id}/purchases", headers=marketer)
    assert len(history.json()["items"]) == 1
    # The web chat never proved the number: it is detached, not shown the Telegram card.
    assert (await web.identity()).customer_id is None


async def test_a_plastic_card_and_its_phone_in_the_web_chat_bring_the_card(stack, tmp_path):
    number, phone = await import_one(stack, tmp_path)
    web = WebChat(stack)
    await web.open()
    await web.send("have_card")
    await web.send(number)

    done, card_reply = await web.send(typed_locally(phone))

    assert done.text == t("uk", "Done: your card is now in this chat.")
    assert format_card_number(number) in card_reply.text
    card = await Card.get(number=number)
    assert (await web.identity()).customer_id == card.customer_id  # type: ignore[attr-defined]


@pytest.mark.parametrize("rounds", [6])
async def test_two_sessions_typing_one_number_at_once_make_one_card(stack, rounds):
    """Real concurrent clients on the live server: each pair races to the consent answer."""
    for _ in range(rounds):
        phone = new_phone()
        async with (
            httpx.AsyncClient(base_url=stack.client.base_url, timeout=30) as a,
            httpx.AsyncClient(base_url=stack.client.base_url, timeout=30) as b,
        ):
            sessions = []
            for client in (a, b):
                opened = await client.post(SESSIONS, json={"language": "uk"})
                session_id = opened.json()["session_id"]
                for text in ("Соломія", typed_locally(phone)):
                    sent = await client.post(
                        "/api/v1/webchat/messages", json={"session_id": session_id, "text": text}
                    )
                    assert sent.status_code == 200, sent.text
                sessions.append((client, session_id))
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/webchat/messages",
                        json={"session_id": session_id, "text": "consent:yes"},
                    )
                    for client, session_id in sessions
                )
            )
        assert [a.status_code for a in answers] == [200, 200]
        cards = [r for answer in answers for r in answer.json()["replies"] if r["image_url"]]
        assert len(cards) == 1
        assert await Customer.filter(unconfirmed_phone=phone).count() == 1


async def web_link_to_telegram(stack, phone: str) -> tuple[WebChat, str]:
    web = await web_chat_at_phone_step(stack)
    refusal, how = await web.send(typed_locally(phone))
    assert how.text == t("uk", OPEN_IN_TELEGRAM)
    (url,) = [u for u in refusal.urls if u]
    match = re.fullmatch(r"https://t\.me/loyalty_test_bot\?start=(link_[A-Za-z0-9_-]+)", url)
    assert match, url
    assert len(match.group(1)) <= 64  # Telegram's limit for a /start payload
    return web, match.group(1)


async def test_opening_the_web_chats_telegram_link_from_the_owners_chat_joins_it(stack):
    phone = new_phone()
    telegram, card_number = await telegram_customer(stack, phone)
    owner = await Customer.get(phone=phone)
    web, payload = await web_link_to_telegram(stack, phone)

    (done,) = await telegram.text(f"/start {payload}")

    assert done.text == t("uk", "Done: the web chat now shows your card. Reload the page there.")
    assert (await web.identity()).customer_id == owner.id
    reloaded = await web.open()
    assert any(format_card_number(card_number) in r.text for r in reloaded)
    # Used once.
    (again,) = await telegram.text(f"/start {payload}")
    assert again.text == t("uk", LINK_GONE)


async def test_a_link_opened_by_another_numbers_chat_joins_nothing(stack):
    phone = new_phone()
    await telegram_customer(stack, phone)
    stranger, _ = await telegram_customer(stack, new_phone(), name="Тарас")
    web, payload = await web_link_to_telegram(stack, phone)

    (refused,) = await stranger.text(f"/start {payload}")

    assert refused.text == t("uk", LINK_GONE)
    assert (await web.identity()).customer_id is None
    # A chat without a card is told to get one first, and its registration starts.
    newcomer = TelegramChat(stack, next(_telegram_ids))
    note, greeting = await newcomer.text(f"/start {payload}")
    assert "/start" not in note.text and t("uk", "What is your first name?") in greeting.text
    assert (await web.identity()).customer_id is None
