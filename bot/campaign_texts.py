"""How a campaign message names its voucher: phrases that fit inside the marketer's sentence.

`{voucher_value}` is the bare worth ("10%", "50 грн", "50 zł"), so "Your {voucher_value} off"
and "Ваша знижка {voucher_value}" read naturally (the till's "10% off" / "Знижка 10%" would
say it twice); `{voucher_title}` is the title as the marketer wrote it; `{voucher_expires}` is
the day written out without a trailing abbreviation, so a sentence may end right after it.
"""

from __future__ import annotations

from bot.formatting import day, money, percent
from bot.voucher_texts import voucher_value_text
from crm_core.vouchers.models import Voucher, VoucherKind


def voucher_worth(voucher: Voucher, language: str) -> str:
    if voucher.kind == VoucherKind.PERCENT:
        return percent(voucher.value, language)
    if voucher.kind == VoucherKind.FIXED_AMOUNT:
        return money(voucher.value, voucher.currency, language, short=True)
    return voucher_value_text(voucher, language)  # a free product, a points multiplier


def voucher_placeholders(voucher: Voucher, language: str) -> dict[str, str]:
    return {
        "voucher_code": voucher.code,
        "voucher_value": voucher_worth(voucher, language),
        "voucher_title": voucher.title or "",
        "voucher_expires": day(voucher.valid_until.date(), language),
    }
