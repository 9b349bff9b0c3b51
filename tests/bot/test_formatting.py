"""Money, numbers, percentages and dates as each language writes them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.formatting import day, money, number, percent

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "currency", "written"),
    [
        ("uk", "UAH", "1 050,00 грн"),
        ("ru", "UAH", "1 050,00 грн"),
        ("pl", "PLN", "1 050,00 zł"),
        ("cs", "CZK", "1 050,00 Kč"),
        ("en", "UAH", "UAH 1,050.00"),
        ("en", "EUR", "€1,050.00"),
        ("pl", "UAH", "1 050,00 UAH"),
        ("uk", None, "1 050,00"),
    ],
)
def test_money_is_written_as_each_language_writes_it(language, currency, written):
    assert money(Decimal("1050"), currency, language).replace(NBSP, " ") == written


def test_an_amount_never_breaks_from_its_currency():
    for language in ("uk", "en", "pl", "cs", "ru"):
        assert " " not in money(Decimal("50"), "UAH", language)


@pytest.mark.parametrize(
    ("language", "written"),
    [("uk", "8 грудня 2026"), ("ru", "8 декабря 2026"), ("pl", "8 grudnia 2026"),
     ("cs", "8. prosince 2026"), ("en", "December 8, 2026")],
)  # fmt: skip
def test_a_day_is_written_out_without_a_trailing_abbreviation(language, written):
    assert day(date(2026, 12, 8), language) == written


@pytest.mark.parametrize(
    ("language", "quantity", "share"),
    [("uk", "1 234,5", "10%"), ("en", "1,234.5", "10%"), ("pl", "1 234,5", "10%"),
     ("cs", "1 234,5", "10 %"), ("ru", "1 234,5", "10 %")],
)  # fmt: skip
def test_numbers_and_percentages(language, quantity, share):
    assert number(Decimal("1234.5"), language).replace(NBSP, " ") == quantity
    assert percent(Decimal("10"), language).replace(NBSP, " ") == share
