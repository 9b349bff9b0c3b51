"""Card numbers: digits only, prefix + zero-padded serial + Luhn check digit."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-]")


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits + it` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and luhn_check_digit(number[:-1]) == number[-1]


def make_card_number(prefix: str, serial: int, serial_digits: int) -> str:
    body = f"{prefix}{serial:0{serial_digits}d}"
    return body + luhn_check_digit(body)


def normalize_card_input(raw: str) -> str:
    """What a scanner or a person typed, without spaces and dashes."""
    return _SEPARATORS.sub("", raw)


def format_card_number(number: str) -> str:
    """Groups of four for reading aloud and typing at the till."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
