"""Voucher codes: short, unambiguous (no 0/O, 1/I), with a check character.

Eight random characters from a 32-letter alphabet (40 bits) and one Luhn mod 32 check
character, so a mistyped or misread character is caught before the database is asked.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BODY_LENGTH = 8
CODE_LENGTH = BODY_LENGTH + 1
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-]")


def check_character(body: str) -> str:
    """Luhn mod N over the alphabet: catches every single-character error and most swaps."""
    base = len(ALPHABET)
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _VALUES[char]
        total += addend // base + addend % base
        factor = 1 if factor == 2 else 2
    return ALPHABET[(base - total % base) % base]


def new_voucher_code() -> str:
    """A fresh code; never all digits, so a scanner's input is never mistaken for a card."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
        code = body + check_character(body)
        if not code.isdigit():
            return code


def normalize_voucher_input(raw: str) -> str:
    """Upper case without spaces and dashes; O and I read as 0 and 1 are not in the alphabet."""
    return _SEPARATORS.sub("", raw).upper()


def looks_like_voucher_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and all(char in _VALUES for char in text)


def is_valid_voucher_code(text: str) -> bool:
    return looks_like_voucher_code(text) and check_character(text[:-1]) == text[-1]


def format_voucher_code(code: str) -> str:
    """ABCD-EFGH-J: easier to read out over the counter."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"
