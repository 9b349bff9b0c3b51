"""Marketer API: issue a voucher to a customer (or as a bearer code) and tell them in chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bot.i18n import N_, translations
from crm_core.clock import utcnow
from crm_core.customers.models import Customer
from crm_core.staff.models import ApiKey, Role
from crm_core.vouchers.rules import voucher_state
from crm_core.vouchers.service import InvalidVoucherSpec, VoucherSpec, issue_voucher
from loyalty.api import schemas
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.marketer_texts import VOUCHER_PROBLEMS
from loyalty.api.pos import card_or_error, voucher_out

router = APIRouter(prefix="/api/v1/vouchers", tags=["marketer"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]


@router.post("", response_model=schemas.VoucherIssuedOut, status_code=201, summary="Issue")
async def issue(
    body: schemas.VoucherIssueIn, request: Request, key: Marketer, language: Language
) -> schemas.VoucherIssuedOut:
    """Issue a voucher; a personal one is announced in the customer's messenger if they agreed."""
    customer: Customer | None = None
    if body.card:
        card = await card_or_error(body.card, language)
        customer = card.customer  # type: ignore[assignment]
    try:
        voucher = await issue_voucher(
            VoucherSpec(
                kind=body.kind,
                value=body.value,
                title=body.title,
                valid_from=body.valid_from,
                valid_until=body.valid_until,
                currency=body.currency,
                min_basket=body.min_basket,
                allowed_categories=tuple(body.allowed_categories),
                excluded_categories=tuple(body.excluded_categories),
                free_product_sku=body.free_product_sku,
                uses_allowed=body.uses_allowed,
                customer_id=customer.id if customer else None,
            ),
            utcnow(),
        )
    except InvalidVoucherSpec as error:
        raise ApiError(
            422,
            "voucher_invalid",
            N_("This voucher cannot be issued: {reason}."),
            language,
            reason=translations(language).gettext(VOUCHER_PROBLEMS[error.problem]),
            field=error.field,
            problem=error.problem.value,
        ) from error
    announced = False
    if body.announce and customer is not None and customer.marketing_consent:
        engine = request.app.state.engine
        reached = await request.app.state.pusher.push(
            customer.id, lambda: engine.voucher_announcement(customer, voucher)
        )
        announced = reached > 0
    return schemas.VoucherIssuedOut(
        **voucher_out(
            voucher, language, voucher_state(voucher, voucher.customer_id, utcnow())
        ).model_dump(),
        announced=announced,
    )
