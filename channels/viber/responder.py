"""Delivering replies to a Viber user through the REST API."""

from __future__ import annotations

import logging

from bot.events import Reply
from channels.delivery import send_with_retries
from channels.errors import DeliveryError, FailureKind
from channels.viber.client import ViberClient
from channels.viber.render import reply_to_messages
from crm_core.customers.models import Channel
from crm_core.customers.service import mark_unreachable

log = logging.getLogger(__name__)


class ViberResponder:
    def __init__(self, client: ViberClient, public_base_url: str) -> None:
        self.client = client
        self.public_base_url = public_base_url

    async def deliver(self, receiver: str, replies: list[Reply]) -> bool:
        """Send in order; stop at the first failure. False if something was not delivered."""
        for reply in replies:
            for message in reply_to_messages(reply, self.public_base_url):
                try:
                    await send_with_retries(
                        lambda message=message: self.client.send(receiver, message)
                    )
                except DeliveryError as error:
                    if error.kind is FailureKind.UNREACHABLE:
                        await mark_unreachable(Channel.VIBER, receiver)
                    log.warning("viber send failed: %s", error.kind)
                    return False
        return True
