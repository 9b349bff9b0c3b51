"""What counts as a first name, a phone number and a birth date."""

from __future__ import annotations

from datetime import date

import pytest

from crm_core.customers.validation import (
    BirthDateProblem,
    InvalidBirthDate,
    InvalidName,
    InvalidPhone,
    NameProblem,
    clean_first_name,
    normalize_phone,
    parse_birth_date,
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


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    "raw",
    ["31.12.1990", "31/12/1990", "31-12-1990", "1990-12-31", " 31. 12. 1990 ", "31 12 1990"],
)
def test_common_ways_of_typing_a_birthday_are_understood(raw):
    assert parse_birth_date(raw, TODAY) == date(1990, 12, 31)


def test_a_two_digit_year_is_the_century_that_makes_a_plausible_customer():
    assert parse_birth_date("1.2.90", TODAY) == date(1990, 2, 1)
    assert parse_birth_date("1.2.05", TODAY) == date(2005, 2, 1)
    assert parse_birth_date("1.2.20", TODAY) == date(1920, 2, 1)


def test_ages_from_fourteen_to_a_hundred_and_ten_are_accepted():
    assert parse_birth_date("23.11.2012", TODAY) == date(2012, 11, 23)  # 14 today
    assert parse_birth_date("24.11.1915", TODAY) == date(1915, 11, 24)  # 110 until tomorrow


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("next spring", BirthDateProblem.UNREADABLE),
        ("", BirthDateProblem.UNREADABLE),
        ("31.12", BirthDateProblem.UNREADABLE),
        ("1990", BirthDateProblem.UNREADABLE),
        ("31.02.1990", BirthDateProblem.NO_SUCH_DATE),
        ("29.02.1991", BirthDateProblem.NO_SUCH_DATE),
        ("12/31/1990", BirthDateProblem.NO_SUCH_DATE),  # day first: there is no 13th month
        ("00.01.1990", BirthDateProblem.NO_SUCH_DATE),
        ("24.11.2012", BirthDateProblem.AGE_OUT_OF_RANGE),  # 14 only tomorrow
        ("23.11.1915", BirthDateProblem.AGE_OUT_OF_RANGE),  # 111 today
        ("01.01.2030", BirthDateProblem.AGE_OUT_OF_RANGE),  # not born yet
    ],
)
def test_impossible_and_implausible_birthdays_are_refused_with_a_reason(raw, problem):
    with pytest.raises(InvalidBirthDate) as error:
        parse_birth_date(raw, TODAY)
    assert error.value.problem is problem
