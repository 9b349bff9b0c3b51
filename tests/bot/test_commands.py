"""/stop, /subscribe, /delete and /language in a messenger, effective at once."""

from __future__ import annotations

import itertools
import random

from crm_core.cards.models import Card
from crm_core.consents.models import Consent, ConsentPurpose
from crm_core.consents.service import has_consent
from crm_core.customers.models import ChannelIdentity, Customer
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t

_user_ids = itertools.count(random.randint(6 * 10**9, 7 * 10**9))


def phone() -> str:
    return f"+38068{random.randint(1000000, 9999999)}"


async def registered_chat(stack, consent: bool = True) -> tuple[TelegramChat, Customer]:
    chat = TelegramChat(stack, next(_user_ids))
    await chat.register("Софія", phone(), consent=consent)
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    return chat, await Customer.get(id=identity.customer_id)


async def test_stop_asks_for_confirmation_then_withdraws_consent_at_once(stack):
    chat, customer = await registered_chat(stack)
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)

    (question,) = await chat.text("/stop")
    assert question.inline_payloads() == ["stop:yes", "stop:no"]
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)  # not before confirming

    (done,) = await chat.press("stop:yes")

    assert (
        t("uk", "Done: no more offers. Your card keeps working. Send /subscribe to get them again.")
        in done.text
    )
    assert not await has_consent(customer.id, ConsentPurpose.MARKETING)
    latest = await Consent.filter(customer_id=customer.id).order_by("-id").first()
    assert latest.granted is False and latest.channel == "telegram"
    assert latest.text_version == "marketing-2026-12-v2:uk"


async def test_stop_cancelled_changes_nothing(stack):
    chat, customer = await registered_chat(stack)
    await chat.text("/stop")
    (reply,) = await chat.press("stop:no")
    assert t("uk", "OK, nothing changed.") in reply.text
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)


async def test_stop_without_consent_says_so(stack):
    chat, customer = await registered_chat(stack, consent=False)
    (reply,) = await chat.text("/stop")
    assert t("uk", "You are not subscribed to offers.") in reply.text
    assert await Consent.filter(customer_id=customer.id).count() == 1


async def test_subscribe_again_after_stop(stack):
    chat, customer = await registered_chat(stack, consent=False)
    (question,) = await chat.text("/subscribe")
    assert question.inline_payloads() == ["consent:yes", "consent:no"]
    await chat.press("consent:yes")
    assert await has_consent(customer.id, ConsentPurpose.MARKETING)


async def test_delete_erases_personal_data_closes_the_card_and_unlinks(stack):
    chat, customer = await registered_chat(stack)
    card = await Card.get(customer_id=customer.id)

    (question,) = await chat.text("/delete")
    assert question.inline_payloads() == ["delete:yes", "delete:no"]
    (done,) = await chat.press("delete:yes")

    assert (
        t("uk", "Your data has been erased and your card closed. Send /start to begin again.")
        in done.text
    )
    erased = await Customer.get(id=customer.id)
    assert erased.first_name is None and erased.phone is None and erased.unconfirmed_phone is None
    assert erased.erased_at is not None
    card = await Card.get(id=card.id)
    assert card.status == "blocked" and card.status_reason == "erased"
    assert not await ChannelIdentity.filter(customer_id=customer.id).exists()
    assert not await has_consent(customer.id, ConsentPurpose.MARKETING)


async def test_after_delete_start_registers_a_new_customer_with_a_new_card(stack):
    number = phone()
    chat = TelegramChat(stack, next(_user_ids))
    await chat.register("Софія", number)
    await chat.text("/delete")
    await chat.press("delete:yes")

    card_message, _survey_question = await chat.register("Софія", number)

    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert await Customer.filter(phone=number).count() == 1
    assert (await Customer.get(id=identity.customer_id)).phone == number
    assert card_message.method == "sendPhoto"


async def test_delete_cancelled_keeps_everything(stack):
    chat, customer = await registered_chat(stack)
    await chat.text("/delete")
    await chat.press("delete:no")
    assert (await Customer.get(id=customer.id)).first_name == "Софія"


async def test_language_switches_every_following_text(stack):
    chat, customer = await registered_chat(stack)
    (menu,) = await chat.text("/language")
    assert menu.inline_payloads() == ["lang:uk", "lang:en", "lang:pl", "lang:cs", "lang:ru"]

    replies = await chat.press("lang:cs")

    assert t("cs", "Language changed.") in replies[0].text
    assert (await Customer.get(id=customer.id)).language == "cs"
    (card,) = await chat.text("/card")
    assert t("cs", "Show this QR code at the till before paying.") in card.text


async def test_language_can_be_changed_mid_registration_without_losing_the_step(stack):
    chat = TelegramChat(stack, next(_user_ids))
    await chat.text("/start")
    await chat.text("Ян")
    replies = await chat.press("lang:en")
    assert t("en", "Language changed.") in replies[0].text
    assert replies[-1].asks_for_contact()
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.language == "en" and identity.state == "awaiting_phone"


async def test_card_before_registration_explains_and_starts(stack):
    chat = TelegramChat(stack, next(_user_ids))
    replies = await chat.text("/card")
    assert t("uk", "You don't have a card yet.") in replies[0].text
    assert t("uk", "What is your first name?") in replies[-1].text
