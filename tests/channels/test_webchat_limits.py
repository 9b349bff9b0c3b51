"""D38: the public web chat limits what one client can ask for, and idle sessions expire.

The suite's shared app has the limits off (every test talks from 127.0.0.1), so this module
starts `loyalty serve` with small limits, on the same database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity
from crm_core.housekeeping.service import expire_idle_webchat_sessions
from tests.crm_core.cards.test_imports import LOYALTY
from tests.support.live_server import free_port
from tests.support.texts import t
from tests.support.webchat_chat import MESSAGES, SESSIONS, WebChat, new_phone, typed_locally

SESSIONS_PER_MINUTE = 5
MESSAGES_PER_MINUTE = 8
TOO_MANY = "Too many messages at once. Please wait a moment and try again."


@pytest.fixture(scope="module")
async def limited(stack) -> AsyncIterator[httpx.AsyncClient]:
    """`loyalty serve` in a process of its own, with small limits, on the suite's database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "SECRET_KEY": "test-media-signing-key",
        "WEBCHAT_SESSIONS_PER_MINUTE": str(SESSIONS_PER_MINUTE),
        "WEBCHAT_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
        "WEBCHAT_CLIENT_MESSAGES_PER_MINUTE": "1000",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "VIBER_AUTH_TOKEN", "PUBLIC_BASE_URL", "REDIS_URL"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        LOYALTY, "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            # Start-up imports take seconds, tens of them on a loaded test machine.
            for _ in range(1200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            yield client
    finally:
        process.terminate()
        await process.wait()


async def open_session(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(SESSIONS, json={"language": "uk"}, headers={"Accept-Language": "uk"})


async def test_opening_sessions_beyond_the_limit_is_429_and_creates_nothing(stack, limited):
    before = await ChannelIdentity.filter(channel="webchat").count()
    opened = [await open_session(limited) for _ in range(SESSIONS_PER_MINUTE)]
    assert [r.status_code for r in opened] == [200] * SESSIONS_PER_MINUTE

    refused = await open_session(limited)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json() == {"detail": t("uk", TOO_MANY), "code": "too_many_requests"}
    assert await ChannelIdentity.filter(channel="webchat").count() == before + SESSIONS_PER_MINUTE
    # A session already open still resumes and talks.
    session_id = opened[0].json()["session_id"]
    resumed = await limited.post(SESSIONS, json={"session_id": session_id})
    assert resumed.status_code == 200 and resumed.json()["session_id"] == session_id


async def test_messages_beyond_the_limit_of_a_session_are_429(stack, limited):
    # Opened through the suite's app (same database): this client's sessions are used up.
    chat = WebChat(stack)
    await chat.open()
    session_id = chat.session_id

    answers = [
        await limited.post(MESSAGES, json={"session_id": session_id, "text": f"Ім'я{i}"})
        for i in range(MESSAGES_PER_MINUTE + 1)
    ]

    assert [a.status_code for a in answers[:-1]] == [200] * MESSAGES_PER_MINUTE
    assert answers[-1].status_code == 429
    assert answers[-1].json()["code"] == "too_many_requests"
    assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_an_idle_session_that_registered_nobody_expires(stack):
    idle = WebChat(stack)
    await idle.open()
    await idle.send("Остап")
    registered = WebChat(stack)
    await registered.register("Остап", typed_locally(new_phone()))
    long_ago = utcnow() - timedelta(hours=stack.settings.webchat_idle_session_hours + 1)
    for chat in (idle, registered):
        await ChannelIdentity.filter(channel="webchat", external_id=chat.session_id).update(
            last_seen_at=long_ago
        )

    gone = await idle.post("+380501234567")
    still = await registered.post("/card")

    assert gone.status_code == 404
    assert not await ChannelIdentity.exists(channel="webchat", external_id=idle.session_id)
    assert still.status_code == 200
    # Reopening the expired session starts a new one.
    reopened = await stack.client.post(SESSIONS, json={"session_id": idle.session_id})
    assert reopened.json()["session_id"] != idle.session_id


async def test_the_scheduler_clean_up_removes_only_idle_sessions_of_nobody(stack):
    idle, fresh = WebChat(stack), WebChat(stack)
    await idle.open()
    await fresh.open()
    registered = WebChat(stack)
    await registered.register("Остап", typed_locally(new_phone()))
    long_ago = utcnow() - timedelta(days=2)
    for chat in (idle, registered):
        await ChannelIdentity.filter(channel="webchat", external_id=chat.session_id).update(
            last_seen_at=long_ago
        )

    removed = await expire_idle_webchat_sessions(utcnow(), timedelta(days=1))

    assert removed >= 1
    assert not await ChannelIdentity.exists(channel="webchat", external_id=idle.session_id)
    assert await ChannelIdentity.exists(channel="webchat", external_id=fresh.session_id)
    assert await ChannelIdentity.exists(channel="webchat", external_id=registered.session_id)
