"""How a voucher is described to people: its value and its conditions, translated."""

from __future__ import annotations

from bot.formatting import money, number, percent
from bot.i18n import N_, translations
from crm_core.vouchers.models import Voucher, VoucherKind


def say(language: str, message: str, **values: object) -> str:
    text = translations(language).gettext(message)
    return text.format(**values) if values else text


def voucher_value_text(voucher: Voucher, language: str) -> str:
    if voucher.kind == VoucherKind.PERCENT:
        return say(
            language,
            N_("{percent} off"),
            percent=percent(voucher.value, language),
        )
    if voucher.kind == VoucherKind.FIXED_AMOUNT:
        return say(
            language, N_("{amount} off"), amount=money(voucher.value, voucher.currency, language)
        )
    if voucher.kind == VoucherKind.FREE_PRODUCT:
        return say(language, N_("Free product {sku}"), sku=voucher.free_product_sku)
    return say(language, N_("{times}\u00d7 points"), times=number(voucher.value, language))


def voucher_conditions(voucher: Voucher, language: str, currency: str | None = None) -> list[str]:
    """`currency`: the store's, for amounts of a voucher valid in any currency."""
    conditions = []
    if voucher.min_basket is not None:
        conditions.append(
            say(
                language,
                N_("Minimum basket {amount}"),
                amount=money(voucher.min_basket, voucher.currency or currency, language),
            )
        )
    if voucher.allowed_categories:
        conditions.append(
            say(
                language,
                N_("Only for: {categories}"),
                categories=", ".join(voucher.allowed_categories),
            )
        )
    if voucher.excluded_categories:
        conditions.append(
            say(
                language,
                N_("Not for: {categories}"),
                categories=", ".join(voucher.excluded_categories),
            )
        )
    if voucher.customer_id is None:
        conditions.append(say(language, N_("Anyone holding the code may use it")))
    return conditions
