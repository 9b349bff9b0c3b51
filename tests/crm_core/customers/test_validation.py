"""What counts as a first name and a phone number."""

from __future__ import annotations

import pytest

from crm_core.customers.validation import (
    InvalidName,
    InvalidPhone,
    NameProblem,
    clean_first_name,
    normalize_phone,
    timezone_for_phone,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Олена", "Олена"),
        ("  Anna   Maria ", "Anna Maria"),
        ("Jean-Luc", "Jean-Luc"),
        ("O'Brien", "O'Brien"),
        ("Мар’яна", "Мар’яна"),
        ("Kateřina", "Kateřina"),
        ("Ł", "Ł"),
    ],
)
def test_real_names_are_accepted_and_tidied(raw, clean):
    assert clean_first_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NameProblem.EMPTY),
        ("   ", NameProblem.EMPTY),
        ("a" * 65, NameProblem.TOO_LONG),
        ("Olena 😀", NameProblem.BAD_CHARACTERS),
        ("http://spam.example", NameProblem.BAD_CHARACTERS),
        ("t.me/spam", NameProblem.BAD_CHARACTERS),
        ("R2D2", NameProblem.BAD_CHARACTERS),
        ("--", NameProblem.BAD_CHARACTERS),
        ("Anna_Maria", NameProblem.BAD_CHARACTERS),
    ],
)
def test_bad_names_are_refused_with_a_reason(raw, problem):
    with pytest.raises(InvalidName) as error:
        clean_first_name(raw)
    assert error.value.problem is problem


def test_sixty_four_letters_is_the_limit():
    assert clean_first_name("a" * 64) == "a" * 64


@pytest.mark.parametrize(
    "raw",
    ["+380501234567", "380501234567", "050 123 45 67", "(050) 123-45-67", "00380501234567"],
)
def test_phone_numbers_are_normalised_to_e164(raw):
    assert normalize_phone(raw, "UA") == "+380501234567"


def test_foreign_numbers_keep_their_country():
    assert normalize_phone("+48 601 234 567", "UA") == "+48601234567"
    assert normalize_phone("601 234 567", "PL") == "+48601234567"


@pytest.mark.parametrize("raw", ["12345", "hello", "+380 12", "", "+999 123 456 789"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, "UA")


def test_timezone_comes_from_the_number_when_the_country_has_one():
    assert timezone_for_phone("+380501234567", "UTC") == "Europe/Kyiv"
    assert timezone_for_phone("+48601234567", "UTC") == "Europe/Warsaw"
    assert timezone_for_phone("+12025550123", "UTC") == "America/New_York"


def test_numbers_spanning_several_timezones_fall_back_to_the_default():
    assert timezone_for_phone("+18005550123", "Europe/Kyiv") == "Europe/Kyiv"
