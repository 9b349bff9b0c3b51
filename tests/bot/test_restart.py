"""Conversation state lives in the database: a new web process continues the registration."""

from __future__ import annotations

import random

from crm_core.customers.models import ChannelIdentity
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t


async def test_a_restart_mid_registration_resumes_where_the_user_was(stack):
    chat = TelegramChat(stack, random.randint(8 * 10**9, 9 * 10**9))
    await chat.text("/start")
    await chat.text("Орест")

    await stack.restart()

    (consent_question,) = await chat.contact(f"+38097{random.randint(1000000, 9999999)}")
    assert consent_question.inline_payloads() == ["consent:yes", "consent:no"]
    card, survey_question = await chat.press("consent:yes")
    assert t("uk", "Here is your loyalty card, {name}!", name="Орест") in card.text
    assert decode_qr(card.photo).startswith("2710")
    await chat.skip_survey([survey_question])
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    assert identity.state == "registered"
