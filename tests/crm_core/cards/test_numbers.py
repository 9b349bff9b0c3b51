"""Card numbers: digits only, prefix + serial + Luhn digit, so a till catches typos."""

from __future__ import annotations

import pytest

from crm_core.cards.numbers import (
    format_card_number,
    is_luhn_valid,
    luhn_check_digit,
    make_card_number,
    normalize_card_input,
)


@pytest.mark.parametrize(
    ("body", "digit"),
    [("7992739871", "3"), ("4111111111111111"[:-1], "1"), ("0", "0"), ("27100000001", "5")],
)
def test_luhn_check_digit_matches_the_standard(body, digit):
    assert luhn_check_digit(body) == digit


def test_card_number_is_prefix_serial_and_check_digit():
    number = make_card_number("2710", 42, 8)
    assert number[:4] == "2710"
    assert number[4:12] == "00000042"
    assert len(number) == 13
    assert is_luhn_valid(number)


def test_every_single_digit_typo_is_caught():
    number = make_card_number("2710", 123456, 8)
    for position in range(len(number)):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            assert not is_luhn_valid(typo), typo


def test_adjacent_swaps_are_caught():
    number = make_card_number("2710", 987654, 8)
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a == b or {a, b} == {"0", "9"}:
            continue  # the one swap Luhn cannot see
        swapped = number[:position] + b + a + number[position + 2 :]
        assert not is_luhn_valid(swapped), swapped


def test_non_digits_are_never_valid():
    assert not is_luhn_valid("27100000000A")
    assert not is_luhn_valid("")


def test_typed_input_ignores_spaces_and_dashes_and_reads_in_groups_of_four():
    number = make_card_number("2710", 5, 8)
    assert normalize_card_input(format_card_number(number)) == number
    assert normalize_card_input(" 2710-0000 0005 ") == "271000000005"
    assert format_card_number("2710000000051") == "2710 0000 0005 1"
