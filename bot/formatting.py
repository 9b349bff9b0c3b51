"""Money, numbers, percentages and dates as each language writes them (Babel, CLDR data).

One place for every text people read: the bot, the web chat, the API's sentences. "50,00 грн",
"50,00 zł", "50,00 Kč", "UAH 50.00"; "8 грудня 2026"; "1 234,5". Machine fields (JSON values,
CSV cells) keep their plain decimal strings and ISO dates.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

# How shops write a currency where CLDR's symbol is not what people read on a price tag.
_SYMBOLS = {("uk", "UAH"): "грн", ("ru", "UAH"): "грн"}
# CLDR puts a space between a letter symbol and the number; Babel does not: "UAH50.00".
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
# CLDR's long dates end in an abbreviation in some languages ("8 грудня 2026 р."); as a
# phrase inside a sentence the bare date reads better and never doubles a full stop.
_YEAR_WORD = re.compile(r"\s+(р\.|г\.)$")


def money(amount: Decimal, currency: str | None, language: str, short: bool = False) -> str:
    """An amount with its currency, or a plain amount with two decimals when it has none.

    `short`: a whole amount without its zero cents ("50 грн"), as an offer names it; prices
    and totals keep them."""
    whole = short and amount == amount.to_integral_value()
    if not currency:
        return format_decimal(amount, format="#,##0" if whole else "#,##0.00", locale=language)
    pattern = None
    if whole:
        pattern = Locale.parse(language).currency_formats["standard"].pattern.replace(".00", "")
    text = format_currency(
        amount, currency, format=pattern, locale=language, currency_digits=not whole
    )
    symbol = _SYMBOLS.get((language, currency))
    if symbol:
        text = text.replace(get_currency_symbol(currency, locale=language), symbol)
    return _LETTER_DIGIT.sub("\u00a0", text)


def number(value: Decimal | int, language: str) -> str:
    """A quantity or count: grouping and decimal separator of the language, no padding."""
    return format_decimal(value, locale=language, decimal_quantization=False)


def percent(value: Decimal, language: str) -> str:
    """10 -> "10 %" (cs), "10%" (uk, en): the language's own percent pattern."""
    return format_percent(value / 100, locale=language, decimal_quantization=False)


def day(value: date, language: str) -> str:
    """A calendar day written out ("8 грудня 2026", "8. prosince 2026", "December 8, 2026")."""
    return _YEAR_WORD.sub("", format_date(value, format="long", locale=language))
