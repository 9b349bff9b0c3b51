"""The aiogram Dispatcher: every private message and button press goes to the one engine."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Message

from bot.engine import ConversationEngine
from channels.telegram.inbound import callback_to_inbound, message_to_inbound
from channels.telegram.responder import TelegramResponder

log = logging.getLogger(__name__)


def create_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    return Bot(token=token, session=session)


def create_dispatcher(engine: ConversationEngine, responder: TelegramResponder) -> Dispatcher:
    router = Router(name="loyalty")

    @router.message()
    async def on_message(message: Message) -> TelegramMethod | None:
        inbound = message_to_inbound(message)
        if inbound is None:
            return None
        replies = await engine.handle(inbound)
        return await responder.deliver(inbound.external_id, inbound.chat_id, replies)

    @router.callback_query()
    async def on_button(callback: CallbackQuery) -> TelegramMethod | None:
        inbound = callback_to_inbound(callback)
        try:
            await callback.answer()
        except TelegramAPIError:
            log.info("could not answer a callback query; the reply still goes out")
        if inbound is None:
            return None
        replies = await engine.handle(inbound)
        return await responder.deliver(inbound.external_id, inbound.chat_id, replies)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher
