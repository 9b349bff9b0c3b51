"""Rules for what we accept as a first name, a phone number and a birth date."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

import phonenumbers
from phonenumbers import timezone as phone_timezones

from crm_core.text import forbidden_character

NAME_MAX_LENGTH = 64
CITY_MAX_LENGTH = 64
# Letters of any script, single spaces, hyphens and apostrophes between letter runs.
_NAME = re.compile(r"^[^\W\d_]+(?:[ \-'’ʼ][^\W\d_]+)*$")


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_CHARACTERS = "bad_characters"


class InvalidName(ValueError):
    def __init__(self, problem: NameProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class InvalidPhone(ValueError):
    """The text is not a valid phone number in any region we can infer."""


def clean_first_name(raw: str) -> str:
    """A tidy first name, or InvalidName saying why not (emoji, digits, links...)."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidName(NameProblem.EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidName(NameProblem.TOO_LONG)
    if not _NAME.match(name):
        raise InvalidName(NameProblem.BAD_CHARACTERS)
    return name


class InvalidCity(ValueError):
    """Empty after tidying, too long, or holding a control character."""


def clean_city(raw: str) -> str:
    """A tidy city name (one line, single spaces), the same rule for imports and the API."""
    city = " ".join(raw.split())
    if not city or len(city) > CITY_MAX_LENGTH or forbidden_character(city) is not None:
        raise InvalidCity(raw[:CITY_MAX_LENGTH])
    return city


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form of a phone number typed or shared in any common notation."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    elif (
        text
        and text[0].isdigit()
        and not text.startswith("0")
        and len(re.sub(r"\D", "", text)) > 10
    ):
        # Messengers share numbers without '+', e.g. "380501234567".
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(str(error)) from error
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def timezone_for_phone(e164: str, fallback: str) -> str:
    """The customer's timezone guessed from the number when the country has only one."""
    zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164, None))
    if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
        return zones[0]
    return fallback


# Birthday offers are for people old enough to shop on their own; older than this is a typo.
YOUNGEST_AGE = 14
OLDEST_AGE = 110
_SEPARATOR = r"(?:\s*[./-]\s*|\s+)"
_DAY_OR_MONTH = r"([0-9]{1,2})"
_YEAR = r"([0-9]{4})"
_DAY_FIRST = re.compile(
    rf"^{_DAY_OR_MONTH}{_SEPARATOR}{_DAY_OR_MONTH}{_SEPARATOR}([0-9]{{4}}|[0-9]{{2}})\.?$"
)
_YEAR_FIRST = re.compile(rf"^{_YEAR}{_SEPARATOR}{_DAY_OR_MONTH}{_SEPARATOR}{_DAY_OR_MONTH}$")


class BirthDateProblem(StrEnum):
    UNREADABLE = "unreadable"
    NO_SUCH_DATE = "no_such_date"
    AGE_OUT_OF_RANGE = "age_out_of_range"


class InvalidBirthDate(ValueError):
    def __init__(self, problem: BirthDateProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def age_on(birth_date: date, today: date) -> int:
    """Full years lived on `today` (someone born on 29 February turns a year older on 1 March)."""
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def parse_birth_date(raw: str, today: date) -> date:
    """A birth date typed day first (31.12.1990, 31/12/1990, 31-12-90) or ISO (1990-12-31).

    InvalidBirthDate says why not: unreadable, no such day (31.02), or an age outside
    YOUNGEST_AGE..OLDEST_AGE on `today` (a date in the future included).
    """
    text = raw.strip()
    if match := _YEAR_FIRST.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DAY_FIRST.match(text):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if len(match[3]) == 2:
            # 31.12.90: this century when that makes someone old enough, else the last one.
            year += 2000 if 2000 + year <= today.year - YOUNGEST_AGE else 1900
    else:
        raise InvalidBirthDate(BirthDateProblem.UNREADABLE)
    try:
        born = date(year, month, day)
    except ValueError as error:
        raise InvalidBirthDate(BirthDateProblem.NO_SUCH_DATE) from error
    if not YOUNGEST_AGE <= age_on(born, today) <= OLDEST_AGE:
        raise InvalidBirthDate(BirthDateProblem.AGE_OUT_OF_RANGE)
    return born
