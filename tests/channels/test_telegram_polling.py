"""`loyalty serve --polling`: the same bot by long polling, for local use with a real token."""

from __future__ import annotations

import asyncio
import random

from tests.support import telegram_payloads as tg
from tests.support.texts import t


async def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_polling_mode_answers_updates_fetched_with_get_updates(stack):
    user = tg.user(random.randint(10**10, 2 * 10**10), "Леся", "uk")
    stack.telegram.pending_updates.append(tg.text_update(user, "/start"))
    try:
        await stack.restart(polling=True)
        await wait_for(lambda: stack.telegram.calls_to("sendMessage", user["id"]))
    finally:
        await stack.restart()

    assert stack.telegram.calls_to("deleteWebhook")
    (greeting,) = stack.telegram.calls_to("sendMessage", user["id"])
    assert t("uk", "What is your first name?") in greeting.params["text"]
