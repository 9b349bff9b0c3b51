"""How a campaign message names its voucher: value and expiry in the customer's language."""

from __future__ import annotations

from babel.dates import format_date

from bot.voucher_texts import voucher_value_text
from crm_core.vouchers.models import Voucher


def voucher_placeholders(voucher: Voucher, language: str) -> dict[str, str]:
    return {
        "voucher_code": voucher.code,
        "voucher_value": voucher_value_text(voucher, language),
        "voucher_expires": format_date(voucher.valid_until.date(), format="long", locale=language),
    }
