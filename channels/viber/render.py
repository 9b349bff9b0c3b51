"""Neutral replies as viberbot message objects with Viber keyboards."""

from __future__ import annotations

from typing import Any

from viberbot.api.messages import PictureMessage, TextMessage
from viberbot.api.messages.typed_message import TypedMessage

from bot.events import Button, Reply

# share-phone buttons need API version 3 on the user's client.
SHARE_PHONE_MIN_API_VERSION = 3
_ACCENT = "#6A4BC4"


def _button(button: Button, columns: int) -> dict[str, Any]:
    return {
        "Columns": columns,
        "Rows": 1,
        "ActionType": "reply",
        "ActionBody": button.payload,
        "Text": f'<font color="#FFFFFF">{button.label}</font>',
        "BgColor": _ACCENT,
        "Silent": False,
    }


def _keyboard(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "keyboard",
        "DefaultHeight": False,
        "InputFieldState": "regular",
        "Buttons": buttons,
    }


def reply_keyboard(reply: Reply) -> tuple[dict[str, Any] | None, int | None]:
    """The keyboard for a reply and the min_api_version it requires."""
    if reply.ask_phone:
        share = {
            "Columns": 6,
            "Rows": 1,
            "ActionType": "share-phone",
            "ActionBody": "share-phone",
            "Text": f'<font color="#FFFFFF">{reply.ask_phone}</font>',
            "BgColor": _ACCENT,
        }
        # Buttons of the same reply ride below it (e.g. "Send me a code").
        extra = [_button(b, 6) for b in reply.buttons]
        return _keyboard([share, *extra]), SHARE_PHONE_MIN_API_VERSION
    buttons = reply.buttons or reply.menu
    if not buttons:
        return None, None
    columns = 3 if len(buttons) % 2 == 0 else 6
    return _keyboard([_button(b, columns) for b in buttons]), None


def reply_to_messages(reply: Reply, public_base_url: str) -> list[TypedMessage]:
    """One text message, plus the card picture by URL when there is one (and a public URL)."""
    keyboard, min_api = reply_keyboard(reply)
    if reply.image is not None and public_base_url:
        return [
            TextMessage(text=reply.text),
            PictureMessage(
                media=f"{public_base_url}{reply.image.path}",
                keyboard=keyboard,
                min_api_version=min_api,
            ),
        ]
    return [TextMessage(text=reply.text, keyboard=keyboard, min_api_version=min_api)]
