"""Start-up calls to Telegram: the webhook with its secret, and the localized command menu."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n import LANGUAGES, translations

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]


def command_menu(language: str) -> list[BotCommand]:
    tr = translations(language)
    return [
        BotCommand(command="card", description=tr.gettext("Show my card")),
        BotCommand(command="vouchers", description=tr.gettext("My vouchers")),
        BotCommand(command="language", description=tr.gettext("Change the language")),
        BotCommand(command="stop", description=tr.gettext("Stop offers")),
        BotCommand(command="delete", description=tr.gettext("Delete my data")),
        BotCommand(command="help", description=tr.gettext("Help")),
    ]


async def register_webhook(bot: Bot, url: str, secret: str) -> None:
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    log.info("telegram webhook registered")


async def publish_commands(bot: Bot, default_language: str) -> None:
    await bot.set_my_commands(command_menu(default_language))
    for language in LANGUAGES:
        await bot.set_my_commands(command_menu(language), language_code=language)
