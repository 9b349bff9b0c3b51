"""POST /webhooks/viber: verify the signature, de-duplicate, route each callback type."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from viberbot.api.messages import MESSAGE_TYPE_TO_CLASS, ContactMessage, TextMessage
from viberbot.api.viber_requests import (
    EVENT_TYPE_TO_CLASS,
    ViberConversationStartedRequest,
    ViberDeliveredRequest,
    ViberFailedRequest,
    ViberMessageRequest,
    ViberSeenRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
    create_request,
)

from bot.engine import ConversationEngine
from bot.events import InboundKind
from bot.i18n import pick_language
from channels.http_body import read_body_limited
from channels.viber.client import ViberClient
from channels.viber.inbound import message_to_inbound, user_inbound
from channels.viber.render import reply_keyboard
from channels.viber.responder import ViberResponder
from crm_core.campaigns.outbox import mark_delivery
from crm_core.clock import utcnow
from crm_core.customers.models import Channel
from crm_core.customers.service import mark_unreachable, touch_identity
from crm_core.inbox.service import claim_update, release_update

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


@dataclass
class ViberChannel:
    client: ViberClient
    responder: ViberResponder
    engine: ConversationEngine
    auth_token: str
    max_body_bytes: int


def signature_is_valid(auth_token: str, body: bytes, signature: str) -> bool:
    expected = hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text (a forged header).
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def _parse(payload: Any) -> Any:
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise HTTPException(status_code=400, detail="Not a Viber callback: no 'event' field.")
    if payload["event"] not in EVENT_TYPE_TO_CLASS:
        return None
    message = payload.get("message")
    if payload["event"] == "message" and isinstance(message, dict):
        if message.get("type") not in MESSAGE_TYPE_TO_CLASS:
            # A message kind the SDK does not know yet: treat it as an unsupported message.
            payload = {**payload, "message": {"type": "sticker", "sticker_id": 0}}
    try:
        callback = create_request(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise HTTPException(
            status_code=400, detail=f"Malformed Viber '{payload['event']}' callback."
        ) from error
    except Exception as error:  # the SDK raises bare Exception for bad message data
        raise HTTPException(status_code=400, detail=f"Malformed Viber callback: {error}") from error
    problem = _shape_problem(callback)
    if problem:
        raise HTTPException(
            status_code=400, detail=f"Malformed Viber '{payload['event']}' callback: {problem}."
        )
    return callback


def _shape_problem(callback: Any) -> str | None:
    """What the SDK lets through but the handlers below rely on."""
    if isinstance(callback, ViberMessageRequest):
        user = callback.sender
    elif isinstance(callback, ViberConversationStartedRequest | ViberSubscribedRequest):
        user = callback.user
    else:
        return None
    if not isinstance(user.id, str) or not user.id:
        return "no user id"
    if not all(isinstance(value, str | None) for value in (user.language, user.country)):
        return "language and country must be strings"
    message = getattr(callback, "message", None)
    if isinstance(message, TextMessage) and not isinstance(message.text, str | None):
        return "text must be a string"
    if isinstance(message, ContactMessage) and (
        message.contact is None or not isinstance(message.contact.phone_number, str | None)
    ):
        return "no contact phone number"
    return None


@router.post("/webhooks/viber", summary="Viber REST bot API callback")
async def viber_webhook(request: Request) -> dict[str, Any]:
    channel: ViberChannel | None = request.app.state.viber
    if channel is None:
        raise HTTPException(status_code=404, detail="Viber is not configured.")
    body = await read_body_limited(request, channel.max_body_bytes)
    signature = request.headers.get("x-viber-content-signature", "")
    if not signature_is_valid(channel.auth_token, body, signature):
        raise HTTPException(status_code=401, detail="Wrong or missing content signature.")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        # RecursionError: nesting deeper than the parser can follow is not an update either.
        raise HTTPException(status_code=400, detail="Body is not valid JSON.") from error
    callback = _parse(payload)
    if callback is None or payload["event"] == "webhook":
        return {}
    token = str(payload.get("message_token", ""))
    key = f"{payload['event']}:{token}" if token else ""
    if key and not await claim_update(Channel.VIBER, key, utcnow()):
        return {}
    try:
        return await _handle(channel, callback)
    except Exception:
        if key:
            await release_update(Channel.VIBER, key)
        log.exception("viber %s callback failed", payload["event"])
        raise


async def _handle(channel: ViberChannel, callback: Any) -> dict[str, Any]:
    if isinstance(callback, ViberConversationStartedRequest):
        # Viber's rule: the only answer is one welcome message in the response body.
        welcome = await channel.engine.welcome(user_inbound(callback.user, InboundKind.START))
        keyboard, min_api = reply_keyboard(welcome)
        message = TextMessage(text=welcome.text, keyboard=keyboard, min_api_version=min_api)
        return channel.client.message_body(message, receiver=None)
    if isinstance(callback, ViberMessageRequest):
        inbound = message_to_inbound(callback)
        replies = await channel.engine.handle(inbound)
        await channel.responder.deliver(inbound.external_id, replies)
        return {}
    if isinstance(callback, ViberSubscribedRequest):
        user = callback.user
        language = pick_language(
            user.language, user.country, channel.engine.config.default_language
        )
        await touch_identity(Channel.VIBER, user.id, user.id, language, utcnow())
        return {}
    if isinstance(callback, ViberUnsubscribedRequest):
        await mark_unreachable(Channel.VIBER, callback.user_id)
        return {}
    if isinstance(callback, ViberDeliveredRequest | ViberSeenRequest | ViberFailedRequest):
        # Campaign messages remember delivery and reading; a failure ends the message failed.
        event = {
            ViberDeliveredRequest: "delivered",
            ViberSeenRequest: "seen",
            ViberFailedRequest: "failed",
        }[type(callback)]
        at = datetime.fromtimestamp(callback.timestamp / 1000, UTC)
        await mark_delivery(str(callback.message_token), event, at)
    return {}
