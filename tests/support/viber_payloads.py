"""Viber callbacks shaped as the REST Bot API documents them, signed like Viber signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

_tokens = itertools.count(int(time.time()) * 1000)


def sign(auth_token: str, body: bytes) -> str:
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def profile(
    user_id: str, name: str = "Taras", language: str = "uk", country: str = "UA"
) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "avatar": "https://media-direct.cdn.viber.com/avatar.jpg",
        "country": country,
        "language": language,
        "api_version": 10,
    }


def _base(event: str) -> dict[str, Any]:
    return {
        "event": event,
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-CHAT-05_",
        "message_token": next(_tokens),
    }


def conversation_started(user: dict[str, Any], context: str | None = None) -> dict[str, Any]:
    payload = {**_base("conversation_started"), "type": "open", "user": user, "subscribed": False}
    if context:
        payload["context"] = context
    return payload


def text_message(user: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        **_base("message"),
        "sender": user,
        "message": {"type": "text", "text": text},
        "silent": False,
    }


def contact_message(user: dict[str, Any], phone: str) -> dict[str, Any]:
    return {
        **_base("message"),
        "sender": user,
        "silent": False,
        "message": {"type": "contact", "contact": {"name": user["name"], "phone_number": phone}},
    }


def sticker_message(user: dict[str, Any]) -> dict[str, Any]:
    return {**_base("message"), "sender": user, "message": {"type": "sticker", "sticker_id": 46105}}


def subscribed(user: dict[str, Any]) -> dict[str, Any]:
    return {**_base("subscribed"), "user": user}


def unsubscribed(user_id: str) -> dict[str, Any]:
    return {**_base("unsubscribed"), "user_id": user_id}


def delivered(user_id: str) -> dict[str, Any]:
    return {**_base("delivered"), "user_id": user_id}


def seen(user_id: str) -> dict[str, Any]:
    return {**_base("seen"), "user_id": user_id}


def failed(user_id: str) -> dict[str, Any]:
    return {**_base("failed"), "user_id": user_id, "desc": "failure description"}
