"""Names and phone numbers never reach the logs, even when deliveries fail."""

from __future__ import annotations

import logging
import random

from tests.support.telegram_chat import TelegramChat


async def test_a_registration_with_failures_logs_no_name_and_no_phone(stack, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="channels")
    caplog.set_level(logging.DEBUG, logger="crm_core")
    caplog.set_level(logging.INFO)
    name = "Зоряна"
    local = f"{random.randint(1000000, 9999999)}"
    phone = f"+38093{local}"
    chat = TelegramChat(stack, random.randint(2 * 10**10, 3 * 10**10), first_name=name)
    await chat.text("/start")
    await chat.text(name)
    await chat.text("not a button")
    await chat.contact(phone)
    stack.telegram.fail_next("sendPhoto", 403, "Forbidden: bot was blocked by the user")
    await chat.press("consent:yes")
    await chat.text("/card")

    assert caplog.records, "logging was captured"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "telegram send failed" in logged  # the failure itself is logged...
    assert name not in logged  # ...without the person
    assert local not in logged
