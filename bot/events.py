"""The neutral vocabulary between channel adapters and the conversation engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InboundKind(StrEnum):
    START = "start"  # /start, a welcome button, or a web chat opened for the first time
    RESUME = "resume"  # a web chat page reloaded: repeat where we are, change nothing
    TEXT = "text"  # typed text, a command, or a button's payload
    CONTACT = "contact"  # a shared phone contact
    UNSUPPORTED = "unsupported"  # stickers, photos, files, locations...


@dataclass(frozen=True)
class Inbound:
    channel: str
    external_id: str
    chat_id: str
    kind: InboundKind
    text: str = ""
    contact_phone: str | None = None
    # The sender may use this number for a new registration: Telegram when contact.user_id
    # equals the sender; Viber always (its share-phone button sends the user's own number).
    contact_is_own: bool = False
    # The platform vouches the number is the sender's own, so it may join the customer who
    # already has it: Telegram only. A Viber contact cannot be told apart from a forwarded one.
    contact_proven: bool = False
    language_hint: str | None = None
    country_hint: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    payload: str
    # A link to open instead of a message to send (the web chat's "Open in Telegram").
    url: str | None = None


@dataclass(frozen=True)
class QrImage:
    """A QR picture of a card or voucher: uploaded (Telegram, reusing file_id) or by URL."""

    kind: str  # "card" or "voucher"
    object_id: int
    payload: str  # what the QR code encodes: the card number or the voucher code
    media_token: str
    telegram_file_id: str | None = None

    @property
    def path(self) -> str:
        return f"/media/{self.kind}s/{self.media_token}.png"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    # Label of a share-my-phone button; None when no phone is asked for.
    ask_phone: str | None = None
    image: QrImage | None = None
    # Persistent menu of a registered customer (Viber keyboard, web chat buttons).
    menu: tuple[Button, ...] = ()
    # The answer is expected to be typed phone number (a phone keypad on the web).
    expects_phone: bool = False
