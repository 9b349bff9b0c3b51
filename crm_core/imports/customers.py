"""Importing customers from a retailer's CRM: one row per customer, keyed by phone.

Columns: phone (required), first_name, card_number (an existing plastic card; without one a
digital card is issued), birth_date, gender, city, language, marketing_consent (yes/no),
and one column per custom field, named by its key. A new phone creates a customer with a
card; a known phone gets the row's values. Each row is written in one transaction or not
at all, and importing the same file again changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from crm_core.cards.imports import MAX_DIGITS, MIN_DIGITS
from crm_core.cards.models import Card, CardStatus
from crm_core.cards.numbers import normalize_card_input
from crm_core.cards.service import CardNumberPolicy, issue_card
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import record_consent
from crm_core.customers.models import Customer
from crm_core.customers.validation import (
    InvalidName,
    InvalidPhone,
    clean_first_name,
    normalize_phone,
    timezone_for_phone,
)
from crm_core.imports.csvfile import forbidden_cell
from crm_core.imports.report import ImportReport
from crm_core.metrics.service import ensure_metrics_row
from crm_core.profiles.models import CustomField, CustomFieldValue
from crm_core.profiles.service import ProfileRejected, check_profile, typed_value

REQUIRED = ("phone",)
PROFILE_COLUMNS = ("birth_date", "gender", "city", "language")
YES, NO = {"yes", "y", "true", "1", "так", "tak", "ano", "да"}, {"no", "n", "false", "0", "ні"}
CONSENT_TEXT_VERSION = "import"


class _Bad(Exception):
    def __init__(self, column: str, reason: str) -> None:
        self.column, self.reason = column, reason


def _parse(
    values: dict[str, str], region: str, fields: dict[str, CustomField]
) -> tuple[str, str | None, str | None, dict[str, Any], dict[str, Any], bool | None]:
    try:
        phone = normalize_phone(values["phone"], region)
    except InvalidPhone:
        raise _Bad("phone", "not a valid phone number") from None
    name = None
    if values.get("first_name"):
        try:
            name = clean_first_name(values["first_name"])
        except InvalidName:
            raise _Bad("first_name", "letters, spaces, hyphens and apostrophes only") from None
    number = None
    if values.get("card_number"):
        number = normalize_card_input(values["card_number"])
        if not (number.isdigit() and MIN_DIGITS <= len(number) <= MAX_DIGITS):
            raise _Bad("card_number", "6-32 digits")
    profile = {c: values[c] for c in PROFILE_COLUMNS if values.get(c)}
    try:
        profile = check_profile(profile)
    except ProfileRejected as problem:
        raise _Bad(problem.field, f"expected {problem.expected}") from None
    custom = {}
    for key, field in fields.items():
        raw = values.get(key)
        if not raw:
            continue
        value: Any = raw
        if field.kind == "boolean":
            value = raw.lower() in YES if raw.lower() in YES | NO else raw
        try:
            custom[key] = typed_value(field, value)
        except ProfileRejected as problem:
            raise _Bad(key, f"expected {problem.expected}") from None
    consent = None
    if values.get("marketing_consent"):
        answer = values["marketing_consent"].lower()
        if answer not in YES | NO:
            raise _Bad("marketing_consent", "yes or no")
        consent = answer in YES
    return phone, name, number, profile, custom, consent


async def import_customers(
    rows: Iterable[tuple[int, dict[str, str]]],
    region: str,
    language: str,
    timezone_fallback: str,
    card_policy: CardNumberPolicy,
    now: datetime,
) -> ImportReport:
    report = ImportReport("customers")
    fields = {f.key: f for f in await CustomField.all()}
    seen_phones: set[str] = set()
    for row, values in rows:
        report.rows += 1
        if bad := forbidden_cell(values):
            report.reject(row, *bad)
            continue
        try:
            phone, name, number, profile, custom, consent = _parse(values, region, fields)
            if phone in seen_phones:
                raise _Bad("phone", "the same phone appears earlier in the file")
            seen_phones.add(phone)
            changed = await _import_row(
                phone, name, number, profile, custom, consent, language, timezone_fallback,
                card_policy, now,
            )  # fmt: skip
        except _Bad as problem:
            report.reject(row, problem.column, problem.reason)
            continue
        if changed:
            report.imported += 1
        else:
            report.unchanged += 1
    return report


async def _import_row(
    phone: str,
    name: str | None,
    number: str | None,
    profile: dict[str, Any],
    custom: dict[str, Any],
    consent: bool | None,
    language: str,
    timezone_fallback: str,
    card_policy: CardNumberPolicy,
    now: datetime,
) -> bool:
    """Write one customer; True when anything was created or changed."""
    async with in_transaction() as db:
        customer = await Customer.filter(phone=phone).using_db(db).first()
        changed = False
        if number is not None:
            card = await Card.filter(number=number).using_db(db).first()
            if card is not None and (customer is None or card.customer_id != customer.id):
                raise _Bad("card_number", "this card number belongs to another customer")
        if customer is None:
            if name is None:
                raise _Bad("first_name", "required for a new customer")
            customer = await Customer.create(
                first_name=name,
                phone=phone,
                language=profile.get("language", language),
                timezone=timezone_for_phone(phone, timezone_fallback),
                marketing_consent=False,
                created_at=now,
                using_db=db,
            )
            await ensure_metrics_row(customer.id, now, db)
            changed = True
        if customer.erased_at is not None:
            raise _Bad("phone", "this customer asked to be erased")
        if number is not None and not await Card.filter(number=number).using_db(db).exists():
            if (
                await Card.filter(customer_id=customer.id, status=CardStatus.ACTIVE)
                .using_db(db)
                .exists()
            ):
                raise _Bad("card_number", "this customer already has another active card")
            await Card.create(
                number=number,
                customer_id=customer.id,
                status=CardStatus.ACTIVE,
                issued_at=now,
                media_salt=secrets.token_hex(8),
                using_db=db,
            )
            changed = True
        elif not await Card.filter(customer_id=customer.id).using_db(db).exists():
            await issue_card(customer, card_policy, now, db)
            changed = True
        updates = {k: v for k, v in profile.items() if getattr(customer, k) != v}
        if name is not None and customer.first_name != name:
            updates["first_name"] = name
        if updates:
            await Customer.filter(id=customer.id).using_db(db).update(**updates)
            changed = True
        for key, value in custom.items():
            field_id = (await CustomField.get(key=key).using_db(db)).id
            stored = (
                await CustomFieldValue.filter(customer_id=customer.id, field_id=field_id)
                .using_db(db)
                .first()
            )
            columns = value.__dict__
            if stored is None:
                await CustomFieldValue.create(
                    customer_id=customer.id, field_id=field_id, updated_at=now,
                    using_db=db, **columns,
                )  # fmt: skip
                changed = True
            elif any(getattr(stored, k) != v for k, v in columns.items()):
                await (
                    CustomFieldValue.filter(id=stored.id)
                    .using_db(db)
                    .update(**columns, updated_at=now)
                )
                changed = True
        if consent is not None and consent != customer.marketing_consent:
            await record_consent(
                customer.id, ConsentPurpose.MARKETING, consent, "import", CONSENT_TEXT_VERSION,
                now, db,
            )  # fmt: skip
            changed = True
    return changed
