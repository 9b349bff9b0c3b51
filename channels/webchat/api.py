"""The built-in web chat: the same conversation as the messengers, over JSON."""

from __future__ import annotations

import html
import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from bot.engine import ConversationEngine
from bot.events import Inbound, InboundKind, QrImage, Reply
from bot.i18n import N_, pick_from_accept_language, translations
from channels.webchat.limits import WebChatLimits, wait_seconds
from crm_core.cards.numbers import format_card_number
from crm_core.clock import utcnow
from crm_core.customers.models import Channel, ChannelIdentity
from crm_core.vouchers.codes import format_voucher_code

STATIC_DIR = Path(__file__).parent / "static"
SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"

router = APIRouter(tags=["web chat"])


class ButtonOut(BaseModel):
    label: str
    payload: str
    url: str | None = None


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = []
    ask_phone: bool = False
    expects_phone: bool = False
    image_url: str | None = None
    # What the picture shows, for its description: "card" or "voucher", and the number or code.
    image_kind: str | None = None
    image_code: str | None = None
    menu: list[ButtonOut] = []

    @classmethod
    def of(cls, reply: Reply) -> ReplyOut:
        return cls(
            text=reply.text,
            buttons=[ButtonOut(label=b.label, payload=b.payload, url=b.url) for b in reply.buttons],
            ask_phone=reply.ask_phone is not None,
            expects_phone=reply.expects_phone or reply.ask_phone is not None,
            image_url=reply.image.path if reply.image else None,
            image_kind=reply.image.kind if reply.image else None,
            image_code=_for_reading(reply.image) if reply.image else None,
            menu=[ButtonOut(label=b.label, payload=b.payload) for b in reply.menu],
        )


def _for_reading(image: QrImage) -> str:
    if image.kind == "card":
        return format_card_number(image.payload)
    return format_voucher_code(image.payload)


class SessionIn(BaseModel):
    session_id: str | None = Field(default=None, pattern=SESSION_ID_PATTERN)
    language: str | None = Field(default=None, max_length=35)


class SessionOut(BaseModel):
    session_id: str
    replies: list[ReplyOut]


class MessageIn(BaseModel):
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    text: str = Field(min_length=1, max_length=1000)


class MessageOut(BaseModel):
    replies: list[ReplyOut]


def _engine(request: Request) -> ConversationEngine:
    return request.app.state.engine


@router.get("/chat", include_in_schema=False)
async def chat_page(
    request: Request, accept_language: Annotated[str | None, Header()] = None
) -> HTMLResponse:
    """The chat page, its few fixed labels in the browser's language."""
    language = pick_from_accept_language(accept_language, _engine(request).config.default_language)
    tr = translations(language)
    page = _page_template()
    for key, value in {
        "lang": language,
        "title": tr.gettext("Loyalty card"),
        "message_label": tr.gettext("Message"),
        "send_label": tr.gettext("Send"),
    }.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    labels = {name: tr.gettext(message) for name, message in PAGE_LABELS.items()}
    return HTMLResponse(page.replace("{{labels_json}}", json_island(labels)))


# Texts the page's script writes itself (the QR pictures' descriptions), in the page's language.
PAGE_LABELS = {
    "qr_card": N_("QR code of card {number}"),
    "qr_voucher": N_("QR code of voucher {code}"),
}


def json_island(values: dict[str, str]) -> str:
    """JSON safe inside <script type="application/json">: script text is not HTML-decoded."""
    text = json.dumps(values, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@lru_cache(maxsize=1)
def _page_template() -> str:
    return (STATIC_DIR / "chat.html").read_text(encoding="utf-8")


@router.get("/chat/assets/{name}", include_in_schema=False)
async def chat_asset(name: str) -> FileResponse:
    allowed = {"chat.js": "text/javascript", "chat.css": "text/css"}
    if name not in allowed:
        raise HTTPException(status_code=404, detail=N_("No such asset."))
    return FileResponse(STATIC_DIR / name, media_type=allowed[name])


# Beyond the per-client limits (see channels/webchat/limits.py).
TOO_MANY = {429: {"description": "Too many requests: wait for Retry-After"}}


@router.post("/api/v1/webchat/sessions", response_model=SessionOut, responses=TOO_MANY)
async def open_session(
    body: SessionIn,
    request: Request,
    accept_language: Annotated[str | None, Header()] = None,
) -> SessionOut:
    """Open the chat: a new session greets and asks for a name; a known one resumes."""
    engine = _engine(request)
    language = body.language or pick_from_accept_language(
        accept_language, engine.config.default_language
    )
    session_id = body.session_id
    kind = InboundKind.RESUME
    limits: WebChatLimits = request.app.state.webchat_limits
    client = _client(request)
    if session_id is None or not await _live_session(session_id, limits):
        _refuse_beyond(wait_seconds((limits.sessions, (client,))))
        session_id = secrets.token_urlsafe(24)
        kind = InboundKind.START
    else:
        _refuse_beyond(wait_seconds((limits.client_messages, (client,))))
    replies = await engine.handle(
        Inbound(
            channel=Channel.WEBCHAT,
            external_id=session_id,
            chat_id=session_id,
            kind=kind,
            language_hint=language,
        )
    )
    return SessionOut(session_id=session_id, replies=[ReplyOut.of(r) for r in replies])


@router.post("/api/v1/webchat/messages", response_model=MessageOut, responses=TOO_MANY)
async def send_message(body: MessageIn, request: Request) -> MessageOut:
    limits: WebChatLimits = request.app.state.webchat_limits
    _refuse_beyond(
        wait_seconds(
            (limits.messages, (body.session_id,)),
            (limits.client_messages, (_client(request),)),
        )
    )
    if not await _live_session(body.session_id, limits):
        raise HTTPException(
            status_code=404, detail=N_("Unknown chat session. Reload the page to start again.")
        )
    replies = await _engine(request).handle(
        Inbound(
            channel=Channel.WEBCHAT,
            external_id=body.session_id,
            chat_id=body.session_id,
            kind=InboundKind.TEXT,
            text=body.text,
        )
    )
    return MessageOut(replies=[ReplyOut.of(r) for r in replies])


def _client(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's proxy headers make it the real one)."""
    return request.client.host if request.client is not None else "-"


def _refuse_beyond(seconds: int | None) -> None:
    if seconds is not None:
        raise HTTPException(
            status_code=429,
            detail=N_("Too many messages at once. Please wait a moment and try again."),
            headers={"Retry-After": str(seconds)},
        )


async def _live_session(session_id: str, limits: WebChatLimits) -> bool:
    """Whether the session exists and has not expired; an expired one (it registered nobody
    and was idle too long) is removed here, between the scheduler's clean-ups."""
    rows = await ChannelIdentity.filter(
        channel=Channel.WEBCHAT, external_id=session_id
    ).values_list("id", "customer_id", "last_seen_at")
    if not rows:
        return False
    identity_id, customer_id, last_seen_at = rows[0]
    if customer_id is None and utcnow() - last_seen_at > limits.idle:
        await ChannelIdentity.filter(id=identity_id, customer_id__isnull=True).delete()
        return False
    return True
