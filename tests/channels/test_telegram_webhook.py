"""The Telegram webhook: authenticated, exactly-once, strict about shape, honest about failures."""

from __future__ import annotations

import itertools
import random

from crm_core.customers.models import ChannelIdentity
from crm_core.inbox.models import ProcessedUpdate
from tests.conftest import TELEGRAM_SECRET
from tests.support import telegram_payloads as tg
from tests.support.health import until_registered
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t

_user_ids = itertools.count(random.randint(10**9, 2 * 10**9))


def new_chat(stack) -> TelegramChat:
    return TelegramChat(stack, next(_user_ids))


def phone() -> str:
    return f"+38063{random.randint(1000000, 9999999)}"


async def identity_of(chat: TelegramChat) -> ChannelIdentity | None:
    return await ChannelIdentity.filter(channel="telegram", external_id=str(chat.user_id)).first()


async def test_a_wrong_or_missing_secret_is_401_and_nothing_is_processed(stack):
    chat = new_chat(stack)
    update = tg.text_update(chat.user, "/start")
    for secret in ["wrong-secret", TELEGRAM_SECRET[:-1], ""]:
        response = await chat.post(update, secret=secret)
        assert response.status_code == 401
    response = await stack.client.post("/webhooks/telegram", json=update)
    assert response.status_code == 401
    assert await identity_of(chat) is None
    assert not await ProcessedUpdate.exists(channel="telegram", update_key=str(update["update_id"]))


async def test_a_repeated_update_id_is_handled_once(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    update = tg.text_update(chat.user, "Богдан")
    first = await chat.deliver(update)
    again = await chat.deliver(update)
    assert len(first) == 1 and first[0].asks_for_contact()
    assert again == []
    identity = await identity_of(chat)
    assert identity.state == "awaiting_phone"


async def test_malformed_bodies_are_400_with_a_reason_and_nothing_stored(stack):
    headers = {
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        "Content-Type": "application/json",
    }
    bad_bodies = [
        b"{not json",
        b"[1, 2, 3]",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "12"}',
        b'{"update_id": 991, "message": "hello"}',
        b'{"update_id": 992, "message": {"message_id": 1, "chat": {"id": 1}}}',
    ]
    for body in bad_bodies:
        response = await stack.client.post("/webhooks/telegram", content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["detail"], body
    assert not await ProcessedUpdate.filter(update_key__in=["991", "992"]).exists()


async def test_an_unknown_update_type_is_acknowledged_and_ignored(stack):
    update_id = tg.next_update_id()
    update = {
        "update_id": update_id,
        "message_reaction_count": {
            "chat": {"id": -100, "type": "channel", "title": "News"},
            "message_id": 5,
            "date": 1700000000,
            "reactions": [],
        },
    }

    def answers() -> int:  # not getUpdates: a poller of an earlier test may still be stopping
        return sum(1 for call in stack.telegram.calls if call.method != "getUpdates")

    before = answers()
    response = await stack.client.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 200 and response.json() == {}
    assert answers() == before


async def test_group_messages_get_no_answer(stack):
    chat = new_chat(stack)
    response = await chat.post(tg.group_text_update(chat.user, "/start"))
    assert response.status_code == 200 and response.json() == {}
    assert await identity_of(chat) is None


async def test_an_oversized_body_is_413(stack):
    chat = new_chat(stack)
    update = tg.text_update(chat.user, "x" * (1024 * 1024 + 10))
    response = await chat.post(update)
    assert response.status_code == 413
    assert await identity_of(chat) is None


async def test_a_user_who_blocked_the_bot_becomes_unreachable_until_they_write_again(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Настя")
    await chat.contact(phone())
    stack.telegram.fail_next("sendPhoto", 403, "Forbidden: bot was blocked by the user")

    await chat.press("consent:yes")

    identity = await identity_of(chat)
    assert identity.reachable is False
    assert identity.customer_id is not None  # the card exists; only the message failed
    await chat.text("/card")
    assert (await identity_of(chat)).reachable is True


async def test_rate_limits_and_server_errors_are_retried(stack):
    chat = new_chat(stack)
    await chat.text("/start")
    await chat.text("Віра")
    await chat.contact(phone())
    stack.telegram.fail_next("sendPhoto", 429, "Too Many Requests: retry after 1", retry_after=1)
    stack.telegram.fail_next("sendPhoto", 502, "Bad Gateway")

    sent = await chat.press("consent:yes")

    # Two failures, then the card delivered, then the optional survey's first question.
    assert [m.method for m in sent] == ["sendPhoto"] * 3 + ["sendMessage"]
    identity = await identity_of(chat)
    assert identity.reachable is True


async def test_start_up_registers_the_webhook_with_its_secret_and_the_command_menu(stack):
    await until_registered(stack, "telegram_webhook")
    await until_registered(stack, "telegram_commands")
    (registration,) = stack.telegram.calls_to("setWebhook")[:1]
    assert registration.params["url"] == f"{stack.settings.public_base_url}/webhooks/telegram"
    assert registration.params["secret_token"] == TELEGRAM_SECRET
    assert set(registration.params["allowed_updates"]) == {"message", "callback_query"}
    languages = {c.params.get("language_code") for c in stack.telegram.calls_to("setMyCommands")}
    assert languages >= {None, "uk", "en", "pl", "cs", "ru"}
    uk_menu = next(
        c for c in stack.telegram.calls_to("setMyCommands") if c.params.get("language_code") == "uk"
    )
    descriptions = {c["command"]: c["description"] for c in uk_menu.params["commands"]}
    assert descriptions["card"] == t("uk", "Show my card")
