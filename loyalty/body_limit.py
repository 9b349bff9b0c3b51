"""Refuse request bodies over a limit before any route reads them (413).

The answer has the API's usual shape, `{"detail", "code": "body_too_large"}`, with the
sentence in the caller's Accept-Language: the middleware runs before any route or exception
handler, so it picks the language itself.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.i18n import N_, pick_from_accept_language, translations

TOO_LARGE = N_("The request body is larger than the limit of {limit}.")
CODE = "body_too_large"


def limit_text(max_bytes: int) -> str:
    """1048576 -> "1 MiB"; a limit that is no whole number of MiB is said in KiB or bytes."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if max_bytes % size == 0:
            return f"{max_bytes // size} {unit}"
    return f"{max_bytes} B"


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length up front and counts streamed bytes."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        own_limit_prefixes: tuple[str, ...] = (),
        default_language: str = "en",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.default_language = default_language
        # Routes that stream large uploads to disk and enforce their own, larger limit.
        self.own_limit_prefixes = own_limit_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.own_limit_prefixes):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            # Frameworks turn errors raised here into 400s, so answer 413 ourselves and tell
            # the app the client went away.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not response_started:
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # our 413 is the answer; drop whatever the app says now
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"")
        language = pick_from_accept_language(accept.decode("latin-1"), self.default_language)
        detail = translations(language).gettext(TOO_LARGE).format(limit=limit_text(self.max_bytes))
        body = json.dumps({"detail": detail, "code": CODE}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
