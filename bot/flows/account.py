"""The customer's own settings: language, offers on or off, erasure of their data."""

from __future__ import annotations

from bot.conversation import (
    DELETE_NO,
    DELETE_YES,
    LANGUAGE_PREFIX,
    STOP_NO,
    STOP_YES,
    Flow,
    Turn,
)
from bot.events import Button, Reply
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translations
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import has_consent
from crm_core.customers.service import (
    set_identity_language,
)
from crm_core.registration.service import (
    erase_customer,
    withdraw_marketing,
)


class AccountFlow(Flow):
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
