"""Delivering replies to a Telegram chat: the last one in the webhook response when possible."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram import Bot
from aiogram.methods import SendPhoto, TelegramMethod
from aiogram.types import Message

from bot.events import QrImage, Reply
from channels.delivery import send_with_retries
from channels.errors import DeliveryError, FailureKind
from channels.telegram.errors import classify_telegram_error
from channels.telegram.render import needs_upload, reply_to_method
from crm_core.cards.service import remember_telegram_file_id
from crm_core.customers.models import Channel
from crm_core.customers.service import mark_unreachable
from crm_core.vouchers.service import remember_voucher_file_id

log = logging.getLogger(__name__)


class TelegramResponder:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(
        self, external_id: str, chat_id: str, replies: list[Reply]
    ) -> TelegramMethod | None:
        """Send the replies in order; return the last one to go back as the webhook response.

        Telegram runs a method returned in the response after our answer, so everything before
        it is sent through the API first. Uploads always go through the API, to learn the file_id.
        """
        methods = [(reply, reply_to_method(chat_id, reply)) for reply in replies]
        inline: TelegramMethod | None = None
        if methods and not needs_upload(methods[-1][1]):
            inline = methods.pop()[1]
        for reply, method in methods:
            if not await self._send(external_id, reply, method):
                return None
        return inline

    async def push(self, external_id: str, chat_id: str, replies: list[Reply]) -> bool:
        """Bot-initiated messages: everything through the API. False if none could be sent."""
        for reply in replies:
            if not await self._send(external_id, reply, reply_to_method(chat_id, reply)):
                return False
        return True

    async def _send(self, external_id: str, reply: Reply, method: TelegramMethod) -> bool:
        try:
            result = await send_with_retries(lambda: self._call(method))
        except DeliveryError as error:
            if error.kind is FailureKind.UNREACHABLE:
                await mark_unreachable(Channel.TELEGRAM, external_id)
            log.warning("telegram send failed: %s", error.kind)
            return False
        if isinstance(method, SendPhoto) and reply.image is not None and needs_upload(method):
            if isinstance(result, Message) and result.photo:
                await remember_file_id(reply.image, result.photo[-1].file_id)
        return True

    async def _call(self, method: TelegramMethod) -> Any:
        try:
            return await self.bot(method)
        except Exception as error:
            raise classify_telegram_error(error) from error


async def remember_file_id(image: QrImage, file_id: str) -> None:
    """Keep Telegram's file_id so the same picture is never uploaded twice."""
    if image.kind == "voucher":
        await remember_voucher_file_id(image.object_id, file_id)
    else:
        await remember_telegram_file_id(image.object_id, file_id)


def method_as_webhook_response(bot: Bot, method: TelegramMethod) -> dict[str, Any]:
    """A Bot API call as a JSON webhook response body: {"method": ..., params...}."""
    body: dict[str, Any] = {"method": method.__api_method__}
    files: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        if value is None:
            continue
        prepared = bot.session.prepare_value(value, bot=bot, files=files)
        if prepared is None:
            continue
        body[key] = json.loads(prepared) if isinstance(value, dict | list) else prepared
    if files:
        raise ValueError("uploads cannot be returned in a webhook response")
    return body
