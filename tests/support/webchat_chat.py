"""A web chat user driven through the JSON API, as the page's chat.js would drive it."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from crm_core.customers.models import ChannelIdentity, Customer

SESSIONS = "/api/v1/webchat/sessions"
MESSAGES = "/api/v1/webchat/messages"

_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))


def new_phone() -> str:
    """A fresh Kyivstar number in E.164 (+38096xxxxxxx), unique within the test session.

    Other test modules draw from other operator codes, so numbers never collide across files.
    """
    return f"+38096{next(_subscribers):07d}"


def typed_locally(e164: str) -> str:
    """How a Ukrainian user types their own number: '+380961234567' -> '096 123 45 67'."""
    national = "0" + e164.removeprefix("+380")
    return f"{national[:3]} {national[3:6]} {national[6:8]} {national[8:]}"


@dataclass
class BotReply:
    """One bubble of the bot, as the API returns it."""

    text: str
    buttons: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    ask_phone: bool = False
    image_url: str | None = None
    urls: list[str | None] = field(default_factory=list)  # a link button's address
    menu: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: dict[str, Any]) -> BotReply:
        return cls(
            text=data["text"],
            buttons=[b["payload"] for b in data["buttons"]],
            labels=[b["label"] for b in data["buttons"]],
            ask_phone=data["ask_phone"],
            image_url=data["image_url"],
            urls=[b.get("url") for b in data["buttons"]],
            menu=[b["payload"] for b in data["menu"]],
        )


class WebChat:
    """One browser tab: opens a session, then sends typed text and button payloads."""

    def __init__(self, stack: Any, language: str | None = "uk") -> None:
        self.stack = stack
        self.language = language
        self.session_id: str | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        return self.stack.client

    async def open(self, session_id: str | None = None) -> list[BotReply]:
        """Open the chat (the page load); with no argument, resume this tab's session."""
        body = {"session_id": session_id or self.session_id, "language": self.language}
        response = await self.client.post(SESSIONS, json=body)
        assert response.status_code == 200, response.text
        data = response.json()
        self.session_id = data["session_id"]
        return [BotReply.of(r) for r in data["replies"]]

    async def post(self, text: str, session_id: str | None = None) -> httpx.Response:
        return await self.client.post(
            MESSAGES, json={"session_id": session_id or self.session_id, "text": text}
        )

    async def send(self, text: str) -> list[BotReply]:
        """Typed text or a pressed button's payload; the replies of a 200 answer."""
        response = await self.post(text)
        assert response.status_code == 200, response.text
        return [BotReply.of(r) for r in response.json()["replies"]]

    async def register(self, name: str, phone: str, consent: bool = True) -> list[BotReply]:
        """The three answers; the replies are the card and the first optional survey question."""
        await self.open()
        await self.send(name)
        await self.send(phone)
        return await self.send("consent:yes" if consent else "consent:no")

    async def skip_survey(self, replies: list[BotReply]) -> list[BotReply]:
        """Tap "Skip" on each survey question from `replies` on, until the survey is over."""
        while replies and "survey:skip" in replies[-1].buttons:
            replies = await self.send("survey:skip")
        return replies

    async def identity(self) -> ChannelIdentity:
        return await ChannelIdentity.get(channel="webchat", external_id=self.session_id)

    async def customer(self) -> Customer:
        identity = await self.identity()
        assert identity.customer_id is not None, "this chat has no customer"
        return await Customer.get(id=identity.customer_id)
