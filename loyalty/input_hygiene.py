"""Refuse control characters in any request's address, query and JSON body (422).

One check in front of every route, so no route has to remember it: the text rule of
`crm_core.text` applied to the decoded path, every query parameter (name and value) and every
string (and key) of a JSON body. Webhook bodies are left to the bot, which answers the
shopper politely, and import bodies (CSV) to the imports, which report the row.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.i18n import pick_from_accept_language, translations
from crm_core.text import describe, forbidden_character, forbidden_in
from loyalty.api import validation_texts
from loyalty.api.errors import INVALID_REQUEST, WHERE_INVALID, error_body

CODE = "control_character"
# In JSON text a control character can only hide behind an escape (raw ones are not JSON):
# \u0000-\u001f, \u007f-\u009f, surrogates, \ufffe/\uffff, \b, \f. A body holding none of
# these escapes' beginnings (nor a raw DEL, C1 or non-character) is clean without being
# parsed; one with them is parsed and walked to be sure (an escaped backslash before them is
# ordinary text).
_SUSPECT_ESCAPE = re.compile(r"\\u00[0189]|\\u007[fF]|\\u[dD][89a-fA-F]|\\u[fF]{3}[eEfF]|\\[bf]")


class InputHygiene:
    """Pure ASGI middleware; bodies are read (they are already size-limited) and replayed."""

    def __init__(self, app: ASGIApp, body_exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.body_exempt_prefixes = body_exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _in_address(scope)
        if found is not None:
            await _refuse(scope, receive, send, *found)
            return
        if not _is_json(scope) or scope["path"].startswith(self.body_exempt_prefixes):
            await self.app(scope, receive, send)
            return
        messages, body = await _read(receive)
        found = _in_body(body)
        if found is not None:
            await _refuse(scope, receive, send, "body", *found)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _in_address(scope: Scope) -> tuple[str, str, str] | None:
    bad = forbidden_character(scope.get("path", ""))
    if bad is not None:
        return "path", scope["path"].replace(bad, describe(bad)), bad
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        bad = forbidden_character(name) or forbidden_character(value)
        if bad is not None:
            return "query", name.replace(bad, describe(bad)), bad
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _read(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _in_body(body: bytes) -> tuple[str, str] | None:
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the route's own parsing answers for a body that is not UTF-8 JSON
    if not _suspect(text):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None  # the route's own parsing answers for a body that is not JSON
    return forbidden_in(data)


def _suspect(text: str) -> bool:
    if text.isascii():
        raw = "\x7f" in text  # the only raw ASCII control JSON lets through
    else:
        raw = forbidden_character(text) is not None
    return raw or _SUSPECT_ESCAPE.search(text) is not None


async def _refuse(scope: Scope, receive: Receive, send: Send, where: str, path: str, bad: str):
    app = scope.get("app")
    default = app.state.settings.default_language if app is not None else "en"
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or ()}
    language = pick_from_accept_language(headers.get("accept-language"), default)
    tr = translations(language)
    reason = tr.gettext(validation_texts.REASONS[CODE]).format(detail=describe(bad))
    path = path or where
    detail = tr.gettext(WHERE_INVALID[where]).format(path=path, reason=reason)
    problem = {"location": where, "path": path, "code": CODE, "detail": reason}
    response = JSONResponse(
        status_code=422, content=error_body(detail, INVALID_REQUEST, fields=[problem])
    )
    await response(scope, receive, send)
