"""Card and voucher QR images at unguessable, expiring, revocable URLs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from crm_core.cards.qr import card_qr_png
from crm_core.cards.service import card_for_image_token
from crm_core.clock import utcnow
from crm_core.vouchers.service import voucher_for_image_token

router = APIRouter(tags=["media"])
_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Robots-Tag": "noindex"}


@router.get("/media/cards/{token}.png", include_in_schema=False)
async def card_image(token: str, request: Request) -> Response:
    card = await card_for_image_token(token, request.app.state.media_key, utcnow())
    if card is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return Response(
        content=card_qr_png(card.number),
        media_type="image/png",
        headers=_HEADERS,
    )


@router.get("/media/vouchers/{token}.png", include_in_schema=False)
async def voucher_image(token: str, request: Request) -> Response:
    voucher = await voucher_for_image_token(token, request.app.state.media_key, utcnow())
    if voucher is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return Response(content=card_qr_png(voucher.code), media_type="image/png", headers=_HEADERS)
