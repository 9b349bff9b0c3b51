"""The card itself, the menu a customer sees, and help."""

from __future__ import annotations

from bot.conversation import (
    Flow,
    Turn,
)
from bot.events import Button, QrImage, Reply
from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number
from crm_core.cards.service import active_card_of, card_image_token


class CardFlow(Flow):
    async def _card(self, turn: Turn, greeting: bool = False) -> list[Reply]:
        if turn.customer is None:
            return [Reply(turn._("You don't have a card yet."))] + await self._start_or_prompt(turn)
        card = await active_card_of(turn.customer.id)
        if card is None:
            return [Reply(turn._("Your card is not active. Please contact the store."))]
        return [await self._card_reply(turn, card, greeting=greeting)]

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

    async def _help_command(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return [self._help(turn)] + await self._start_or_prompt(turn)
        return [Reply(self._help(turn).text, menu=await self._menu(turn))]
