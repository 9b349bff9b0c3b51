"""POST /webhooks/telegram: authenticate, de-duplicate, feed aiogram, answer inline."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from channels.http_body import read_body_limited
from channels.telegram.responder import TelegramResponder, method_as_webhook_response
from crm_core.clock import utcnow
from crm_core.customers.models import Channel
from crm_core.inbox.service import claim_update, release_update

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


@dataclass
class TelegramChannel:
    bot: Bot
    dispatcher: Dispatcher
    responder: TelegramResponder
    webhook_secret: str
    max_body_bytes: int


def _authorised(channel: TelegramChannel, request: Request) -> bool:
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not channel.webhook_secret:
        return False
    return hmac.compare_digest(given.encode(), channel.webhook_secret.encode())


@router.post("/webhooks/telegram", summary="Telegram Bot API webhook")
async def telegram_webhook(request: Request) -> dict[str, Any]:
    channel: TelegramChannel | None = request.app.state.telegram
    if channel is None:
        raise HTTPException(status_code=404, detail="Telegram is not configured.")
    if not _authorised(channel, request):
        raise HTTPException(status_code=401, detail="Wrong or missing secret token.")
    body = await read_body_limited(request, channel.max_body_bytes)
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        # RecursionError: nesting deeper than the parser can follow is not an update either.
        raise HTTPException(status_code=400, detail="Body is not valid JSON.") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise HTTPException(status_code=400, detail="Not a Telegram Update: no integer update_id.")
    try:
        update = Update.model_validate(payload, context={"bot": channel.bot})
    except ValidationError as error:
        raise HTTPException(
            status_code=400, detail=f"Malformed Telegram Update: {error.error_count()} errors."
        ) from error
    key = str(update.update_id)
    if not await claim_update(Channel.TELEGRAM, key, utcnow()):
        return {}
    try:
        method = await channel.dispatcher.feed_webhook_update(channel.bot, update)
    except Exception:
        # Let Telegram retry: forget the claim so the retry is processed.
        await release_update(Channel.TELEGRAM, key)
        log.exception("telegram update %s failed", key)
        raise
    if method is None:
        return {}
    return method_as_webhook_response(channel.bot, method)
