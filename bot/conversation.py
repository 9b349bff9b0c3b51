"""What every conversation flow shares: settings, the turn being handled, states, payloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.events import Inbound, Reply
from bot.i18n import translations
from crm_core.cards.service import CardNumberPolicy
from crm_core.clock import Clock, utcnow
from crm_core.customers.models import ChannelIdentity, Customer

# Bump when the wording of the consent question changes in any language.
MARKETING_CONSENT_TEXT_VERSION = "marketing-2026-12-v2"

# Conversation states, kept on the channel identity.
NEW = "new"
AWAITING_NAME = "awaiting_name"
AWAITING_PHONE = "awaiting_phone"
AWAITING_CONSENT = "awaiting_consent"
AWAITING_CARD_NUMBER = "awaiting_card_number"
# A number in use was sent from a chat that cannot prove it: a one-time code was asked for.
AWAITING_LINK_CODE = "awaiting_link_code"
REGISTERED = "registered"
# The optional survey right after registration; the customer is registered meanwhile.
SURVEY_CATEGORIES = "survey_categories"
SURVEY_BIRTHDAY = "survey_birthday"
SURVEY_STATES = frozenset({SURVEY_CATEGORIES, SURVEY_BIRTHDAY})

# Button payloads (Viber and the web chat send them back as text).
CONSENT_YES, CONSENT_NO = "consent:yes", "consent:no"
HAVE_CARD = "have_card"
LINK_CODE, LINK_OTHER_NUMBER = "link:code", "link:other"
LINK_OPENED = "link:opened"  # the payload of the web chat's "Open in Telegram" link button
LINK_START_PREFIX = "link_"  # /start link_<token>: a Telegram deep link from the web chat
STOP_YES, STOP_NO = "stop:yes", "stop:no"
DELETE_YES, DELETE_NO = "delete:yes", "delete:no"
LANGUAGE_PREFIX = "lang:"
SURVEY_PREFIX = "survey:"  # every survey button; any other button ends the survey
SURVEY_CATEGORY_PREFIX = SURVEY_PREFIX + "cat:"  # + the category's id
SURVEY_DONE, SURVEY_SKIP = SURVEY_PREFIX + "done", SURVEY_PREFIX + "skip"


@dataclass(frozen=True)
class BotConfig:
    default_language: str = "uk"
    phone_region: str = "UA"
    timezone_fallback: str = "Europe/Kyiv"
    card_policy: CardNumberPolicy = field(default_factory=CardNumberPolicy)
    media_key: bytes = b""
    media_ttl: timedelta = timedelta(days=30)
    # Channels where a typed number is accepted; it is kept unconfirmed and never links.
    typed_phone_channels: frozenset[str] = frozenset({"webchat"})
    # With it, the web chat offers an "Open in Telegram" link proving a number in use.
    telegram_bot_username: str = ""
    clock: Clock = utcnow


@dataclass
class Turn:
    """One inbound event being handled: who wrote, in which language, and their customer."""

    inbound: Inbound
    identity: ChannelIdentity
    customer: Customer | None

    @property
    def language(self) -> str:
        if self.customer is not None:
            return self.customer.language
        return self.identity.language

    def _(self, message: str, **values: object) -> str:
        text = translations(self.language).gettext(message)
        return text.format(**values) if values else text


# Sends bot-initiated replies to every reachable messenger chat of a customer (the channels'
# Pusher); returns how many chats got them.
PushToCustomer = Callable[[int, Callable[[], list[Reply]]], Awaitable[int]]


class Flow:
    """Base of the flow mixins that make up the ConversationEngine; they call each other."""

    config: BotConfig
    # Wired by the app once the messenger adapters exist; None where nothing can be pushed.
    push: PushToCustomer | None = None


Handler = Callable[[Flow, Turn], Awaitable[list[Reply]]]
