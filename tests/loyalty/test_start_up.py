"""Start-up never waits on the platforms: webhooks and command menus are registered in the
background, retried, and `/healthz` shows where each registration stands."""

from __future__ import annotations

import asyncio

from tests.support.health import registrations, until_registered
from tests.support.live_server import LiveServer

STARTED_WITHIN_SECONDS = 60


async def test_the_app_serves_while_telegram_hangs_and_registers_once_it_answers(stack):
    await stack.server.stop()
    stack.telegram.hang("setWebhook")
    stack.server = LiveServer(stack.settings, stack.server.port)
    starting = asyncio.create_task(stack.server.start())
    try:
        # Generous, only so that a start-up blocked on the hung call fails instead of hanging.
        await asyncio.wait_for(asyncio.shield(starting), STARTED_WITHIN_SECONDS)
        before = len(stack.telegram.calls_to("setWebhook"))
        while len(stack.telegram.calls_to("setWebhook")) == before:
            await asyncio.sleep(0.05)  # the registration is under way, its call unanswered
        status = await registrations(stack)
        assert status["telegram_webhook"]["state"] in ("pending", "failing")
        assert (await stack.client.get("/chat")).status_code == 200
    finally:
        stack.telegram.release("setWebhook")
        if not starting.done():
            await starting
    done = await until_registered(stack, "telegram_webhook")
    assert done["last_error"] is None
    assert (await registrations(stack))["telegram_commands"]["state"] in ("pending", "done")


async def test_a_failed_registration_shows_as_failing_and_is_retried(stack):
    await stack.server.stop()
    stack.telegram.fail_next("setWebhook", 502, "Bad Gateway")
    stack.server = LiveServer(stack.settings, stack.server.port)
    await stack.server.start()
    done = await until_registered(stack, "telegram_webhook")
    assert done["attempts"] >= 2
