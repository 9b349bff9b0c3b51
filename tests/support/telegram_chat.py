"""A Telegram user talking to the live app through its webhook, as Telegram would deliver it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import telegram_payloads as tg


@dataclass
class Outgoing:
    """One message the bot sent to the chat, by API call or as the webhook response."""

    method: str
    text: str
    reply_markup: dict[str, Any] | None
    photo: str | bytes | None
    via_response: bool

    def inline_payloads(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button["callback_data"] for row in rows for button in row]

    def inline_labels(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button["text"] for row in rows for button in row]

    def asks_for_contact(self) -> bool:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return any(button.get("request_contact") for row in rows for button in row)


class TelegramChat:
    def __init__(
        self, stack: Any, user_id: int, language: str = "uk", first_name: str = "Olena"
    ) -> None:
        self.stack = stack
        self.user = tg.user(user_id, first_name, language)
        self.user_id = user_id

    async def post(self, update: dict[str, Any], secret: str | None = None) -> httpx.Response:
        from tests.conftest import TELEGRAM_SECRET

        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET if secret is None else secret}
        return await self.stack.client.post("/webhooks/telegram", json=update, headers=headers)

    async def deliver(self, update: dict[str, Any]) -> list[Outgoing]:
        before = len(self.stack.telegram.calls)
        response = await self.post(update)
        assert response.status_code == 200, response.text
        sent = [
            Outgoing(
                c.method,
                c.params.get("text") or c.params.get("caption") or "",
                c.params.get("reply_markup"),
                c.files.get("photo") or c.params.get("photo"),
                via_response=False,
            )
            for c in self.stack.telegram.calls[before:]
            if c.method in {"sendMessage", "sendPhoto"} and c.chat_id == str(self.user_id)
        ]
        body = response.json()
        if body.get("method"):
            sent.append(
                Outgoing(
                    body["method"],
                    body.get("text") or body.get("caption") or "",
                    body.get("reply_markup"),
                    body.get("photo"),
                    via_response=True,
                )
            )
        return sent

    async def text(self, text: str) -> list[Outgoing]:
        return await self.deliver(tg.text_update(self.user, text))

    async def contact(self, phone: str, own: bool = True) -> list[Outgoing]:
        owner = self.user_id if own else self.user_id + 1
        return await self.deliver(tg.contact_update(self.user, phone, owner))

    async def press(self, data: str) -> list[Outgoing]:
        return await self.deliver(tg.callback_update(self.user, data))

    async def sticker(self) -> list[Outgoing]:
        return await self.deliver(tg.sticker_update(self.user))

    async def register(self, name: str, phone: str, consent: bool = True) -> list[Outgoing]:
        """The three answers; the replies are the card and the first optional survey question."""
        await self.text("/start")
        await self.text(name)
        await self.contact(phone)
        return await self.press("consent:yes" if consent else "consent:no")

    async def skip_survey(self, replies: list[Outgoing]) -> list[Outgoing]:
        """Tap "Skip" on each survey question from `replies` on, until the survey is over."""
        while replies and "survey:skip" in replies[-1].inline_payloads():
            replies = await self.press("survey:skip")
        return replies
