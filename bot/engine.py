"""The one conversation every channel runs: registration, card, language, opt-out, erasure.

State is kept on the channel identity in the database, so any web process can take the next
message and a restart resumes where the user was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.events import Button, Inbound, InboundKind, QrImage, Reply
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, pick_language, translations
from bot.voucher_texts import voucher_conditions, voucher_value_text
from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, normalize_card_input
from crm_core.cards.service import CardNumberPolicy, active_card_of, card_image_token
from crm_core.clock import Clock, utcnow
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import has_consent
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.customers.service import (
    customer_with_phone,
    save_state,
    set_identity_language,
    touch_identity,
)
from crm_core.customers.validation import (
    InvalidName,
    InvalidPhone,
    NameProblem,
    clean_first_name,
    normalize_phone,
)
from crm_core.registration.service import (
    NewCustomer,
    erase_customer,
    grant_marketing,
    link_by_confirmed_phone,
    link_existing_card,
    register_customer,
    withdraw_marketing,
)
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher
from crm_core.vouchers.service import usable_vouchers_of, voucher_image_token

# Bump when the wording of the consent question changes in any language.
MARKETING_CONSENT_TEXT_VERSION = "marketing-2026-11-v1"

NEW = "new"
AWAITING_NAME = "awaiting_name"
AWAITING_PHONE = "awaiting_phone"
AWAITING_CONSENT = "awaiting_consent"
AWAITING_CARD_NUMBER = "awaiting_card_number"
REGISTERED = "registered"

CONSENT_YES, CONSENT_NO = "consent:yes", "consent:no"
HAVE_CARD = "have_card"
STOP_YES, STOP_NO = "stop:yes", "stop:no"
DELETE_YES, DELETE_NO = "delete:yes", "delete:no"
LANGUAGE_PREFIX = "lang:"
# A chat is no catalogue: the soonest-expiring few, the till sees them all.
MAX_VOUCHERS_SHOWN = 5


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


Handler = Callable[["ConversationEngine", Turn], Awaitable[list[Reply]]]


class ConversationEngine:
    def __init__(self, config: BotConfig) -> None:
        self.config = config

    async def handle(self, inbound: Inbound) -> list[Reply]:
        now = self.config.clock()
        language = pick_language(
            inbound.language_hint, inbound.country_hint, self.config.default_language
        )
        identity, customer = await touch_identity(
            inbound.channel, inbound.external_id, inbound.chat_id, language, now
        )
        if customer is None and identity.state == REGISTERED:
            # The customer was erased elsewhere: start over as a stranger.
            await save_state(identity, NEW, {})
        turn = Turn(inbound=inbound, identity=identity, customer=customer)
        return await self._route(turn)

    async def welcome(self, inbound: Inbound) -> Reply:
        """A first greeting without touching state (Viber conversation_started)."""
        language = pick_language(
            inbound.language_hint, inbound.country_hint, self.config.default_language
        )
        tr = translations(language)
        return Reply(
            text=tr.gettext("Hello! Here you can get our digital loyalty card in under a minute."),
            buttons=(Button(tr.gettext("Get my card"), "/start"),),
        )

    # --- routing -------------------------------------------------------------------------

    async def _route(self, turn: Turn) -> list[Reply]:
        inbound = turn.inbound
        if inbound.kind is InboundKind.START:
            return await self._start(turn)
        if inbound.kind is InboundKind.RESUME:
            return await self._resume(turn)
        if inbound.kind is InboundKind.UNSUPPORTED:
            return [Reply(turn._("Sorry, I can only read text and buttons here."))] + (
                await self._prompt(turn)
            )
        if inbound.kind is InboundKind.CONTACT:
            if turn.identity.state == AWAITING_PHONE:
                return await self._phone_from_contact(turn)
            return [Reply(turn._("Thanks, but I don't need a contact right now."))] + (
                await self._prompt(turn)
            )
        text = inbound.text.strip()
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else ""
        if command in _COMMANDS:
            return await _COMMANDS[command](self, turn)
        if text in _PAYLOADS:
            return await _PAYLOADS[text](self, turn)
        if text.startswith(LANGUAGE_PREFIX):
            return await self._language_chosen(turn, text.removeprefix(LANGUAGE_PREFIX))
        return await self._free_text(turn, text)

    async def _free_text(self, turn: Turn, text: str) -> list[Reply]:
        state = turn.identity.state
        if state == AWAITING_NAME:
            return await self._name(turn, text)
        if state == AWAITING_CARD_NUMBER:
            return await self._existing_card_number(turn, text)
        if state == AWAITING_PHONE:
            if turn.inbound.channel in self.config.typed_phone_channels:
                return await self._typed_phone(turn, text)
            return [Reply(turn._("Please use the button below to share your phone number."))] + (
                await self._prompt(turn)
            )
        if state == AWAITING_CONSENT:
            return [Reply(turn._("Please answer with one of the buttons."))] + (
                await self._prompt(turn)
            )
        if turn.customer is not None:
            return [self._help(turn)]
        return await self._start(turn)

    # --- registration --------------------------------------------------------------------

    async def _start(self, turn: Turn) -> list[Reply]:
        if turn.customer is not None:
            return await self._card(turn, greeting=True)
        await save_state(turn.identity, AWAITING_NAME, {})
        return [
            Reply(
                turn._("Hello! Here you can get our digital loyalty card in under a minute.")
                + "\n"
                + turn._("What is your first name?"),
                buttons=(Button(turn._("I already have a plastic card"), HAVE_CARD),),
            )
        ]

    async def _have_card(self, turn: Turn) -> list[Reply]:
        """A shopper with a plastic card: its number first, then the phone that proves it."""
        if turn.customer is not None:
            return await self._card(turn)
        await save_state(turn.identity, AWAITING_CARD_NUMBER, {})
        return [Reply(turn._("Please type the number printed on your card."))]

    async def _existing_card_number(self, turn: Turn, text: str) -> list[Reply]:
        number = normalize_card_input(text)
        if not (number.isdigit() and 6 <= len(number) <= 32):
            return [Reply(turn._("A card number has only digits. Please type it as printed."))]
        await save_state(turn.identity, AWAITING_PHONE, {"existing_card": number})
        return [self._ask_phone_for_card(turn)]

    def _ask_phone_for_card(self, turn: Turn) -> Reply:
        if turn.inbound.channel in self.config.typed_phone_channels:
            return Reply(
                turn._("To confirm the card is yours, what is your phone number?"),
                expects_phone=True,
            )
        return Reply(
            turn._("To confirm the card is yours, please share your phone number."),
            ask_phone=turn._("Share my phone number"),
        )

    async def _resume(self, turn: Turn) -> list[Reply]:
        """A reopened web chat: the card for customers, the open question for everyone else."""
        if turn.customer is not None:
            return await self._card(turn)
        if turn.identity.state == NEW:
            return await self._start(turn)
        return await self._prompt(turn)

    async def _prompt(self, turn: Turn) -> list[Reply]:
        """Ask again whatever the current step needs."""
        state = turn.identity.state
        if state == AWAITING_NAME:
            return [Reply(turn._("What is your first name?"))]
        if state == AWAITING_CARD_NUMBER:
            return [Reply(turn._("Please type the number printed on your card."))]
        if state == AWAITING_PHONE:
            if turn.identity.state_data.get("existing_card"):
                return [self._ask_phone_for_card(turn)]
            return [self._ask_phone(turn, turn.identity.state_data.get("first_name", ""))]
        if state == AWAITING_CONSENT:
            return [self._ask_consent(turn)]
        if turn.customer is not None:
            return [self._help(turn)]
        return [Reply(turn._("Send /start to get your loyalty card."))]

    async def _name(self, turn: Turn, text: str) -> list[Reply]:
        try:
            name = clean_first_name(text)
        except InvalidName as error:
            return [Reply(turn._(_NAME_PROBLEMS[error.problem]))]
        data = turn.identity.state_data
        if data.get("phone"):
            # The phone was confirmed already (a plastic card that could not be linked).
            await save_state(turn.identity, AWAITING_CONSENT, dict(data, first_name=name))
            return [self._ask_consent(turn)]
        await save_state(turn.identity, AWAITING_PHONE, {"first_name": name})
        return [self._ask_phone(turn, name)]

    def _ask_phone(self, turn: Turn, name: str) -> Reply:
        if turn.inbound.channel in self.config.typed_phone_channels:
            return Reply(
                turn._("Nice to meet you, {name}! What is your phone number?", name=name),
                expects_phone=True,
            )
        return Reply(
            turn._(
                "Nice to meet you, {name}! Please confirm your phone number with the button below.",
                name=name,
            ),
            ask_phone=turn._("Share my phone number"),
        )

    async def _phone_from_contact(self, turn: Turn) -> list[Reply]:
        if not turn.inbound.contact_is_own:
            return [
                Reply(
                    turn._("That is someone else's contact. Please share your own number."),
                    ask_phone=turn._("Share my phone number"),
                )
            ]
        return await self._accept_phone(turn, turn.inbound.contact_phone or "", confirmed=True)

    async def _typed_phone(self, turn: Turn, text: str) -> list[Reply]:
        return await self._accept_phone(turn, text, confirmed=False)

    async def _accept_phone(self, turn: Turn, raw: str, confirmed: bool) -> list[Reply]:
        try:
            phone = normalize_phone(raw, self.config.phone_region)
        except InvalidPhone:
            return [
                Reply(
                    turn._(
                        "That doesn't look like a phone number. "
                        "Please send it with the country code, e.g. +380 50 123 4567."
                    ),
                    ask_phone=None if not confirmed else turn._("Share my phone number"),
                )
            ]
        existing_card = turn.identity.state_data.get("existing_card")
        if existing_card and confirmed:
            linked = await link_existing_card(turn.identity, existing_card, phone)
            if linked is not None:
                turn.customer = linked.customer
                return [
                    Reply(turn._("Done: your card is now in this chat.")),
                    await self._card_reply(turn, linked.card),
                ]
        if confirmed:
            linked = await link_by_confirmed_phone(turn.identity, phone)
            if linked is not None:
                turn.customer = linked.customer
                return [
                    Reply(turn._("You already have our card: I have linked this chat to it.")),
                    await self._card_reply(turn, linked.card),
                ]
        elif await customer_with_phone(phone) is not None:
            return [
                Reply(
                    turn._(
                        "This number already has a card. Open it in our Telegram or Viber "
                        "bot, or send another number."
                    )
                )
            ]
        if existing_card:
            # Say the same whether the card is unknown or someone else's: reveal nothing.
            await save_state(
                turn.identity, AWAITING_NAME, {"phone": phone, "phone_confirmed": confirmed}
            )
            return [
                Reply(
                    turn._(
                        "I could not link that card to this phone number. "
                        "I can issue you a new digital card instead: what is your first name?"
                    )
                )
            ]
        data = dict(turn.identity.state_data, phone=phone, phone_confirmed=confirmed)
        await save_state(turn.identity, AWAITING_CONSENT, data)
        return [self._ask_consent(turn)]

    def _ask_consent(self, turn: Turn) -> Reply:
        return Reply(
            turn._(
                "May we send you personal offers and vouchers in this chat? "
                "You can stop them at any time with /stop."
            ),
            buttons=(
                Button(turn._("Yes, send offers"), CONSENT_YES),
                Button(turn._("No"), CONSENT_NO),
            ),
        )

    async def _consent(self, turn: Turn, granted: bool) -> list[Reply]:
        now = self.config.clock()
        version = self._consent_version(turn)
        if turn.customer is not None:
            if granted:
                await grant_marketing(turn.customer, turn.inbound.channel, version, now)
                return [
                    Reply(
                        turn._("Done: we will send you offers here."), menu=await self._menu(turn)
                    )
                ]
            return [self._help(turn)]
        if turn.identity.state != AWAITING_CONSENT:
            return await self._prompt(turn)
        data = turn.identity.state_data
        registration = await register_customer(
            turn.identity,
            NewCustomer(
                first_name=data["first_name"],
                phone=data["phone"],
                phone_confirmed=bool(data.get("phone_confirmed")),
                language=turn.language,
                marketing_consent=granted,
                consent_text_version=version,
            ),
            self.config.timezone_fallback,
            self.config.card_policy,
            now,
        )
        turn.customer = registration.customer
        replies = []
        if registration.linked_existing:
            replies.append(
                Reply(turn._("You already have our card: I have linked this chat to it."))
            )
        replies.append(await self._card_reply(turn, registration.card, fresh=True))
        return replies

    def _consent_version(self, turn: Turn) -> str:
        return f"{MARKETING_CONSENT_TEXT_VERSION}:{turn.language}"

    # --- registered customers ------------------------------------------------------------

    async def _card(self, turn: Turn, greeting: bool = False) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("You don't have a card yet."))] + await self._start_or_prompt(turn)
        card = await active_card_of(turn.customer.id)
        if card is None:
            return [Reply(turn._("Your card is not active. Please contact the store."))]
        return [await self._card_reply(turn, card, greeting=greeting)]

    async def _start_or_prompt(self, turn: Turn) -> list[Reply]:
        if turn.identity.state == NEW:
            return await self._start(turn)
        return await self._prompt(turn)

    async def _card_reply(
        self, turn: Turn, card: Card, fresh: bool = False, greeting: bool = False
    ) -> Reply:
        assert turn.customer is not None
        lines = []
        if fresh:
            lines.append(
                turn._("Here is your loyalty card, {name}!", name=turn.customer.first_name)
            )
        elif greeting:
            lines.append(turn._("Welcome back, {name}!", name=turn.customer.first_name))
        lines.append(turn._("Card number: {number}", number=format_card_number(card.number)))
        lines.append(turn._("Show this QR code at the till before paying."))
        image = QrImage(
            kind="card",
            object_id=card.id,
            payload=card.number,
            media_token=card_image_token(
                card, self.config.media_key, self.config.clock(), self.config.media_ttl
            ),
            telegram_file_id=card.telegram_file_id,
        )
        return Reply(text="\n".join(lines), image=image, menu=await self._menu(turn))

    async def _menu(self, turn: Turn) -> tuple[Button, ...]:
        assert turn.customer is not None
        subscribed = turn.customer.marketing_consent
        offers = (
            Button(turn._("Stop offers"), "/stop")
            if subscribed
            else Button(turn._("Get offers"), "/subscribe")
        )
        return (
            Button(turn._("My card"), "/card"),
            Button(turn._("My vouchers"), "/vouchers"),
            Button(turn._("Language"), "/language"),
            offers,
            Button(turn._("Delete my data"), "/delete"),
        )

    def _help(self, turn: Turn) -> Reply:
        return Reply(
            turn._(
                "Commands: /card shows your card, /vouchers your vouchers, "
                "/language changes the language, /stop stops offers, /delete erases your data."
            )
        )

    async def _vouchers(self, turn: Turn) -> list[Reply]:
        """The customer's vouchers, each with its QR code and conditions."""
        if turn.customer is None:
            return [Reply(turn._("You don't have a card yet."))] + await self._start_or_prompt(turn)
        vouchers = await usable_vouchers_of(turn.customer.id, self.config.clock())
        menu = await self._menu(turn)
        if not vouchers:
            return [Reply(turn._("You have no active vouchers right now."), menu=menu)]
        shown = vouchers[:MAX_VOUCHERS_SHOWN]
        replies = [self.voucher_reply(turn.customer, voucher) for voucher in shown]
        return [*replies[:-1], replace(replies[-1], menu=menu)]

    def voucher_reply(self, customer: Customer, voucher: Voucher) -> Reply:
        """One voucher as a chat message: what it gives, until when, on what terms, and its QR."""
        language = customer.language
        tr = translations(language)
        until = voucher.valid_until.astimezone(ZoneInfo(customer.timezone))
        lines = [
            f"🎁 {voucher.title}",
            voucher_value_text(voucher, language),
            tr.gettext("Code: {code}").format(code=format_voucher_code(voucher.code)),
            tr.gettext("Valid until {date}").format(
                date=format_date(until.date(), format="long", locale=language)
            ),
            *voucher_conditions(voucher, language),
            tr.gettext("Show this QR code at the till before paying."),
        ]
        image = QrImage(
            kind="voucher",
            object_id=voucher.id,
            payload=voucher.code,
            media_token=voucher_image_token(voucher, self.config.media_key, self.config.clock()),
            telegram_file_id=voucher.telegram_file_id,
        )
        return Reply(text="\n".join(lines), image=image)

    def voucher_announcement(self, customer: Customer, voucher: Voucher) -> list[Reply]:
        """The message a customer gets when a voucher is issued to them."""
        tr = translations(customer.language)
        return [Reply(tr.gettext("You have a new voucher!")), self.voucher_reply(customer, voucher)]

    async def _help_command(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [self._help(turn)] + await self._start_or_prompt(turn)
        return [Reply(self._help(turn).text, menu=await self._menu(turn))]

    async def _language_menu(self, turn: Turn) -> list[Reply]:
        return [
            Reply(
                turn._("Choose your language:"),
                buttons=tuple(
                    Button(LANGUAGE_NAMES[code], LANGUAGE_PREFIX + code) for code in LANGUAGES
                ),
            )
        ]

    async def _language_chosen(self, turn: Turn, code: str) -> list[Reply]:
        if code not in LANGUAGES:
            return await self._language_menu(turn)
        await set_identity_language(turn.identity, code)
        if turn.customer is not None:
            turn.customer.language = code
        replies = [Reply(turn._("Language changed."))]
        return replies + await self._prompt_after_language(turn)

    async def _prompt_after_language(self, turn: Turn) -> list[Reply]:
        if turn.customer is not None:
            return [Reply(self._help(turn).text, menu=await self._menu(turn))]
        return await self._start_or_prompt(turn)

    async def _stop(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("You are not subscribed to offers."))]
        if not await has_consent(turn.customer.id, ConsentPurpose.MARKETING):
            return [Reply(turn._("You are not subscribed to offers."), menu=await self._menu(turn))]
        return [
            Reply(
                turn._("Stop sending you offers and vouchers?"),
                buttons=(
                    Button(turn._("Yes, stop"), STOP_YES),
                    Button(turn._("No, keep them"), STOP_NO),
                ),
            )
        ]

    async def _stop_confirmed(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("You are not subscribed to offers."))]
        await withdraw_marketing(
            turn.customer, turn.inbound.channel, self._consent_version(turn), self.config.clock()
        )
        return [
            Reply(
                turn._(
                    "Done: no more offers. Your card keeps working. "
                    "Send /subscribe to get them again."
                ),
                menu=await self._menu(turn),
            )
        ]

    async def _subscribe(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return await self._start_or_prompt(turn)
        return [self._ask_consent(turn)]

    async def _delete(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("We keep no personal data about you."))] + (
                await self._start_or_prompt(turn)
            )
        return [
            Reply(
                turn._(
                    "Delete your name and phone number and close your card? This cannot be undone."
                ),
                buttons=(
                    Button(turn._("Yes, delete"), DELETE_YES),
                    Button(turn._("No"), DELETE_NO),
                ),
            )
        ]

    async def _delete_confirmed(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("We keep no personal data about you."))]
        language = turn.language
        await erase_customer(
            turn.customer, turn.inbound.channel, self._consent_version(turn), self.config.clock()
        )
        tr = translations(language)
        return [
            Reply(
                tr.gettext(
                    "Your data has been erased and your card closed. Send /start to begin again."
                )
            )
        ]

    async def _cancelled(self, turn: Turn) -> list[Reply]:
        reply = Reply(turn._("OK, nothing changed."))
        if turn.customer is not None:
            return [Reply(reply.text, menu=await self._menu(turn))]
        return [reply] + await self._prompt(turn)

    async def _consent_yes(self, turn: Turn) -> list[Reply]:
        return await self._consent(turn, True)

    async def _consent_no(self, turn: Turn) -> list[Reply]:
        return await self._consent(turn, False)


_NAME_PROBLEMS = {
    NameProblem.EMPTY: N_("Please tell me your first name."),
    NameProblem.TOO_LONG: N_(
        "That is too long for a first name. Please use at most 64 characters."
    ),
    NameProblem.BAD_CHARACTERS: N_(
        "A first name can only have letters, spaces, hyphens and apostrophes. "
        "What is your first name?"
    ),
}

_COMMANDS: dict[str, Handler] = {
    "/start": ConversationEngine._start,
    "/card": ConversationEngine._card,
    "/language": ConversationEngine._language_menu,
    "/stop": ConversationEngine._stop,
    "/subscribe": ConversationEngine._subscribe,
    "/delete": ConversationEngine._delete,
    "/help": ConversationEngine._help_command,
    "/vouchers": ConversationEngine._vouchers,
}

_PAYLOADS: dict[str, Handler] = {
    CONSENT_YES: ConversationEngine._consent_yes,
    HAVE_CARD: ConversationEngine._have_card,
    CONSENT_NO: ConversationEngine._consent_no,
    STOP_YES: ConversationEngine._stop_confirmed,
    STOP_NO: ConversationEngine._cancelled,
    DELETE_YES: ConversationEngine._delete_confirmed,
    DELETE_NO: ConversationEngine._cancelled,
}
