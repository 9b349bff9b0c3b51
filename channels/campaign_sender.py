"""Sending one campaign message to Telegram or Viber, paced by the per-bot and per-chat limits.

Returns the platform's id of the message or raises `DeliveryError`: the outbox worker, not
this adapter, decides about retries, so a 429 or a 5xx costs no time here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from viberbot.api.messages import PictureMessage, TextMessage

from bot.events import Button, Reply
from channels.errors import DeliveryError, FailureKind
from channels.rate_limit import Pacer
from channels.telegram.errors import classify_telegram_error
from channels.viber.client import ViberClient
from channels.viber.render import reply_keyboard
from crm_core.campaigns.render import RenderedMessage
from crm_core.customers.models import Channel

VOUCHERS_PAYLOAD = "/vouchers"
# Slots exactly 1/rate apart put the 31st send of a second right on the window's edge, where
# a millisecond of timer jitter makes it a 429 (and a second's pause). A little headroom
# keeps every second under the limit.
HEADROOM = 0.97


@dataclass(frozen=True)
class ChannelLimits:
    per_second: float  # per bot, across chats; 0 = no limit
    per_chat_per_second: float


class CampaignSender:
    def __init__(
        self,
        pacer: Pacer,
        telegram: Bot | None,
        viber: ViberClient | None,
        limits: dict[str, ChannelLimits],
        paid_broadcast: bool = False,
    ) -> None:
        self.pacer = pacer
        self.telegram = telegram
        self.viber = viber
        self.limits = limits
        self.paid_broadcast = paid_broadcast

    async def send(
        self, channel: str, external_id: str, chat_id: str, message: RenderedMessage
    ) -> str:
        limits = self.limits.get(channel, ChannelLimits(0, 0))
        await self.pacer.wait_turn(
            f"{channel}:chat:{chat_id}", limits.per_chat_per_second * HEADROOM
        )
        await self.pacer.wait_turn(f"{channel}:bot", limits.per_second * HEADROOM)
        try:
            if channel == Channel.TELEGRAM and self.telegram is not None:
                return await self._telegram(chat_id, message)
            if channel == Channel.VIBER and self.viber is not None:
                return await self._viber(external_id, message)
        except DeliveryError as error:
            if error.kind is FailureKind.RATE_LIMITED and error.retry_after:
                await self.pacer.hold(f"{channel}:bot", error.retry_after)
            raise
        raise DeliveryError(FailureKind.PERMANENT, f"channel {channel} is not configured")

    async def _telegram(self, chat_id: str, message: RenderedMessage) -> str:
        markup = None
        if message.button:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=message.button, callback_data=VOUCHERS_PAYLOAD)]
                ]
            )
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if self.paid_broadcast else {}
        if message.image_url:
            method: SendMessage | SendPhoto = SendPhoto(
                chat_id=chat_id,
                photo=message.image_url,
                caption=message.text,
                reply_markup=markup,
                **extra,
            )
        else:
            method = SendMessage(chat_id=chat_id, text=message.text, reply_markup=markup, **extra)
        assert self.telegram is not None
        try:
            sent = await self.telegram(method)
        except Exception as error:
            raise classify_telegram_error(error) from error
        return str(sent.message_id)

    async def _viber(self, receiver: str, message: RenderedMessage) -> str:
        buttons = (Button(message.button, VOUCHERS_PAYLOAD),) if message.button else ()
        keyboard, min_api = reply_keyboard(Reply(text=message.text, buttons=buttons))
        if message.image_url:
            typed: Any = PictureMessage(
                text=message.text,
                media=message.image_url,
                keyboard=keyboard,
                min_api_version=min_api,
            )
        else:
            typed = TextMessage(text=message.text, keyboard=keyboard, min_api_version=min_api)
        assert self.viber is not None
        return await self.viber.send(receiver, typed)
