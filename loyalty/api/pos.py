"""Cashier API: scan a card or voucher, record purchases and refunds, validate and redeem."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bot.i18n import N_
from crm_core.cards.lookup import CardMistyped, CardNotFound, CardNotUsable, find_card
from crm_core.cards.models import Card
from crm_core.cards.numbers import format_card_number, normalize_card_input
from crm_core.catalogue.service import PATH_SEPARATOR, categories_by_path, category_path
from crm_core.clock import utcnow
from crm_core.customers.hints import hints_for
from crm_core.customers.models import Customer
from crm_core.purchases import service as purchases
from crm_core.staff.models import ApiKey, Role
from crm_core.stores.models import Store
from crm_core.stores.service import store_by_code
from crm_core.vouchers.codes import is_valid_voucher_code, looks_like_voucher_code
from crm_core.vouchers.codes import normalize_voucher_input as normalize_voucher
from crm_core.vouchers.models import Voucher
from crm_core.vouchers.rules import Basket, BasketLine, Refusal, voucher_state
from crm_core.vouchers.service import (
    RedemptionWasCancelled,
    VoucherNotFound,
    VoucherRefused,
    redeem_voucher,
    usable_vouchers_of,
    validate_voucher,
    voucher_by_code,
)
from loyalty.api import schemas
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.ids import BigId
from loyalty.api.lookup_limit import limit_lookups
from loyalty.api.openapi import CONFLICT
from loyalty.api.texts import (
    PROBLEMS,
    REFUSALS,
    hint_text,
    say,
    shown_values,
    voucher_code_for_reading,
    voucher_conditions,
    voucher_value_text,
)

router = APIRouter(prefix="/api/v1/pos", tags=["cashier"])
Cashier = Annotated[ApiKey, Depends(require_role(Role.CASHIER))]
Language = Annotated[str, Depends(request_language)]

USABLE = N_("Can be used now.")

CARD_REASONS = {
    "erased": N_("This card was closed at the customer's request."),
    "blocked": N_("This card is blocked."),
    "replaced": N_("This card was replaced by a new one: ask for the new card."),
}


def voucher_out(
    voucher: Voucher, language: str, state: Refusal | None = None, currency: str | None = None
) -> schemas.VoucherOut:
    """A voucher for the till; `state` is why it cannot be used now (None: it can).

    `currency` (the store's) goes with amounts of a voucher valid in any currency.
    """
    return schemas.VoucherOut(
        code=voucher.code,
        code_for_reading=voucher_code_for_reading(voucher),
        title=voucher.title,
        kind=voucher.kind,
        value=f"{voucher.value:.2f}",
        value_text=voucher_value_text(voucher, language),
        currency=voucher.currency,
        valid_from=voucher.valid_from,
        valid_until=voucher.valid_until,
        uses_left=max(voucher.uses_allowed - voucher.uses_count, 0),
        conditions=voucher_conditions(voucher, language, currency),
        state=state.value if state else "usable",
        state_text=say(language, REFUSALS[state] if state else USABLE),
    )


def customer_out(customer: Customer | None) -> schemas.CustomerOut | None:
    if customer is None:
        return None
    return schemas.CustomerOut(first_name=customer.first_name, customer_since=customer.created_at)


def card_error(error: Exception, language: str) -> ApiError:
    """The API error a cashier can act on, for a card that cannot be used."""
    if isinstance(error, CardMistyped):
        return ApiError(
            422,
            "card_mistyped",
            N_("This card number is probably mistyped: please check the digits."),
            language,
        )
    if isinstance(error, CardNotUsable):
        message = CARD_REASONS.get(error.reason, CARD_REASONS["blocked"])
        return ApiError(409, f"card_{error.card.status}", message, language, reason=error.reason)
    return ApiError(404, "card_not_found", N_("No card has this number."), language)


async def card_or_error(code: str, language: str) -> Card:
    try:
        return await find_card(code)
    except (CardMistyped, CardNotFound, CardNotUsable) as error:
        raise card_error(error, language) from error


def voucher_code_or_error(raw: str, language: str) -> str:
    code = normalize_voucher(raw)
    if not looks_like_voucher_code(code):
        raise ApiError(
            422,
            "code_unreadable",
            N_("This is neither a card number nor a voucher code."),
            language,
        )
    if not is_valid_voucher_code(code):
        raise ApiError(
            422,
            "voucher_mistyped",
            N_("This voucher code is probably mistyped: please check it."),
            language,
        )
    return code


async def store_of(key: ApiKey, requested: str | None, language: str) -> Store:
    store: Store | None = key.store  # type: ignore[assignment]
    if requested and (store is None or store.code != requested):
        if key.role != Role.ADMIN:
            raise ApiError(
                403, "store_mismatch", N_("This key belongs to another store."), language
            )
        store = await store_by_code(requested)
        if store is None:
            raise ApiError(
                422, "store_unknown", N_("There is no store with the code {store}."), language,
                store=requested,
            )  # fmt: skip
    if store is None:
        raise ApiError(422, "store_unknown", N_("Say which store this is for."), language)
    return store


def basket_from(body: schemas.BasketIn, currency: str) -> Basket:
    return Basket(
        currency=currency,
        total=body.total,
        lines=tuple(
            BasketLine(
                line.sku,
                category_path(line.category_path) or None,
                line.quantity,
                line.unit_price,
                line.line_total,
            )
            for line in body.lines
        ),
    )


def reversed_error(language: str) -> ApiError:
    return ApiError(
        409,
        "redemption_cancelled",
        N_("This voucher's use on this receipt was reversed by a refund."),
        language,
    )


def refusal_error(error: VoucherRefused, language: str) -> ApiError:
    refusal = error.verdict.refusal
    assert refusal is not None
    return ApiError(
        409,
        f"voucher_{refusal.value}",
        REFUSALS[refusal],
        language,
        shown=shown_values(error.verdict.details or {}, language),
        **(error.verdict.details or {}),
    )


@router.get("/me", response_model=schemas.TillOut, summary="Who is signed in")
async def me(key: Cashier) -> schemas.TillOut:
    """The key's store and till, for the till's screen."""
    store: Store | None = key.store  # type: ignore[assignment]
    return schemas.TillOut(
        role=key.role,
        till=key.till,
        store=schemas.StoreOut(
            code=store.code, name=store.name, currency=store.currency, timezone=store.timezone
        )
        if store
        else None,
    )


# More than a till's list can usefully hold; the page offers them in one choice list.
MAX_CATEGORIES = 1000


@router.get("/categories", response_model=schemas.CategoriesOut, summary="Product categories")
async def categories(key: Cashier) -> schemas.CategoriesOut:
    """The categories receipts have named so far, for a till that knows only amounts."""
    found = await categories_by_path(MAX_CATEGORIES)
    return schemas.CategoriesOut(
        categories=[
            schemas.CategoryOut(path=c.path.split(PATH_SEPARATOR), name=c.name) for c in found
        ]
    )


@router.get(
    "/cards/{code}",
    response_model=schemas.ScanOut,
    summary="Scan a card or voucher",
    responses={**CONFLICT, 429: {"description": "Too many lookups from this key and till"}},
    dependencies=[Depends(limit_lookups)],
)
async def scan(
    code: str,
    key: Cashier,
    language: Language,
    card: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The card already scanned for this receipt: a voucher of another "
            "customer then says so in its state.",
        ),
    ] = None,
) -> schemas.ScanOut:
    """What a scanner typed: a card number (spaces and dashes ignored) or a voucher code."""
    now = utcnow()
    store: Store | None = key.store  # type: ignore[assignment]
    currency = store.currency if store else None
    digits = normalize_card_input(code)
    if digits.isdigit():
        found = await card_or_error(digits, language)
        customer: Customer = found.customer  # type: ignore[assignment]
        vouchers = await usable_vouchers_of(customer.id, now)
        hints = await hints_for(customer, vouchers, now)  # after vouchers: it reads them
        return schemas.ScanOut(
            kind="card",
            card=schemas.CardOut(
                number=found.number,
                number_for_reading=format_card_number(found.number),
                status=found.status,
            ),
            customer=customer_out(customer),
            vouchers=[
                voucher_out(v, language, voucher_state(v, customer.id, now), currency)
                for v in vouchers
            ],
            hints=[schemas.HintOut(code=h.kind.value, text=hint_text(h, language)) for h in hints],
        )
    voucher = await voucher_by_code(voucher_code_or_error(code, language))
    if voucher is None:
        raise ApiError(404, "voucher_not_found", N_("No voucher has this code."), language)
    customer_id = await _customer_id_for(card, language)
    owner = await Customer.filter(id=voucher.customer_id).first() if voucher.customer_id else None
    state = voucher_state(voucher, customer_id, now)
    return schemas.ScanOut(
        kind="voucher",
        # Another customer's voucher: not their name, the till keeps its own customer.
        customer=None if state == Refusal.NOT_THIS_CUSTOMER else customer_out(owner),
        vouchers=[voucher_out(voucher, language, state, currency)],
    )


async def _customer_id_for(card_code: str | None, language: str) -> int | None:
    if not card_code:
        return None
    return (await card_or_error(card_code, language)).customer_id


@router.post(
    "/vouchers/{code}/validate", response_model=schemas.VerdictOut, summary="Would it apply?"
)
async def validate(
    code: str, body: schemas.BasketIn, key: Cashier, language: Language
) -> schemas.VerdictOut:
    """Whether the voucher applies to this basket, and if not, exactly why."""
    store = await store_of(key, body.store, language)
    customer_id = await _customer_id_for(body.card, language)
    now = utcnow()
    try:
        voucher, verdict = await validate_voucher(
            voucher_code_or_error(code, language),
            basket_from(body, store.currency),
            customer_id,
            now,
        )
    except VoucherNotFound as error:
        raise ApiError(
            404, "voucher_not_found", N_("No voucher has this code."), language
        ) from error
    reason = None
    if verdict.refusal is not None:
        details = verdict.details or {}
        shown = {**details, **shown_values(details, language)}
        reason = say(language, REFUSALS[verdict.refusal], **shown)
    return schemas.VerdictOut(
        code=voucher.code,
        applies=verdict.applies,
        discount=f"{verdict.discount:.2f}",
        reason=reason,
        reason_code=verdict.refusal.value if verdict.refusal else None,
        voucher=voucher_out(
            voucher, language, voucher_state(voucher, customer_id, now), store.currency
        ),
    )


@router.post(
    "/vouchers/{code}/redeem",
    response_model=schemas.RedemptionOut,
    summary="Redeem",
    responses=CONFLICT,
)
async def redeem(
    code: str, body: schemas.RedeemIn, key: Cashier, language: Language
) -> schemas.RedemptionOut:
    """Use the voucher on a receipt, exactly once; a retry for that receipt gets the same answer."""
    store = await store_of(key, body.store, language)
    till = body.till or key.till or "-"
    customer_id = await _customer_id_for(body.card, language)
    try:
        result = await redeem_voucher(
            voucher_code_or_error(code, language),
            store,
            till,
            body.receipt_id,
            basket_from(body, store.currency),
            customer_id,
            utcnow(),
        )
    except VoucherNotFound as error:
        raise ApiError(
            404, "voucher_not_found", N_("No voucher has this code."), language
        ) from error
    except VoucherRefused as error:
        raise refusal_error(error, language) from error
    except RedemptionWasCancelled as error:
        raise reversed_error(language) from error
    return schemas.RedemptionOut(
        code=result.voucher.code,
        receipt_id=result.redemption.receipt_id,
        discount=f"{result.redemption.discount:.2f}",
        redeemed_at=result.redemption.redeemed_at,
        replay=result.replay,
    )


def _purchase_in(body: schemas.PurchaseIn, till: str) -> purchases.PurchaseIn:
    return purchases.PurchaseIn(
        till=till,
        receipt_id=body.receipt_id,
        purchased_at=body.purchased_at,
        card_code=body.card,
        lines=tuple(
            purchases.LineIn(
                sku=line.sku,
                name=line.name,
                category_path=category_path(line.category_path) or None,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                line_total=line.line_total,
            )
            for line in body.lines
        ),
        total=body.total,
        payments=tuple(purchases.PaymentIn(p.method, p.amount) for p in body.payments),
        vouchers=tuple(normalize_voucher(code) for code in body.vouchers),
    )


CONFLICTS = {
    purchases.Problem.RECEIPT_REUSED,
    purchases.Problem.REFUND_REUSED,
    purchases.Problem.NOTHING_TO_REFUND,
}


def _rejected(error: purchases.PurchaseRejected, language: str, store: Store) -> ApiError:
    status = 409 if error.problem in CONFLICTS else 422
    return ApiError(
        status,
        error.problem.value,
        PROBLEMS[error.problem],
        language,
        shown=shown_values(error.details, language, store.currency),
        **error.details,
    )


def purchase_out(recorded: purchases.Recorded, store: Store) -> schemas.PurchaseOut:
    purchase = recorded.purchase
    return schemas.PurchaseOut(
        id=purchase.id,
        store=store.code,
        till=purchase.till,
        receipt_id=purchase.receipt_id,
        purchased_at=purchase.purchased_at,
        currency=purchase.currency,
        total=f"{Decimal(purchase.total):.2f}",
        refunded_total=f"{Decimal(purchase.refunded_total):.2f}",
        status=purchase.status,
        customer_first_name=recorded.customer.first_name if recorded.customer else None,
        lines=[
            schemas.PurchaseLineOut(
                line_no=line.line_no,
                quantity=f"{Decimal(line.quantity):f}",
                line_total=f"{Decimal(line.line_total):.2f}",
                refunded_quantity=f"{Decimal(line.refunded_quantity):f}",
            )
            for line in recorded.lines
        ],
        vouchers=recorded.voucher_codes,
        replay=recorded.replay,
    )


@router.post(
    "/purchases",
    response_model=schemas.PurchaseOut,
    status_code=201,
    summary="Record a receipt",
    responses=CONFLICT,
)
async def record(body: schemas.PurchaseIn, key: Cashier, language: Language) -> schemas.PurchaseOut:
    """Record a receipt; the same store and receipt id again returns the first answer."""
    store = await store_of(key, body.store, language)
    till = body.till or key.till
    if not till:
        raise ApiError(422, "till_unknown", N_("Say which till this receipt is from."), language)
    data = _purchase_in(body, till)
    try:
        recorded = await purchases.record_purchase(store, data, utcnow())
    except purchases.PurchaseRejected as error:
        raise _rejected(error, language, store) from error
    except VoucherNotFound as error:
        raise ApiError(
            404, "voucher_not_found", N_("No voucher has this code."), language
        ) from error
    except VoucherRefused as error:
        raise refusal_error(error, language) from error
    except RedemptionWasCancelled as error:
        raise reversed_error(language) from error
    except (CardMistyped, CardNotFound, CardNotUsable) as error:
        raise card_error(error, language) from error
    return purchase_out(recorded, store)


@router.post(
    "/purchases/{purchase_id}/refund",
    response_model=schemas.RefundOut,
    summary="Refund",
    responses=CONFLICT,
)
async def refund(
    purchase_id: BigId, body: schemas.RefundIn, key: Cashier, language: Language
) -> schemas.RefundOut:
    """Refund the whole receipt or some lines; vouchers it no longer earns are given back."""
    store = await store_of(key, body.store, language)
    lines = (
        tuple(purchases.RefundLineIn(line.line_no, line.quantity) for line in body.lines)
        if body.lines is not None
        else None
    )
    try:
        refunded = await purchases.refund_purchase(
            store, purchase_id, body.refund_id, lines, utcnow()
        )
    except LookupError as error:
        raise ApiError(
            404, "purchase_not_found", N_("No purchase with this id in this store."), language
        ) from error
    except purchases.PurchaseRejected as error:
        raise _rejected(error, language, store) from error
    return schemas.RefundOut(
        purchase_id=refunded.purchase.id,
        refund_id=refunded.refund.refund_id,
        amount=f"{Decimal(refunded.refund.amount):.2f}",
        status=refunded.purchase.status,
        refunded_total=f"{Decimal(refunded.purchase.refunded_total):.2f}",
        vouchers_returned=refunded.cancelled_vouchers,
        replay=refunded.replay,
    )
