"""Sentences the API shows to cashiers and marketers, marked for translation."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.formatting import money, number
from bot.i18n import N_
from bot.voucher_texts import say, voucher_conditions, voucher_value_text
from crm_core.customers.hints import Hint, HintKind
from crm_core.purchases.service import Problem
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher
from crm_core.vouchers.rules import Refusal

REFUSALS = {
    Refusal.CANCELLED: N_("This voucher was cancelled."),
    Refusal.NOT_YET_VALID: N_("This voucher is not valid yet."),
    Refusal.EXPIRED: N_("This voucher has expired."),
    Refusal.USED: N_("This voucher has already been used."),
    Refusal.NOT_THIS_CUSTOMER: N_("This voucher belongs to another customer."),
    Refusal.NO_CUSTOMER: N_("This voucher is personal: scan the customer's card first."),
    Refusal.BASKET_TOO_SMALL: N_("The basket is too small: this voucher needs at least {minimum}."),
    Refusal.CATEGORY_EXCLUDED: N_("No item in the basket is in a category this voucher covers."),
    Refusal.CATEGORIES_NEEDED: N_(
        "This voucher covers only some categories: say which categories are in the basket."
    ),
    Refusal.PRODUCT_MISSING: N_("The free product of this voucher is not in the basket."),
    Refusal.WRONG_CURRENCY: N_("This voucher is for another currency ({currency})."),
}

PROBLEMS = {
    Problem.LINE_TOTAL: N_("Line {line} does not add up: expected {expected}, got {given}."),
    Problem.TOTAL: N_("The receipt total does not add up: the lines give {expected}, got {given}."),
    Problem.PAYMENTS: N_(
        "The payments do not add up to the total: expected {expected}, got {given}."
    ),
    Problem.DUPLICATE_VOUCHER: N_("The same voucher is listed twice on the receipt."),
    Problem.RECEIPT_REUSED: N_("Receipt {receipt_id} was already recorded with different content."),
    Problem.NOTHING_TO_REFUND: N_("There is nothing left to refund on this receipt."),
    Problem.UNKNOWN_LINE: N_("The receipt has no line {line}."),
    Problem.TOO_MUCH: N_("Line {line} has only {left} left to refund."),
    Problem.REFUND_REUSED: N_("Refund {refund_id} was already made with different lines."),
    Problem.IN_FUTURE: N_(
        "The purchase time {purchased_at} is in the future: more than {minutes} minutes "
        "ahead of our clock. Check the till's date and time."
    ),
}

HINTS = {
    HintKind.FIRST_PURCHASE: N_("First purchase with the card: welcome them!"),
    HintKind.WELCOME_BACK: N_("Back after {days} days."),
    HintKind.NEW_CUSTOMER: N_("Joined the loyalty programme in the last two weeks."),
    HintKind.VOUCHER_EXPIRES_SOON: N_("Voucher \u201c{title}\u201d expires in the next days."),
}


# Facts in refusals that are amounts of money, and those that are quantities.
_AMOUNTS = frozenset({"minimum", "expected", "given"})
_QUANTITIES = frozenset({"left"})


def shown_values(
    values: dict[str, str], language: str, currency: str | None = None
) -> dict[str, str]:
    """Amounts and quantities of a refusal as the reader's language writes them; the answer's
    own fields keep the plain values."""
    shown = {}
    for name, value in values.items():
        try:
            if name in _AMOUNTS:
                shown[name] = money(Decimal(value), values.get("currency", currency), language)
            elif name in _QUANTITIES:
                shown[name] = number(Decimal(value), language)
        except InvalidOperation:
            continue
    return shown


def hint_text(hint: Hint, language: str) -> str:
    return say(language, HINTS[hint.kind], **hint.values)


def voucher_code_for_reading(voucher: Voucher) -> str:
    return format_voucher_code(voucher.code)


__all__ = [
    "hint_text",
    "say",
    "shown_values",
    "voucher_code_for_reading",
    "voucher_conditions",
    "voucher_value_text",
]
