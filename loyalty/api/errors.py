"""API errors a person understands: a stable code, and a sentence in the caller's language.

Every error answer has one shape, `{"detail": sentence, "code": stable code, ...}`: the
routes' own `ApiError`s, FastAPI's request validation (which adds `fields`, one entry per
problem with its path), Starlette's HTTP errors (unknown address, wrong method) and the
last resort for a server error, which also closes the connection so a client never reuses
a connection the server is about to drop.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from bot.i18n import N_, pick_from_accept_language, translations
from loyalty.api import validation_texts

log = logging.getLogger(__name__)


async def request_language(
    request: Request, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Async on purpose: a plain function dependency would cost a thread hop per request."""
    return pick_from_accept_language(accept_language, request.app.state.settings.default_language)


def language_of(request: Request) -> str:
    """The caller's language where no dependency ran (exception handlers, middleware)."""
    default = request.app.state.settings.default_language
    return pick_from_accept_language(request.headers.get("accept-language"), default)


class ApiError(Exception):
    """Raised by routes; rendered as {"detail": sentence, "code": code, ...extra}."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        language: str,
        *,
        shown: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> None:
        """`values` go into the answer as they are (plain decimals, codes); `shown` replaces
        some of them in the sentence only, written for people ("1 000,00 грн"); `headers` go
        with the answer (Retry-After)."""
        text = translations(language).gettext(message)
        super().__init__(code)
        self.headers = headers or {}
        self.status = status
        self.code = code
        sentence_values = {**values, **(shown or {})}
        self.detail = text.format(**sentence_values) if sentence_values else text
        self.extra = values


def error_body(detail: str, code: str, /, **extra: Any) -> dict[str, Any]:
    """The sentence and the code always win over extra values of the same name (a message
    may use {detail} as a placeholder)."""
    return {**extra, "detail": detail, "code": code}


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    headers.update(error.headers)
    return JSONResponse(
        status_code=error.status,
        content=error_body(error.detail, error.code, **{k: str(v) for k, v in error.extra.items()}),
        headers=headers,
    )


# -- FastAPI's own request validation ------------------------------------------------------

INVALID_REQUEST = "invalid_request"
WHERE_INVALID = {
    "body": N_("The request body is not valid at \u201c{path}\u201d: {reason}"),
    "query": N_("The query parameter \u201c{path}\u201d is not valid: {reason}"),
    "path": N_("The address part \u201c{path}\u201d is not valid: {reason}"),
    "header": N_("The header \u201c{path}\u201d is not valid: {reason}"),
}
_MORE = N_("Every problem is listed in \u201cfields\u201d.")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def field_path(location: tuple[Any, ...]) -> str:
    """('lines', 0, 'quantity') -> 'lines[0].quantity'."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _context(error: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in (error.get("ctx") or {}).items() if k != "error"}
    if "expected" in values:
        # pydantic joins choices in English ("'a', 'b' or 'c'"): keep the values only.
        choices = _QUOTED.findall(str(values["expected"]))
        values["expected"] = ", ".join(choices) if choices else values["expected"]
    return values


def problem(error: dict[str, Any], language: str) -> dict[str, str]:
    """One validation problem: where, a stable code, and what is allowed, in words."""
    location = tuple(error.get("loc") or ())
    source = str(location[0]) if location and location[0] in WHERE_INVALID else "body"
    rest = location[1:] if location and location[0] in WHERE_INVALID else location
    path = field_path(rest) or source
    kind = str(error.get("type", "value_error"))
    template = validation_texts.REASONS.get(kind, validation_texts.FALLBACK)
    text = translations(language).gettext(template)
    try:
        reason = text.format(**_context(error))
    except (KeyError, IndexError, ValueError):
        reason = translations(language).gettext(validation_texts.FALLBACK)
    return {"location": source, "path": path, "code": kind, "detail": reason}


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    language = language_of(request)
    fields = [problem(e, language) for e in error.errors()]
    tr = translations(language)
    first = fields[0] if fields else {"location": "body", "path": "body", "detail": ""}
    detail = tr.gettext(WHERE_INVALID[first["location"]]).format(
        path=first["path"], reason=first["detail"]
    )
    if len(fields) > 1:
        detail += " " + tr.gettext(_MORE)
    return JSONResponse(
        status_code=422,
        content=jsonable_encoder(error_body(detail, INVALID_REQUEST, fields=fields)),
    )


# -- Starlette's HTTP errors (unknown address, wrong method, webhooks' own refusals) --------

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}
_STATUS_TEXTS = {
    404: N_("There is nothing at this address."),
    405: N_("This address does not take this method."),
}
# FastAPI's own English sentences, said our way.
_FRAMEWORK_TEXTS = {
    "There was an error parsing the body": N_("The request body could not be read as JSON."),
}


async def http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    language = language_of(request)
    detail = error.detail
    if not isinstance(detail, str) or detail == HTTPStatus(error.status_code).phrase:
        detail = _STATUS_TEXTS.get(error.status_code, HTTPStatus(error.status_code).phrase)
    detail = _FRAMEWORK_TEXTS.get(detail, detail)
    headers = dict(error.headers or {})
    if error.status_code in (204, 304):
        return Response(status_code=error.status_code, headers=headers)
    code = getattr(error, "code", None) or _STATUS_CODES.get(
        error.status_code, f"http_{error.status_code}"
    )
    return JSONResponse(
        status_code=error.status_code,
        content=error_body(translations(language).gettext(detail), code),
        headers=headers,
    )


# -- the last resort -----------------------------------------------------------------------

SERVER_ERROR = N_("Something went wrong on our side. Please try again in a moment.")


async def server_error_handler(request: Request, _error: Exception) -> JSONResponse:
    """A 500 in the usual shape, and `Connection: close`: the server drops the connection
    after an unhandled error, so a client must not send its next request on it."""
    return JSONResponse(
        status_code=500,
        content=error_body(
            translations(language_of(request)).gettext(SERVER_ERROR), "server_error"
        ),
        headers={"Connection": "close"},
    )


async def disconnect_handler(request: Request, _error: Exception) -> Response:
    """The client went away while we read its request: nobody is left to answer."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400, headers={"Connection": "close"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(ClientDisconnect, disconnect_handler)
    app.add_exception_handler(Exception, server_error_handler)
