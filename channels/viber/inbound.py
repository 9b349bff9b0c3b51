"""Viber callbacks as neutral Inbound events."""

from __future__ import annotations

from viberbot.api.messages import ContactMessage, TextMessage
from viberbot.api.user_profile import UserProfile
from viberbot.api.viber_requests import ViberMessageRequest

from bot.events import Inbound, InboundKind
from crm_core.customers.models import Channel


def _base(user: UserProfile) -> dict[str, str | None]:
    return {
        "channel": Channel.VIBER,
        "external_id": user.id,
        "chat_id": user.id,
        "language_hint": user.language,
        "country_hint": user.country,
    }


def user_inbound(user: UserProfile, kind: InboundKind) -> Inbound:
    return Inbound(kind=kind, **_base(user))  # type: ignore[arg-type]


def message_to_inbound(request: ViberMessageRequest) -> Inbound:
    base = _base(request.sender)
    message = request.message
    if isinstance(message, ContactMessage):
        # A share-phone button answers with the user's own number, but Viber gives no user id:
        # a forwarded contact looks the same, so it never proves the number is the sender's.
        return Inbound(
            kind=InboundKind.CONTACT,
            contact_phone=message.contact.phone_number,
            contact_is_own=True,
            contact_proven=False,
            **base,  # type: ignore[arg-type]
        )
    if isinstance(message, TextMessage) and message.text is not None:
        kind = InboundKind.START if message.text.strip() == "/start" else InboundKind.TEXT
        return Inbound(kind=kind, text=message.text, **base)  # type: ignore[arg-type]
    return Inbound(kind=InboundKind.UNSUPPORTED, **base)  # type: ignore[arg-type]
