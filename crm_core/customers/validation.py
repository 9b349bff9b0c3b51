"""Rules for what we accept as a first name and a phone number."""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers
from phonenumbers import timezone as phone_timezones

NAME_MAX_LENGTH = 64
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
