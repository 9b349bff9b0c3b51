"""GET /pos: the cashier's page. Self-hosted, its fixed labels in the browser's language."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from bot.i18n import N_, pick_from_accept_language, translations

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = {"pos.js": "text/javascript", "pos.css": "text/css"}

router = APIRouter(include_in_schema=False)

# The labels the page shows; the script reads them from a JSON island in the page.
LABELS = {
    "title": N_("Till"),
    "api_key": N_("API key"),
    "sign_in": N_("Sign in"),
    "sign_out": N_("Sign out"),
    "scan": N_("Scan or type a card or voucher code"),
    "find": N_("Find"),
    "camera": N_("Camera"),
    "stop_camera": N_("Stop camera"),
    "basket_total": N_("Basket total"),
    "receipt": N_("Receipt"),
    "check": N_("Check"),
    "redeem": N_("Redeem"),
    "applies": N_("Applies: discount {discount}"),
    "redeemed": N_("Redeemed: discount {discount}"),
    "vouchers": N_("Active vouchers"),
    "no_vouchers": N_("No active vouchers"),
    "customer_since": N_("Customer since {date}"),
    "valid_until": N_("Valid until {date}"),
    "card": N_("Card"),
    "voucher": N_("Voucher"),
    "bearer": N_("Anyone holding the code may use it"),
    "network_error": N_("The service does not answer. Check the connection and try again."),
    "enter_total": N_("Enter the basket total first."),
}


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "pos.html").read_text(encoding="utf-8")


@router.get("/pos")
async def pos_page(
    request: Request, accept_language: Annotated[str | None, Header()] = None
) -> HTMLResponse:
    language = pick_from_accept_language(
        accept_language, request.app.state.settings.default_language
    )
    tr = translations(language)
    labels = {key: tr.gettext(message) for key, message in LABELS.items()}
    page = (
        _template()
        .replace("{{lang}}", language)
        .replace("{{title}}", html.escape(labels["title"]))
        .replace("{{labels}}", html.escape(json.dumps(labels, ensure_ascii=False), quote=False))
    )
    return HTMLResponse(page)


@router.get("/pos/assets/{name}")
async def pos_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="No such asset.")
    return FileResponse(STATIC_DIR / name, media_type=ASSETS[name])
