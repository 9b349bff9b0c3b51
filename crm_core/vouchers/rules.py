"""Whether a voucher applies to a basket, and the discount it gives; pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from crm_core.catalogue.service import in_category
from crm_core.vouchers.models import Voucher, VoucherKind, VoucherStatus

CENT = Decimal("0.01")


class Refusal(StrEnum):
    """Why a voucher does not apply; each has a sentence for the cashier."""

    CANCELLED = "cancelled"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    USED = "used"
    NOT_THIS_CUSTOMER = "not_this_customer"
    NO_CUSTOMER = "no_customer"
    BASKET_TOO_SMALL = "basket_too_small"
    CATEGORY_EXCLUDED = "category_excluded"
    CATEGORIES_NEEDED = "categories_needed"
    PRODUCT_MISSING = "product_missing"
    WRONG_CURRENCY = "wrong_currency"


@dataclass(frozen=True)
class BasketLine:
    sku: str
    category_path: str | None
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class Basket:
    currency: str
    total: Decimal
    lines: tuple[BasketLine, ...]


@dataclass(frozen=True)
class Verdict:
    applies: bool
    discount: Decimal = Decimal("0.00")
    refusal: Refusal | None = None
    # Facts for the refusal sentence as plain values (decimal strings, ISO times, codes);
    # the words and number formats are the reader's language's business.
    details: dict[str, str] | None = None


def _line_is_eligible(voucher: Voucher, line: BasketLine) -> bool:
    if any(in_category(line.category_path, c) for c in voucher.excluded_categories):
        return False
    if voucher.allowed_categories:
        return any(in_category(line.category_path, c) for c in voucher.allowed_categories)
    return True


def _whole_basket(basket: Basket) -> BasketLine:
    """A basket given by its total alone is one line of unknown category."""
    return BasketLine("", None, Decimal(1), basket.total, basket.total)


def discount_for(voucher: Voucher, basket: Basket) -> Verdict:
    """The discount on this basket, or the basket-related reason there is none."""
    if voucher.currency and voucher.currency != basket.currency:
        return Verdict(
            False, refusal=Refusal.WRONG_CURRENCY, details={"currency": voucher.currency}
        )
    if voucher.min_basket is not None and basket.total < voucher.min_basket:
        return Verdict(
            False,
            refusal=Refusal.BASKET_TOO_SMALL,
            details={
                "minimum": f"{voucher.min_basket:.2f}",
                "currency": voucher.currency or basket.currency,
            },
        )
    lines = basket.lines or (_whole_basket(basket),)
    if voucher.allowed_categories and not any(line.category_path for line in lines):
        return Verdict(False, refusal=Refusal.CATEGORIES_NEEDED)
    eligible = [line for line in lines if _line_is_eligible(voucher, line)]
    eligible_amount = sum((line.line_total for line in eligible), Decimal("0"))
    if voucher.kind == VoucherKind.FREE_PRODUCT:
        free = next((line for line in eligible if line.sku == voucher.free_product_sku), None)
        if free is None:
            return Verdict(
                False,
                refusal=Refusal.PRODUCT_MISSING,
                details={"sku": voucher.free_product_sku or ""},
            )
        return Verdict(True, discount=min(free.unit_price, free.line_total).quantize(CENT))
    if not eligible or eligible_amount <= 0:
        return Verdict(False, refusal=Refusal.CATEGORY_EXCLUDED)
    if voucher.kind == VoucherKind.PERCENT:
        amount = (eligible_amount * voucher.value / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
        return Verdict(True, discount=amount)
    if voucher.kind == VoucherKind.FIXED_AMOUNT:
        return Verdict(True, discount=min(voucher.value, eligible_amount).quantize(CENT))
    # Points multipliers change loyalty points, not the price.
    return Verdict(True, discount=Decimal("0.00"))


def check_voucher(
    voucher: Voucher,
    basket: Basket,
    customer_id: int | None,
    now: datetime,
    ignore_uses: bool = False,
) -> Verdict:
    """Every rule in the order a cashier would want to hear about it."""
    refused = _not_usable(voucher, customer_id, now, ignore_uses)
    return refused if refused is not None else discount_for(voucher, basket)


def voucher_state(voucher: Voucher, customer_id: int | None, now: datetime) -> Refusal | None:
    """Why this voucher cannot be used now by this customer, whatever the basket; None: it can.

    The till shows it beside each voucher, so a used or not-yet-valid one never looks usable.
    """
    refused = _not_usable(voucher, customer_id, now, ignore_uses=False)
    return refused.refusal if refused is not None else None


def _not_usable(
    voucher: Voucher, customer_id: int | None, now: datetime, ignore_uses: bool
) -> Verdict | None:
    if voucher.status != VoucherStatus.ACTIVE:
        return Verdict(False, refusal=Refusal.CANCELLED)
    if now < voucher.valid_from:
        return Verdict(
            False, refusal=Refusal.NOT_YET_VALID, details={"from": voucher.valid_from.isoformat()}
        )
    if now >= voucher.valid_until:
        return Verdict(
            False, refusal=Refusal.EXPIRED, details={"until": voucher.valid_until.isoformat()}
        )
    if not ignore_uses and voucher.uses_count >= voucher.uses_allowed:
        return Verdict(False, refusal=Refusal.USED)
    if voucher.customer_id is not None:
        if customer_id is None:
            return Verdict(False, refusal=Refusal.NO_CUSTOMER)
        if customer_id != voucher.customer_id:
            return Verdict(False, refusal=Refusal.NOT_THIS_CUSTOMER)
    return None
