"""API errors a person understands: a stable code, and a sentence in the caller's language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from bot.i18n import pick_from_accept_language, translations


async def request_language(
    request: Request, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Async on purpose: a plain function dependency would cost a thread hop per request."""
    return pick_from_accept_language(accept_language, request.app.state.settings.default_language)


class ApiError(Exception):
    """Raised by routes; rendered as {"detail": sentence, "code": code, ...extra}."""

    def __init__(self, status: int, code: str, message: str, language: str, **values: Any) -> None:
        text = translations(language).gettext(message)
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = text.format(**values) if values else text
        self.extra = values


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(
        status_code=error.status,
        content={
            "detail": error.detail,
            "code": error.code,
            **{k: str(v) for k, v in error.extra.items()},
        },
        headers=headers,
    )
