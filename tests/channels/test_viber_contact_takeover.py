"""D30: a Viber contact never proves a number, so it never joins the customer who has it.

Viber sends a shared contact without a user id: a number forwarded from the address book looks
exactly like the user's own. Registered numbers stay with their customer; free ones register.
"""

from __future__ import annotations

import itertools
import random

from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number
from crm_core.customers.models import ChannelIdentity, Customer
from tests.crm_core.cards.test_imports import import_one
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t
from tests.support.viber_chat import Outgoing, ViberChat

# Vodafone numbers (+38095...) with a random block: other modules draw other operator codes.
_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))
_telegram_ids = itertools.count(random.randint(8 * 10**11, 9 * 10**11))

NEEDS_PROOF = (
    "I cannot use this number here without a confirmation. If it has our card in Telegram or "
    'Viber, tap "Send me a code": a one-time code will arrive there. Or send another number.'
)


def new_phone() -> str:
    return f"+38095{next(_subscribers):07d}"


async def viber_identity(chat: ViberChat) -> ChannelIdentity:
    return await ChannelIdentity.get(channel="viber", external_id=chat.user_id)


def everything_said(messages: list[Outgoing]) -> str:
    return "\n".join(m.text + " " + str(m.body.get("keyboard") or "") for m in messages)


async def telegram_customer(stack, name: str, phone: str) -> tuple[Customer, str]:
    chat = TelegramChat(stack, next(_telegram_ids))
    card_message, _survey_question = await chat.register(name, phone)
    return await Customer.get(phone=phone), decode_qr(card_message.photo)


async def test_a_contact_with_a_telegram_customers_number_does_not_open_their_card(stack):
    phone = new_phone()
    owner, card_number = await telegram_customer(stack, "Ярослава", phone)
    intruder = ViberChat(stack, name="Ярослава")
    await intruder.text("/start")
    await intruder.text("Мирон")

    replies = await intruder.contact(phone.removeprefix("+"))

    (refusal,) = replies
    assert refusal.text == t("uk", NEEDS_PROOF)
    assert refusal.asks_for_phone()  # another number may follow
    assert "link:code" in refusal.button_payloads()
    said = everything_said(replies)
    assert card_number not in said and format_card_number(card_number) not in said
    assert "Ярослава" not in said
    assert not any(m.type == "picture" for m in replies)
    identity = await viber_identity(intruder)
    assert identity.customer_id is None and identity.state == "awaiting_phone"

    # Nothing of the owner is reachable from this chat afterwards.
    for command in ["/card", "/vouchers", "/delete", "delete:yes"]:
        answer = everything_said(await intruder.text(command))
        assert card_number not in answer and format_card_number(card_number) not in answer
    assert (await viber_identity(intruder)).customer_id is None
    await owner.refresh_from_db()
    assert owner.erased_at is None and owner.phone == phone
    assert await Card.filter(customer_id=owner.id, status="active").count() == 1
    owner_chats = await ChannelIdentity.filter(customer_id=owner.id).values_list(
        "channel", flat=True
    )
    assert owner_chats == ["telegram"]


async def test_a_contact_with_another_viber_customers_number_is_refused_too(stack):
    phone = new_phone()
    owner_chat = ViberChat(stack)
    await owner_chat.register("Орест", phone.removeprefix("+"))
    owner = await Customer.get(phone=phone)
    intruder = ViberChat(stack)
    await intruder.text("/start")
    await intruder.text("Орест")

    (refusal,) = await intruder.contact(phone.removeprefix("+"))

    assert refusal.text == t("uk", NEEDS_PROOF)
    assert (await viber_identity(intruder)).customer_id is None
    assert await ChannelIdentity.filter(customer_id=owner.id).count() == 1


async def test_a_number_taken_between_the_contact_and_the_consent_is_not_joined(stack):
    phone = new_phone()
    late = ViberChat(stack)
    await late.text("/start")
    await late.text("Ніна")
    (consent_question,) = await late.contact(phone.removeprefix("+"))
    assert consent_question.button_payloads() == ["consent:yes", "consent:no"]
    owner, card_number = await telegram_customer(stack, "Ніна", phone)

    replies = await late.press("consent:yes")

    (refusal,) = replies
    assert refusal.text == t("uk", NEEDS_PROOF)
    assert card_number not in everything_said(replies)
    identity = await viber_identity(late)
    assert identity.customer_id is None and identity.state == "awaiting_phone"
    assert await Customer.filter(phone=phone).count() == 1

    # The refused chat can still register with its own free number.
    await late.contact(new_phone().removeprefix("+"))
    _card_text, card_picture, *_ = await late.press("consent:yes")
    assert card_picture.type == "picture"
    assert (await viber_identity(late)).customer_id not in (None, owner.id)


async def test_a_free_number_still_registers_by_viber_contact(stack):
    phone = new_phone()
    chat = ViberChat(stack)

    _card_text, card_picture, *_ = await chat.register("Богдан", phone.removeprefix("+"))

    assert card_picture.type == "picture"
    customer = await Customer.get(phone=phone)
    assert (await viber_identity(chat)).customer_id == customer.id


async def test_a_plastic_card_in_no_chat_yet_joins_by_its_number_and_phone(stack, tmp_path):
    number, phone = await import_one(stack, tmp_path)
    chat = ViberChat(stack)
    await chat.text("/start")
    await chat.press("have_card")
    await chat.text(number)

    done, _card_text, card_picture = await chat.contact(phone.removeprefix("+"))

    assert done.text == t("uk", "Done: your card is now in this chat.")
    assert card_picture.type == "picture"
    card = await Card.get(number=number)
    assert (await viber_identity(chat)).customer_id == card.customer_id  # type: ignore[attr-defined]

    # The same card number and phone from a second Viber chat: the card has a chat now.
    second = ViberChat(stack)
    await second.text("/start")
    await second.press("have_card")
    await second.text(number)
    replies = await second.contact(phone.removeprefix("+"))
    assert not any(m.type == "picture" for m in replies)
    assert (await viber_identity(second)).customer_id is None


async def test_telegram_still_refuses_someone_elses_contact(stack):
    chat = TelegramChat(stack, next(_telegram_ids))
    await chat.text("/start")
    await chat.text("Зоряна")

    (refusal,) = await chat.contact(new_phone(), own=False)

    assert t("uk", "That is someone else's contact. Please share your own number.") in refusal.text
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.customer_id is None
