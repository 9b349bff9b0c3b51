"""Bot-initiated messages to a customer on every messenger they can be reached on."""

from __future__ import annotations

from collections.abc import Callable

from bot.events import Reply
from channels.telegram.responder import TelegramResponder
from channels.viber.responder import ViberResponder
from crm_core.customers.models import Channel, ChannelIdentity


class Pusher:
    """Direct sends for now; campaign volumes go through the outbox and its workers."""

    def __init__(self, telegram: TelegramResponder | None, viber: ViberResponder | None) -> None:
        self.telegram = telegram
        self.viber = viber

    async def push(self, customer_id: int, build: Callable[[], list[Reply]]) -> int:
        """Send to each reachable messenger identity; returns how many got the message."""
        identities = await ChannelIdentity.filter(
            customer_id=customer_id,
            reachable=True,
            channel__in=[Channel.TELEGRAM, Channel.VIBER],
        )
        reached = 0
        for identity in identities:
            replies = build()
            if identity.channel == Channel.TELEGRAM and self.telegram is not None:
                reached += await self.telegram.push(identity.external_id, identity.chat_id, replies)
            elif identity.channel == Channel.VIBER and self.viber is not None:
                reached += await self.viber.deliver(identity.external_id, replies)
        return reached
