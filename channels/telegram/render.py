"""Neutral replies as Telegram Bot API methods."""

from __future__ import annotations

from aiogram.methods import SendMessage, SendPhoto, TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.events import Reply
from crm_core.cards.qr import card_qr_png

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def _markup(reply: Reply) -> ReplyMarkup:
    if reply.ask_phone:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.ask_phone, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.buttons:
        rows = [
            [
                InlineKeyboardButton(text=b.label, callback_data=b.payload)
                for b in reply.buttons[i : i + 2]
            ]
            for i in range(0, len(reply.buttons), 2)
        ]
        return InlineKeyboardMarkup(inline_keyboard=rows)
    # Telegram offers the menu as bot commands; a leftover phone keyboard is taken away.
    return ReplyKeyboardRemove()


def reply_to_method(chat_id: str, reply: Reply) -> TelegramMethod:
    markup = _markup(reply)
    if reply.image is not None:
        photo = reply.image.telegram_file_id or BufferedInputFile(
            card_qr_png(reply.image.payload),
            filename=f"{reply.image.kind}-{reply.image.object_id}.png",
        )
        return SendPhoto(chat_id=chat_id, photo=photo, caption=reply.text, reply_markup=markup)
    return SendMessage(chat_id=chat_id, text=reply.text, reply_markup=markup)


def needs_upload(method: TelegramMethod) -> bool:
    """Uploads must go through the API: the webhook response cannot return the file_id to us."""
    return isinstance(method, SendPhoto) and isinstance(method.photo, BufferedInputFile)
