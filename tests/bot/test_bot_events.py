"""What customers do in the bot is kept as events segments can select on, never personal data."""

from __future__ import annotations

import itertools
import json
import random

from crm_core.customers.models import ChannelIdentity
from crm_core.events.models import CustomerEvent, EventKind
from tests.crm_core.cards.test_imports import import_one
from tests.support.staff import new_voucher
from tests.support.telegram_chat import TelegramChat
from tests.support.viber_chat import ViberChat
from tests.support.webchat_chat import WebChat, new_phone, typed_locally

_user_ids = itertools.count(random.randint(7 * 10**11, 8 * 10**11))
# Kyivstar +38077...: no other test module uses this operator code.
_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))


def phone() -> str:
    return f"+38077{next(_subscribers):07d}"


async def customer_id_of(channel: str, external_id: str) -> int:
    identity = await ChannelIdentity.get(channel=channel, external_id=external_id)
    assert identity.customer_id is not None
    return identity.customer_id


async def events_of(customer_id: int, kind: EventKind | None = None) -> list[CustomerEvent]:
    events = CustomerEvent.filter(customer_id=customer_id).order_by("occurred_at", "id")
    return await (events.filter(kind=kind) if kind else events)


async def test_a_registration_is_recorded_once_with_its_channel(stack):
    chat = WebChat(stack)
    await chat.register("Олена", typed_locally(new_phone()))

    customer = await chat.customer()
    (registered,) = await events_of(customer.id, EventKind.REGISTERED)
    assert registered.channel == "webchat"
    assert registered.occurred_at == customer.created_at


async def test_joining_from_a_second_messenger_is_no_second_registration(stack):
    number = phone()
    viber = ViberChat(stack)
    await viber.register("Тарас", number.removeprefix("+"))
    telegram = TelegramChat(stack, next(_user_ids))
    await telegram.text("/start")
    await telegram.text("Тарас")
    await telegram.contact(number)

    customer_id = await customer_id_of("viber", viber.user_id)
    assert customer_id == await customer_id_of("telegram", str(telegram.user_id))
    registrations = await events_of(customer_id, EventKind.REGISTERED)
    assert [e.channel for e in registrations] == ["viber"]


async def test_a_plastic_card_holders_first_chat_is_their_registration(stack, tmp_path):
    number, card_phone = await import_one(stack, tmp_path)
    chat = TelegramChat(stack, next(_user_ids))
    await chat.text("/start")
    await chat.press("have_card")
    await chat.text(number)
    await chat.contact(card_phone)

    (registered,) = await events_of(
        await customer_id_of("telegram", str(chat.user_id)), EventKind.REGISTERED
    )
    assert registered.channel == "telegram" and registered.data == {"existing_customer": True}


async def test_button_presses_are_recorded_by_button_and_nothing_personal(stack):
    number = phone()
    chat = TelegramChat(stack, next(_user_ids))
    await chat.register("Соломія", number)
    await chat.press("survey:skip")
    await chat.text("/language")
    await chat.press("lang:en")
    await chat.text("/card")  # a command, not a button

    customer_id = await customer_id_of("telegram", str(chat.user_id))
    clicks = await events_of(customer_id, EventKind.CLICKED_BUTTON)
    assert [e.data for e in clicks] == [
        {"button": "consent:yes"},
        {"button": "survey:skip"},
        {"button": "lang:en"},
    ]
    assert {e.channel for e in clicks} == {"telegram"}
    everything = json.dumps([e.data for e in await events_of(customer_id)], ensure_ascii=False)
    assert "Соломія" not in everything and number[4:] not in everything


async def test_typed_text_that_looks_like_a_button_is_not_recorded(stack):
    chat = ViberChat(stack)
    await chat.register("Тарас", phone().removeprefix("+"))

    await chat.text("lang:Тарас, 0771234567")  # Viber sends button payloads as text too

    customer_id = await customer_id_of("viber", chat.user_id)
    clicks = await events_of(customer_id, EventKind.CLICKED_BUTTON)
    assert [e.data for e in clicks] == [{"button": "consent:yes"}]


async def test_opening_the_vouchers_is_an_opened_offer(stack):
    chat = TelegramChat(stack, next(_user_ids))
    await chat.register("Дарина", phone())
    customer_id = await customer_id_of("telegram", str(chat.user_id))
    voucher = await new_voucher(customer_id, title="−10% на все")

    await chat.text("/vouchers")

    (opened,) = await events_of(customer_id, EventKind.OPENED_OFFER)
    assert opened.channel == "telegram" and opened.data == {"vouchers": [voucher.id]}


async def test_stopping_offers_is_an_opt_out_and_only_once(stack):
    chat = WebChat(stack)
    await chat.register("Богдан", typed_locally(new_phone()))
    await chat.send("/stop")
    await chat.send("stop:yes")
    await chat.send("/stop")  # nothing left to withdraw: no question, no event

    customer = await chat.customer()
    (opted_out,) = await events_of(customer.id, EventKind.OPTED_OUT)
    assert opted_out.channel == "webchat"
    assert not customer.marketing_consent
