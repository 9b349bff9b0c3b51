"""GET /pos: the cashier's page. Self-hosted, its fixed labels in the browser's language.

The page is a thin client of /api/v1/pos: the cashier signs in with their API key, scans a card
or voucher (keyboard-wedge scanner, typing, or the camera), checks and redeems vouchers.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from bot.i18n import N_, pick_from_accept_language, translations
from crm_core.catalogue.service import TILL_AMOUNT_SKU

STATIC_DIR = Path(__file__).parent / "static" / "pos"
ASSETS = {"pos.js": "text/javascript", "pos.css": "text/css"}
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# The page holds a staff key: nothing but its own files, no framing, no native form posts
# (a form submitted without the script would otherwise put what was typed into a URL).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)

# Every fixed text of the page. Translated on the server; the HTML gets them in place of
# {{name}}, and the script reads them from the JSON island (id "labels").
LABELS = {
    "title": N_("Till"),
    "api_key": N_("API key"),
    "sign_in": N_("Sign in"),
    "sign_out": N_("Sign out"),
    "scan": N_("Scan or type a card or voucher code"),
    "scan_label": N_("Card or voucher code"),
    "find": N_("Find"),
    "camera": N_("Camera"),
    "stop_camera": N_("Stop camera"),
    "camera_failed": N_("The camera could not be started."),
    "basket_total": N_("Basket total"),
    "receipt": N_("Receipt"),
    "new_receipt": N_("New receipt"),
    "record": N_("Record the receipt"),
    "recorded": N_("Receipt {receipt} recorded: {total}."),
    "applied": N_("Vouchers on this receipt: {codes}"),
    "by_category": N_("Amounts by category"),
    "by_category_note": N_(
        "For vouchers that cover some categories only. An empty amount is the rest of the total."
    ),
    "category": N_("Category"),
    "category_amount": N_("Amount in this category"),
    "no_category": N_("Not specified"),
    "add_category": N_("Add a category"),
    "remove": N_("Remove"),
    "amounts_too_big": N_("The amounts by category add up to more than the basket total."),
    "amount_unreadable": N_("An amount by category is not a number of money."),
    "till_amount": N_("Amount entered at the till"),
    "check": N_("Check"),
    "redeem": N_("Redeem"),
    "applies": N_("Applies: discount {discount}"),
    "redeemed": N_("Redeemed: discount {discount}"),
    "vouchers": N_("Active vouchers"),
    "no_vouchers": N_("No active vouchers"),
    "customer_since": N_("Customer since {date}"),
    "valid_until": N_("Valid until {date}"),
    "valid_from_until": N_("Valid from {start} until {end}"),
    "other_customer": N_(
        "This voucher belongs to another customer, not to the card on this receipt."
    ),
    "card": N_("Card"),
    "voucher": N_("Voucher"),
    "bearer": N_("Anyone holding the code may use it"),
    "network_error": N_("The service does not answer. Check the connection and try again."),
    "enter_total": N_("Enter the basket total first."),
}


def page_labels(language: str) -> dict[str, str]:
    tr = translations(language)
    return {name: tr.gettext(message) for name, message in LABELS.items()}


def json_island(values: dict[str, str]) -> str:
    """JSON safe inside <script type="application/json">: script text is not HTML-decoded."""
    text = json.dumps(values, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(language: str) -> str:
    labels = page_labels(language)
    values = {name: html.escape(text) for name, text in labels.items()}
    values["lang"] = html.escape(language)
    # The page's amount-only lines carry the SKU the recommender knows is no product.
    values["labels_json"] = json_island({**labels, "till_amount_sku": TILL_AMOUNT_SKU})
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], _template())


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "pos.html").read_text(encoding="utf-8")


@router.get("/pos")
async def pos_page(
    request: Request, accept_language: Annotated[str | None, Header()] = None
) -> HTMLResponse:
    """The cashier's page, its fixed labels in the browser's language."""
    language = pick_from_accept_language(
        accept_language, request.app.state.settings.default_language
    )
    return HTMLResponse(render_page(language), headers=SECURITY_HEADERS)


@router.get("/pos/assets/{name}")
async def pos_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="No such asset.")
    return FileResponse(
        STATIC_DIR / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"}
    )
