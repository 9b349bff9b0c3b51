"""A campaign's voucher placeholders read as natural phrases inside the marketer's sentence,
in every language: no "10% off off", no "Знижка Знижка 10%", no "2026 р..")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.campaign_texts import voucher_placeholders
from crm_core.campaigns.render import Recipient, render
from crm_core.vouchers.models import Voucher, VoucherKind

NBSP = "\u00a0"
UNTIL = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def voucher(kind: VoucherKind, value: str, currency: str | None = None) -> Voucher:
    return Voucher(
        code="ABCD2345X", kind=kind, value=Decimal(value), currency=currency,
        title="Зимовий розпродаж", valid_until=UNTIL,
    )  # fmt: skip


def rendered(template: str, language: str, given: Voucher) -> str:
    recipient = Recipient(
        first_name="Olena",
        card_number="2710000000017",
        language=language,
        **voucher_placeholders(given, language),
    )
    text = render({language: {"text": template}}, language, recipient).text
    return text.replace(NBSP, " ").replace("\u202f", " ")


TEMPLATES = {
    "uk": "Ваша знижка {voucher_value} діє до {voucher_expires}.",
    "en": "Your {voucher_value} off is valid until {voucher_expires}.",
    "pl": "Rabat {voucher_value} jest ważny do {voucher_expires}.",
    "cs": "Sleva {voucher_value} platí do {voucher_expires}.",
    "ru": "Ваша скидка {voucher_value} действует до {voucher_expires}.",
}


@pytest.mark.parametrize(
    ("language", "percent_off", "amount_off"),
    [
        ("uk", "Ваша знижка 10% діє до 8 грудня 2026.",
         "Ваша знижка 50 грн діє до 8 грудня 2026."),
        ("en", "Your 10% off is valid until December 8, 2026.",
         "Your UAH 50 off is valid until December 8, 2026."),
        ("pl", "Rabat 10% jest ważny do 8 grudnia 2026.",
         "Rabat 50 zł jest ważny do 8 grudnia 2026."),
        ("cs", "Sleva 10 % platí do 8. prosince 2026.",
         "Sleva 50 Kč platí do 8. prosince 2026."),
        ("ru", "Ваша скидка 10 % действует до 8 декабря 2026.",
         "Ваша скидка 50 грн действует до 8 декабря 2026."),
    ],
)  # fmt: skip
def test_value_and_expiry_read_as_phrases(language, percent_off, amount_off):
    currency = {"pl": "PLN", "cs": "CZK"}.get(language, "UAH")
    template = TEMPLATES[language]
    assert rendered(template, language, voucher(VoucherKind.PERCENT, "10")) == percent_off
    assert rendered(template, language, voucher(VoucherKind.FIXED_AMOUNT, "50", currency)) == (
        amount_off
    )


def test_an_amount_with_cents_keeps_them():
    given = voucher(VoucherKind.FIXED_AMOUNT, "49.50", "UAH")
    assert rendered("{voucher_value}", "uk", given) == "49,50 грн"


@pytest.mark.parametrize("language", TEMPLATES)
def test_the_title_is_the_marketers_own(language):
    given = voucher(VoucherKind.PERCENT, "10")
    assert rendered("«{voucher_title}»: {voucher_code}", language, given) == (
        "«Зимовий розпродаж»: ABCD2345X"
    )
