"""Telegram updates as neutral Inbound events."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message

from bot.events import Inbound, InboundKind
from crm_core.customers.models import Channel


def message_to_inbound(message: Message) -> Inbound | None:
    """None for what the bot does not talk to (groups, channels, anonymous senders)."""
    sender = message.from_user
    if sender is None or message.chat.type != "private":
        return None
    base = {
        "channel": Channel.TELEGRAM,
        "external_id": str(sender.id),
        "chat_id": str(message.chat.id),
        "language_hint": sender.language_code,
    }
    if message.contact is not None:
        own = message.contact.user_id == sender.id
        return Inbound(
            kind=InboundKind.CONTACT,
            contact_phone=message.contact.phone_number,
            contact_is_own=own,
            contact_proven=own,
            **base,
        )
    if message.text is not None:
        text = message.text
        is_start = text.split(maxsplit=1)[0].split("@")[0] == "/start" if text else False
        kind = InboundKind.START if is_start else InboundKind.TEXT
        return Inbound(kind=kind, text=text, **base)
    return Inbound(kind=InboundKind.UNSUPPORTED, **base)


def callback_to_inbound(callback: CallbackQuery) -> Inbound | None:
    if callback.data is None:
        return None
    chat_id = callback.message.chat.id if callback.message is not None else callback.from_user.id
    return Inbound(
        channel=Channel.TELEGRAM,
        external_id=str(callback.from_user.id),
        chat_id=str(chat_id),
        kind=InboundKind.TEXT,
        text=callback.data,
        language_hint=callback.from_user.language_code,
    )
