"""A Viber user talking to the live app through its webhook, as Viber would deliver it."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import viber_payloads as vb

WEBHOOK = "/webhooks/viber"


def new_user_id() -> str:
    """A fresh Viber user id; real ones are base64 strings like '01234567890A='."""
    return base64.b64encode(secrets.token_bytes(12)).decode()


@dataclass
class Outgoing:
    """One message the bot sent to the user, by send_message or as the webhook response."""

    body: dict[str, Any]
    via_response: bool

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def media(self) -> str | None:
        return self.body.get("media")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return list((self.body.get("keyboard") or {}).get("Buttons", []))

    def button_payloads(self) -> list[str]:
        """What each reply button sends back as a text message when pressed."""
        return [b["ActionBody"] for b in self.buttons if b.get("ActionType") == "reply"]

    def asks_for_phone(self) -> bool:
        """A share-phone button, which only works on clients with API version 3 or later."""
        return any(b.get("ActionType") == "share-phone" for b in self.buttons) and (
            self.body.get("min_api_version", 0) >= 3
        )


class ViberChat:
    def __init__(
        self,
        stack: Any,
        user_id: str | None = None,
        language: str = "uk",
        name: str = "Taras",
        country: str = "UA",
    ) -> None:
        from tests.conftest import VIBER_TOKEN

        self.stack = stack
        self.auth_token = VIBER_TOKEN
        self.user_id = user_id or new_user_id()
        self.user = vb.profile(self.user_id, name, language, country)

    async def post_raw(self, body: bytes, signature: str | bytes | None) -> httpx.Response:
        """POST exactly these bytes; signature None sends no signature header at all."""
        headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Viber-Content-Signature"] = signature
        return await self.stack.client.post(WEBHOOK, content=body, headers=headers)

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        """POST a callback signed the way Viber signs it."""
        body = vb.encode(payload)
        return await self.post_raw(body, vb.sign(self.auth_token, body))

    def sent(self, since: int = 0) -> list[Outgoing]:
        return [
            Outgoing(c.body, via_response=False)
            for c in self.stack.viber.calls[since:]
            if c.method == "send_message" and c.body.get("receiver") == self.user_id
        ]

    async def deliver(self, payload: dict[str, Any]) -> list[Outgoing]:
        before = len(self.stack.viber.calls)
        response = await self.post(payload)
        assert response.status_code == 200, response.text
        sent = self.sent(before)
        body = response.json()
        if body:
            sent.append(Outgoing(body, via_response=True))
        return sent

    async def open(self) -> list[Outgoing]:
        """The user opens the chat for the first time (conversation_started)."""
        return await self.deliver(vb.conversation_started(self.user))

    async def text(self, text: str) -> list[Outgoing]:
        return await self.deliver(vb.text_message(self.user, text))

    async def press(self, action_body: str) -> list[Outgoing]:
        """A reply button sends its ActionBody as an ordinary text message."""
        return await self.text(action_body)

    async def contact(self, phone: str) -> list[Outgoing]:
        """What a share-phone button sends: the user's own number."""
        return await self.deliver(vb.contact_message(self.user, phone))

    async def sticker(self) -> list[Outgoing]:
        return await self.deliver(vb.sticker_message(self.user))

    async def register(self, name: str, phone: str, consent: bool = True) -> list[Outgoing]:
        """The three answers; the replies are the card and the first optional survey question."""
        await self.text("/start")
        await self.text(name)
        await self.contact(phone)
        return await self.press("consent:yes" if consent else "consent:no")

    async def skip_survey(self, replies: list[Outgoing]) -> list[Outgoing]:
        """Tap "Skip" on each survey question from `replies` on, until the survey is over."""
        while replies and "survey:skip" in replies[-1].button_payloads():
            replies = await self.press("survey:skip")
        return replies
