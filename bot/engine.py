"""The one conversation every channel runs: registration, the optional survey, card, vouchers,
language, opt-out, erasure.

State is kept on the channel identity in the database, so any web process can take the next
message and a restart resumes where the user was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.conversation import (
    AWAITING_CARD_NUMBER,
    AWAITING_CONSENT,
    AWAITING_LINK_CODE,
    AWAITING_NAME,
    AWAITING_PHONE,
    CONSENT_NO,
    CONSENT_YES,
    DELETE_NO,
    DELETE_YES,
    HAVE_CARD,
    LANGUAGE_PREFIX,
    LINK_CODE,
    LINK_OTHER_NUMBER,
    MARKETING_CONSENT_TEXT_VERSION,
    NEW,
    REGISTERED,
    STOP_NO,
    STOP_YES,
    SURVEY_BIRTHDAY,
    SURVEY_CATEGORIES,
    SURVEY_CATEGORY_PREFIX,
    SURVEY_DONE,
    SURVEY_PREFIX,
    SURVEY_SKIP,
    SURVEY_STATES,
    BotConfig,
    Handler,
    Turn,
)
from bot.events import Button, Inbound, InboundKind, Reply
from bot.flows.account import AccountFlow
from bot.flows.card import CardFlow
from bot.flows.linking import LinkingFlow
from bot.flows.registration import RegistrationFlow
from bot.flows.survey import SurveyFlow
from bot.flows.vouchers import VoucherFlow
from bot.i18n import LANGUAGES, pick_language, translations
from crm_core.customers.service import (
    save_state,
    touch_identity,
)
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.text import forbidden_character

__all__ = ["MARKETING_CONSENT_TEXT_VERSION", "BotConfig", "ConversationEngine"]


class ConversationEngine(
    RegistrationFlow, LinkingFlow, SurveyFlow, CardFlow, AccountFlow, VoucherFlow
):
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
        if customer is None and (identity.state == REGISTERED or identity.state in SURVEY_STATES):
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

    async def _route(self, turn: Turn) -> list[Reply]:
        inbound = turn.inbound
        if inbound.kind is InboundKind.START:
            await self._end_survey_quietly(turn)
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
        if forbidden_character(inbound.text) is not None:
            return [
                Reply(
                    turn._(
                        "Sorry, this message contains invisible control characters that I "
                        "cannot read. Please type it again."
                    )
                )
            ] + (await self._prompt(turn))
        text = inbound.text.strip()
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else ""
        if command in _COMMANDS:
            await self._end_survey_quietly(turn)
            return await _COMMANDS[command](self, turn)
        if text in _PAYLOADS:
            return await self._pressed(turn, text, lambda: _PAYLOADS[text](self, turn))
        if text.startswith(LANGUAGE_PREFIX):
            code = text.removeprefix(LANGUAGE_PREFIX)
            return await self._pressed(turn, text, lambda: self._language_chosen(turn, code))
        if text.startswith(SURVEY_CATEGORY_PREFIX):
            category = text.removeprefix(SURVEY_CATEGORY_PREFIX)
            return await self._pressed(turn, text, lambda: self._survey_category(turn, category))
        return await self._free_text(turn, text)

    async def _pressed(
        self, turn: Turn, payload: str, handle: Callable[[], Awaitable[list[Reply]]]
    ) -> list[Reply]:
        """A button's payload: any but the survey's ends the survey; a customer's click is kept.

        The click is recorded before the handler for a known customer (the handler may erase
        them), after it for one the handler has just registered.
        """
        if not payload.startswith(SURVEY_PREFIX):
            await self._end_survey_quietly(turn)
        known = turn.customer is not None
        if known:
            await self._record_click(turn, payload)
        replies = await handle()
        if not known and turn.customer is not None:
            await self._record_click(turn, payload)
        return replies

    async def _record_click(self, turn: Turn, payload: str) -> None:
        button = _button_name(payload)
        if turn.customer is None or button is None:
            return
        await record_event(
            turn.customer.id,
            EventKind.CLICKED_BUTTON,
            self.config.clock(),
            turn.inbound.channel,
            {"button": button},
        )

    async def _free_text(self, turn: Turn, text: str) -> list[Reply]:
        state = turn.identity.state
        if state == AWAITING_NAME:
            return await self._name(turn, text)
        if state == AWAITING_CARD_NUMBER:
            return await self._existing_card_number(turn, text)
        if state == AWAITING_LINK_CODE:
            return await self._link_code_typed(turn, text)
        if state == AWAITING_PHONE:
            if turn.inbound.channel in self.config.typed_phone_channels:
                return await self._typed_phone(turn, text)
            return [Reply(turn._("Please use the button below to share your phone number."))] + (
                await self._prompt(turn)
            )
        if state in (AWAITING_CONSENT, SURVEY_CATEGORIES):
            return [Reply(turn._("Please answer with one of the buttons."))] + (
                await self._prompt(turn)
            )
        if state == SURVEY_BIRTHDAY:
            return await self._birthday(turn, text)
        if turn.customer is not None:
            # Free text from a customer: what the bot can do, and the buttons to do it.
            return [Reply(self._help(turn).text, menu=await self._menu(turn))]
        return await self._start(turn)


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
    LINK_CODE: ConversationEngine._send_link_code,
    LINK_OTHER_NUMBER: ConversationEngine._link_other_number,
    CONSENT_NO: ConversationEngine._consent_no,
    STOP_YES: ConversationEngine._stop_confirmed,
    STOP_NO: ConversationEngine._cancelled,
    DELETE_YES: ConversationEngine._delete_confirmed,
    DELETE_NO: ConversationEngine._cancelled,
    SURVEY_DONE: ConversationEngine._survey_done,
    SURVEY_SKIP: ConversationEngine._survey_skip,
}


def _button_name(payload: str) -> str | None:
    """What goes into a click event: a known button's payload, never free text typed to look
    like one (Viber and the web chat send button payloads as ordinary text)."""
    if payload in _PAYLOADS:
        return payload
    if payload.startswith(LANGUAGE_PREFIX) and payload.removeprefix(LANGUAGE_PREFIX) in LANGUAGES:
        return payload
    category = payload.removeprefix(SURVEY_CATEGORY_PREFIX)
    if payload.startswith(SURVEY_CATEGORY_PREFIX) and category.isascii() and category.isdigit():
        return payload[:64]
    return None
