"""Telegram Updates shaped as the Bot API documents them (https://core.telegram.org/bots/api#update)."""

from __future__ import annotations

import itertools
import time
from typing import Any

_update_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)
_message_ids = itertools.count(1)


def next_update_id() -> int:
    return next(_update_ids)


def user(
    user_id: int, first_name: str = "Olena", language_code: str | None = "uk"
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        data["language_code"] = language_code
    return data


def _message(sender: dict[str, Any], **content: Any) -> dict[str, Any]:
    return {
        "message_id": next(_message_ids),
        "from": sender,
        "chat": {"id": sender["id"], "first_name": sender["first_name"], "type": "private"},
        "date": int(time.time()),
        **content,
    }


def text_update(sender: dict[str, Any], text: str, update_id: int | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": update_id or next_update_id(), "message": _message(sender, **content)}


def contact_update(
    sender: dict[str, Any], phone: str, contact_user_id: int | None
) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone, "first_name": sender["first_name"]}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    return {"update_id": next_update_id(), "message": _message(sender, contact=contact)}


def sticker_update(sender: dict[str, Any]) -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgADxx",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return {"update_id": next_update_id(), "message": _message(sender, sticker=sticker)}


def callback_update(sender: dict[str, Any], data: str) -> dict[str, Any]:
    bot_message = _message({"id": 42, "is_bot": True, "first_name": "Loyalty"}, text="...")
    bot_message["chat"] = {
        "id": sender["id"],
        "first_name": sender["first_name"],
        "type": "private",
    }
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": str(next(_message_ids)),
            "from": sender,
            "message": bot_message,
            "chat_instance": "-1234567890",
            "data": data,
        },
    }


def group_text_update(sender: dict[str, Any], text: str) -> dict[str, Any]:
    message = _message(sender, text=text)
    message["chat"] = {"id": -100123, "title": "Group", "type": "supergroup"}
    return {"update_id": next_update_id(), "message": message}
