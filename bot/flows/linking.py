"""Adding this chat to the card of a number already in use, with a one-time code.

A typed number (web chat) or a Viber contact proves nothing: a chat sending a number that
already belongs to a customer is offered a code, sent to that customer's Telegram or Viber
chats. The words are the same whether or not the number has a card, and nothing of that
customer is shown before the code is typed back.
"""

from __future__ import annotations

from bot.conversation import (
    AWAITING_LINK_CODE,
    AWAITING_PHONE,
    LINK_CODE,
    LINK_OPENED,
    LINK_OTHER_NUMBER,
    LINK_START_PREFIX,
    Flow,
    Turn,
)
from bot.events import Button, Reply
from bot.i18n import translations
from crm_core.customers.models import Customer
from crm_core.customers.service import save_state
from crm_core.identity.links import (
    CODE_TTL,
    CodeCheck,
    check_code,
    create_link_token,
    redeem_link_token,
    request_code,
)

_CODE_MINUTES = int(CODE_TTL.total_seconds() // 60)


class LinkingFlow(Flow):
    def _phone_needs_proof(self, turn: Turn, link: str | None = None) -> Reply:
        """The number cannot be used here without a proof; the state stays at the phone step.
        `link` opens the Telegram bot with a token that proves it from there."""
        buttons = [Button(turn._("Send me a code"), LINK_CODE)]
        if link is not None:
            buttons.append(Button(turn._("Open in Telegram"), LINK_OPENED, url=link))
        return Reply(
            turn._(
                "I cannot use this number here without a confirmation. If it has our card in "
                'Telegram or Viber, tap "Send me a code": a one-time code will arrive there. '
                "Or send another number."
            ),
            buttons=tuple(buttons),
            ask_phone=turn._("Share my phone number")
            if turn.inbound.channel not in self.config.typed_phone_channels
            else None,
            expects_phone=turn.inbound.channel in self.config.typed_phone_channels,
        )

    async def _needs_proof(self, turn: Turn, phone: str) -> list[Reply]:
        data = dict(turn.identity.state_data, pending_phone=phone)
        for key in ("phone", "phone_confirmed", "phone_proven"):
            data.pop(key, None)
        await save_state(turn.identity, AWAITING_PHONE, data)
        username = self.config.telegram_bot_username
        if username and turn.inbound.channel in self.config.typed_phone_channels:
            token = await create_link_token(turn.identity, phone, self.config.clock())
            link = f"https://t.me/{username}?start={LINK_START_PREFIX}{token}"
            return [
                self._phone_needs_proof(turn, link),
                Reply(
                    turn._(
                        'Or tap "Open in Telegram" and confirm there, in the chat where you '
                        "have our card; then come back and reload this page."
                    )
                ),
            ]
        return [self._phone_needs_proof(turn)]

    async def _open_link(self, turn: Turn, token: str) -> list[Reply]:
        """/start link_<token> in a messenger: the web chat that made the link joins this
        chat's customer, if it asked about their number."""
        if turn.customer is None:
            return [
                Reply(
                    turn._(
                        "To add the web chat to your card, first get your card here with the "
                        "same phone number, then open the link again."
                    )
                )
            ]
        if await redeem_link_token(token, turn.customer, self.config.clock()):
            return [Reply(turn._("Done: the web chat now shows your card. Reload the page there."))]
        return [
            Reply(
                turn._(
                    "This link is no longer valid, or it is for another number. "
                    "Please ask for a new one in the web chat."
                )
            )
        ]

    async def _send_link_code(self, turn: Turn) -> list[Reply]:
        phone = turn.identity.state_data.get("pending_phone")
        if turn.customer is not None or not phone:
            return await self._prompt(turn)  # type: ignore[attr-defined]
        issued = await request_code(turn.identity, phone, self.config.clock())
        if issued.code is not None and issued.customer_id is not None and self.push is not None:
            owner = await Customer.get(id=issued.customer_id)
            code = issued.code

            def message() -> list[Reply]:
                tr = translations(owner.language)
                return [
                    Reply(
                        tr.gettext(
                            "Your one-time code to add another chat to your loyalty card: "
                            "{code}. If you did not ask for it, ignore this message: without "
                            "the code nobody can see your card."
                        ).format(code=code)
                    )
                ]

            await self.push(issued.customer_id, message)
        await save_state(turn.identity, AWAITING_LINK_CODE, dict(turn.identity.state_data))
        return [self._ask_link_code(turn)]

    def _ask_link_code(self, turn: Turn) -> Reply:
        return Reply(
            turn._(
                "If this number has our card in Telegram or Viber, a one-time code has just "
                "arrived there. Please type it here; it is valid for {minutes} minutes.",
                minutes=_CODE_MINUTES,
            ),
            buttons=(Button(turn._("Use another number"), LINK_OTHER_NUMBER),),
        )

    async def _link_code_typed(self, turn: Turn, text: str) -> list[Reply]:
        result, joined = await check_code(turn.identity, text, self.config.clock())
        if result is CodeCheck.JOINED and joined is not None:
            turn.customer = joined.customer
            return [
                Reply(turn._("Done: your card is now in this chat.")),
                await self._card_reply(turn, joined.card),  # type: ignore[attr-defined]
            ]
        if result is CodeCheck.WRONG:
            return [
                Reply(
                    turn._("That code is not right. Please check it and type it again."),
                    buttons=(Button(turn._("Use another number"), LINK_OTHER_NUMBER),),
                )
            ]
        await save_state(turn.identity, AWAITING_PHONE, dict(turn.identity.state_data))
        return [
            Reply(
                turn._(
                    'This code is no longer valid. Tap "Send me a code" for a new one, or '
                    "send another number."
                ),
                buttons=(Button(turn._("Send me a code"), LINK_CODE),),
                expects_phone=turn.inbound.channel in self.config.typed_phone_channels,
            )
        ]

    async def _link_other_number(self, turn: Turn) -> list[Reply]:
        if turn.customer is not None or turn.identity.state not in (
            AWAITING_PHONE,
            AWAITING_LINK_CODE,
        ):
            return await self._prompt(turn)  # type: ignore[attr-defined]
        data = dict(turn.identity.state_data)
        data.pop("pending_phone", None)
        await save_state(turn.identity, AWAITING_PHONE, data)
        return await self._prompt(turn)  # type: ignore[attr-defined]
