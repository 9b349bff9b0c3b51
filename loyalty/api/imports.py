"""Marketer API: CSV imports of products, customers and receipt lines.

The body (the CSV itself, any content type) is streamed to a temporary file, never held in
memory, then imported like `loyalty import ...` does; the answer is the import's report.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from bot.i18n import N_
from crm_core.cards.service import CardNumberPolicy
from crm_core.clock import utcnow
from crm_core.imports import customers, products, purchases
from crm_core.imports.csvfile import CsvFile, MissingColumns, UnknownEncoding, UnreadableText
from crm_core.staff.models import ApiKey, Role
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.import_texts import translated

PREFIX = "/api/v1/imports"
router = APIRouter(prefix=PREFIX, tags=["marketer: imports"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]

MISSING_COLUMNS = N_("The file lacks these columns: {columns}.")
TOO_LARGE = N_("The file is larger than the limit of {limit} MiB.")
EMPTY = N_("Send the CSV file as the request body.")
UNREADABLE = N_(
    "The file is not text in UTF-8, UTF-16 or Windows-1251. Save it as CSV (UTF-8), or "
    "name its encoding with the encoding parameter."
)
NOT_IN_ENCODING = N_("The file is not valid {encoding} text (line {line}).")
UNKNOWN_ENCODING = N_("There is no text encoding called {encoding}.")


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _save_body(request: Request, limit: int, language: str) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix="loyalty-import-", suffix=".csv", delete=False)
    size = 0
    try:
        with handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "file_too_large", TOO_LARGE, language, limit=limit >> 20)
                handle.write(chunk)
    except BaseException:
        _discard(Path(handle.name))
        raise
    if size == 0:
        _discard(Path(handle.name))
        raise ApiError(422, "empty_file", EMPTY, language)
    return Path(handle.name)


@router.post("/{kind}", summary="Import a CSV (the request body); answers with the report")
async def import_csv(
    kind: Literal["products", "customers", "purchases"],
    request: Request,
    key: Marketer,
    language: Language,
    encoding: Annotated[
        str | None,
        Query(
            max_length=40,
            description="The file's text encoding (utf-8, utf-16, cp1251, ...); "
            "found by itself when not given: UTF-8 with or without BOM, UTF-16, Windows-1251.",
        ),
    ] = None,
) -> dict[str, Any]:
    settings = request.app.state.settings
    path = await _save_body(request, settings.max_import_bytes, language)
    try:
        # The whole file is decoded once to find its encoding: off the event loop.
        source = await asyncio.to_thread(_source, path, encoding, language)
        now = utcnow()
        try:
            if kind == "products":
                report = await products.import_products(source.rows(products.REQUIRED), now)
            elif kind == "customers":
                report = await customers.import_customers(
                    source.rows(customers.REQUIRED),
                    settings.default_phone_region,
                    settings.default_language,
                    settings.default_timezone,
                    CardNumberPolicy(settings.card_number_prefix, settings.card_serial_digits),
                    now,
                )
            else:
                report = await purchases.import_purchases(source.rows(purchases.REQUIRED), now)
        except MissingColumns as missing:
            raise ApiError(
                422, "missing_columns", MISSING_COLUMNS, language, columns=str(missing)
            ) from None
    finally:
        _discard(path)
    return translated({**report.as_dict(), "encoding": source.encoding}, language)


def _source(path: Path, encoding: str | None, language: str) -> CsvFile:
    try:
        return CsvFile(path, encoding=encoding)
    except UnknownEncoding:
        raise ApiError(
            422, "unknown_encoding", UNKNOWN_ENCODING, language, encoding=encoding
        ) from None
    except UnreadableText as unreadable:
        if unreadable.encoding is None:
            raise ApiError(422, "unreadable_text", UNREADABLE, language) from None
        raise ApiError(
            422,
            "unreadable_text",
            NOT_IN_ENCODING,
            language,
            encoding=unreadable.encoding,
            line=unreadable.line,
        ) from None
