"""Profile edits: demographics and marketer-defined custom fields, validated on write."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm_core.customers.models import Customer
from crm_core.customers.validation import InvalidCity, InvalidName, clean_city, clean_first_name
from crm_core.profiles.models import CustomField, CustomFieldValue, FieldKind
from crm_core.segments.service import PROFILE_CHANGE, customer_changed_safely

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
GENDERS = ("female", "male", "other")
LANGUAGES = ("uk", "en", "pl", "cs", "ru")
MAX_CHOICES = 100
NAME_RULE = "letters, single spaces, hyphens and apostrophes; at most 64 characters"
CITY_RULE = "one line of at most 64 characters, no control characters"


class ProfileProblem(StrEnum):
    BAD_KEY = "bad_key"
    KEY_TAKEN = "key_taken"
    BAD_KIND = "bad_kind"
    NO_CHOICES = "no_choices"
    UNKNOWN_FIELD = "unknown_field"
    BAD_VALUE = "bad_value"
    BAD_NAME = "bad_name"
    BAD_CITY = "bad_city"


class ProfileRejected(ValueError):
    def __init__(self, problem: ProfileProblem, field: str = "", expected: str = "") -> None:
        super().__init__(f"{problem}: {field} {expected}".strip())
        self.problem = problem
        self.field = field
        self.expected = expected


async def define_field(
    key: str, label: str, kind: str, choices: list[str], now: datetime
) -> CustomField:
    """A new custom field for every profile; a choice field needs its list of choices."""
    if not KEY_PATTERN.match(key or ""):
        raise ProfileRejected(ProfileProblem.BAD_KEY, "key", "a-z, 0-9, _")
    if kind not in set(FieldKind):
        raise ProfileRejected(ProfileProblem.BAD_KIND, "kind", ", ".join(FieldKind))
    cleaned = [c.strip() for c in choices if isinstance(c, str) and c.strip()]
    if kind == FieldKind.CHOICE and not cleaned:
        raise ProfileRejected(ProfileProblem.NO_CHOICES, "choices")
    if kind != FieldKind.CHOICE:
        cleaned = []
    if len(cleaned) > MAX_CHOICES or len(set(cleaned)) != len(cleaned):
        raise ProfileRejected(ProfileProblem.BAD_VALUE, "choices")
    try:
        return await CustomField.create(
            key=key, label=label.strip() or key, kind=kind, choices=cleaned, created_at=now
        )
    except IntegrityError:
        raise ProfileRejected(ProfileProblem.KEY_TAKEN, key) from None


@dataclass(frozen=True)
class TypedValue:
    text_value: str | None = None
    number_value: Decimal | None = None
    bool_value: bool | None = None
    date_value: date | None = None


def typed_value(field: CustomField, value: Any) -> TypedValue:
    """The value in its field's column, or ProfileRejected naming what was expected."""
    kind = FieldKind(field.kind)
    if kind in (FieldKind.TEXT, FieldKind.CHOICE):
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "text")
        if kind is FieldKind.CHOICE and value not in field.choices:
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, ", ".join(field.choices))
        return TypedValue(text_value=value.strip())
    if kind is FieldKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "number")
        return TypedValue(number_value=number.quantize(Decimal("0.0001")))
    if kind is FieldKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "true/false")
        return TypedValue(bool_value=value)
    if isinstance(value, date):
        return TypedValue(date_value=value)
    try:
        return TypedValue(date_value=date.fromisoformat(value))
    except (TypeError, ValueError):
        raise ProfileRejected(ProfileProblem.BAD_VALUE, field.key, "YYYY-MM-DD") from None


async def set_field_values(customer_id: int, values: dict[str, Any], now: datetime) -> None:
    """Set (or with None, clear) custom field values; all of them or none."""
    fields = {f.key: f for f in await CustomField.filter(key__in=list(values))}
    for key in values:
        if key not in fields:
            raise ProfileRejected(ProfileProblem.UNKNOWN_FIELD, key)
    typed = {
        key: None if value is None else typed_value(fields[key], value)
        for key, value in values.items()
    }
    async with in_transaction() as connection:
        for key, value in typed.items():
            field = fields[key]
            existing = await CustomFieldValue.filter(
                customer_id=customer_id, field_id=field.id
            ).using_db(connection)
            if value is None:
                await (
                    CustomFieldValue.filter(customer_id=customer_id, field_id=field.id)
                    .using_db(connection)
                    .delete()
                )
            elif existing:
                await (
                    CustomFieldValue.filter(id=existing[0].id)
                    .using_db(connection)
                    .update(**value.__dict__, updated_at=now)
                )
            else:
                await CustomFieldValue.create(
                    customer_id=customer_id,
                    field_id=field.id,
                    updated_at=now,
                    using_db=connection,
                    **value.__dict__,
                )
    await customer_changed_safely(customer_id, PROFILE_CHANGE, now)


def check_profile(changes: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "first_name":
            # The bot's rule for names, so every way in accepts the same names.
            try:
                checked[name] = clean_first_name(value if isinstance(value, str) else "")
            except InvalidName:
                raise ProfileRejected(ProfileProblem.BAD_NAME, name, NAME_RULE) from None
        elif name == "city":
            if value is None or value == "":
                checked[name] = None
                continue
            try:
                checked[name] = clean_city(value if isinstance(value, str) else "")
            except InvalidCity:
                raise ProfileRejected(ProfileProblem.BAD_CITY, name, CITY_RULE) from None
        elif name == "gender":
            if value is not None and value not in GENDERS:
                raise ProfileRejected(ProfileProblem.BAD_VALUE, name, ", ".join(GENDERS))
            checked[name] = value
        elif name == "language":
            if value not in LANGUAGES:
                raise ProfileRejected(ProfileProblem.BAD_VALUE, name, ", ".join(LANGUAGES))
            checked[name] = value
        elif name == "timezone":
            try:
                ZoneInfo(str(value))
            except (ZoneInfoNotFoundError, ValueError):
                raise ProfileRejected(ProfileProblem.BAD_VALUE, name, "Europe/Kyiv") from None
            checked[name] = value
        elif name == "birth_date":
            if value is None:
                checked[name] = None
                continue
            try:
                born = value if isinstance(value, date) else date.fromisoformat(value)
            except (TypeError, ValueError):
                raise ProfileRejected(ProfileProblem.BAD_VALUE, name, "YYYY-MM-DD") from None
            if not date(1900, 1, 1) <= born <= date.today():
                raise ProfileRejected(ProfileProblem.BAD_VALUE, name, "YYYY-MM-DD")
            checked[name] = born
        else:
            raise ProfileRejected(ProfileProblem.UNKNOWN_FIELD, name)
    return checked


async def update_profile(customer_id: int, changes: dict[str, Any], now: datetime) -> Customer:
    """Edit demographics, language or timezone; dynamic segments re-judge the customer."""
    checked = check_profile(changes)
    if checked:
        await Customer.filter(id=customer_id, erased_at=None).update(**checked)
        await customer_changed_safely(customer_id, PROFILE_CHANGE, now)
    return await Customer.get(id=customer_id)


async def field_values_of(customer_id: int) -> dict[str, Any]:
    """A customer's custom fields as plain JSON values."""
    result: dict[str, Any] = {}
    for value in await CustomFieldValue.filter(customer_id=customer_id).select_related("field"):
        field: CustomField = value.field  # type: ignore[assignment]
        kind = FieldKind(field.kind)
        if kind in (FieldKind.TEXT, FieldKind.CHOICE):
            result[field.key] = value.text_value
        elif kind is FieldKind.NUMBER:
            number = value.number_value
            result[field.key] = None if number is None else format(number.normalize(), "f")
        elif kind is FieldKind.BOOLEAN:
            result[field.key] = value.bool_value
        else:
            result[field.key] = value.date_value.isoformat() if value.date_value else None
    return result
