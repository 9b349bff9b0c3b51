"""An async Viber REST client; message JSON comes from the viberbot SDK's classes."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from viberbot.api.messages.typed_message import TypedMessage

from channels.errors import DeliveryError, FailureKind

log = logging.getLogger(__name__)

# https://developers.viber.com/docs/api/rest-bot-api/#error-codes
_UNREACHABLE_STATUSES = {5, 6, 7}  # not registered, not subscribed, blocked
_RATE_LIMIT_STATUSES = {12}  # too many requests
_RATE_LIMIT_PAUSE_SECONDS = 1.0


class ViberClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_base: str,
        auth_token: str,
        sender_name: str,
        sender_avatar: str = "",
    ) -> None:
        self.http = http
        self.api_base = api_base
        self.auth_token = auth_token
        self.sender: dict[str, str] = {"name": sender_name}
        if sender_avatar:
            self.sender["avatar"] = sender_avatar

    def message_body(self, message: TypedMessage, receiver: str | None) -> dict[str, Any]:
        """send_message JSON; without a receiver it is a conversation_started answer."""
        body: dict[str, Any] = {"sender": self.sender, **message.to_dict()}
        if receiver is not None:
            body["receiver"] = receiver
        return body

    async def send(self, receiver: str, message: TypedMessage) -> str:
        """Send one message; returns its message_token or raises DeliveryError."""
        data = await self._post("send_message", self.message_body(message, receiver))
        return str(data.get("message_token", ""))

    async def set_webhook(self, url: str, event_types: list[str]) -> None:
        await self._post("set_webhook", {"url": url, "event_types": event_types, "send_name": True})

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.http.post(
                f"{self.api_base}/{method}",
                json=body,
                headers={"X-Viber-Auth-Token": self.auth_token},
                timeout=10.0,
            )
        except httpx.TransportError as error:
            raise DeliveryError(FailureKind.TRANSIENT, type(error).__name__) from error
        if response.status_code == 429:
            raise DeliveryError(FailureKind.RATE_LIMITED, "HTTP 429", _RATE_LIMIT_PAUSE_SECONDS)
        if response.status_code >= 500:
            raise DeliveryError(FailureKind.TRANSIENT, f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as error:
            raise DeliveryError(FailureKind.TRANSIENT, "non-JSON answer") from error
        status = data.get("status")
        if status == 0:
            return data
        detail = f"status {status}: {data.get('status_message', '')}"
        if status in _UNREACHABLE_STATUSES:
            raise DeliveryError(FailureKind.UNREACHABLE, detail)
        if status in _RATE_LIMIT_STATUSES:
            raise DeliveryError(FailureKind.RATE_LIMITED, detail, _RATE_LIMIT_PAUSE_SECONDS)
        raise DeliveryError(FailureKind.PERMANENT, detail)
