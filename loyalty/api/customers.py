"""Marketer API: customers (list, profile, edits, purchases, data inventory, erasure) and the
custom fields every profile carries."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from bot.i18n import translations
from crm_core.clock import utcnow
from crm_core.customers.directory import BadCursor, SortKey, list_customers
from crm_core.customers.profile import (
    CustomerErased,
    CustomerNotFound,
    data_inventory,
    full_profile,
    live_customer,
    purchase_history,
)
from crm_core.identity.merge import MergeRefused, merge_customers
from crm_core.metrics.rfm import recompute_rfm
from crm_core.metrics.service import recompute_lifecycle
from crm_core.profiles.models import CustomField
from crm_core.profiles.service import (
    ProfileRejected,
    define_field,
    set_field_values,
    update_profile,
)
from crm_core.recommendations.service import refresh_clusters
from crm_core.registration.service import erase_customer
from crm_core.segments.rules import Reason, RuleError
from crm_core.staff.models import ApiKey, Role
from loyalty.api import marketer_texts as texts
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.ids import BigId, Id
from loyalty.api.openapi import CONFLICT, GONE
from loyalty.api.segments import rule_error

router = APIRouter(prefix="/api/v1", tags=["marketer: customers"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]
ERASURE_TEXT_VERSION = "api-erasure-v1"


class CustomerPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class ProfilePatch(BaseModel):
    """Demographics and custom fields. Unknown keys are refused; so are the phone number
    (confirmed by the customer in their messenger) and marketing consent (the customer's
    own decision: /stop and /subscribe in the chat, or an import with its evidence)."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(
        default=None, description="Letters, single spaces, hyphens, apostrophes; at most 64."
    )
    city: str | None = Field(default=None, description="One line, at most 64 characters.")
    gender: str | None = None
    birth_date: date | None = None
    language: str | None = None
    timezone: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Key -> value; null clears a value."
    )
    phone: SkipJsonSchema[Any] = None
    marketing_consent: SkipJsonSchema[Any] = None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_is_the_customers(cls, _value: Any) -> Any:
        raise PydanticCustomError("phone_not_editable", "the phone number is not editable")

    @field_validator("marketing_consent", mode="before")
    @classmethod
    def _consent_is_the_customers(cls, _value: Any) -> Any:
        raise PydanticCustomError("consent_not_editable", "marketing consent is not editable")


class CustomFieldIn(BaseModel):
    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""
    kind: str = Field(description="text, number, boolean, date or choice")
    choices: list[str] = Field(default_factory=list, max_length=100)


class CustomFieldOut(BaseModel):
    id: int
    key: str
    label: str
    kind: str
    choices: list[str]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name == "spent_minor":
            out["total_spent"] = f"{Decimal(value or 0) / 100:.2f}"
        elif isinstance(value, (datetime, date)):
            out[name] = value.isoformat()
        elif name == "marketing_consent":
            out[name] = bool(value)
        else:
            out[name] = value
    return out


def profile_error(error: ProfileRejected, language: str) -> ApiError:
    return ApiError(
        422,
        str(error.problem),
        texts.PROFILE_PROBLEMS[error.problem],
        language,
        field=error.field,
        expected=_expected(error.expected, language),
    )


def _expected(expected: str, language: str) -> str:
    """A word such as "number" in the caller's language; values and formats stay as they are."""
    word = texts.EXPECTED_WORDS.get(expected)
    return translations(language).gettext(word) if word else expected


def _not_found(missing: CustomerNotFound, language: str) -> ApiError:
    """404 for an id that never was a customer; 410 with the date (and, for a duplicate, the
    customer it was merged into) for one that was erased, so the erasure can be confirmed."""
    if not isinstance(missing, CustomerErased):
        return ApiError(404, "customer_not_found", texts.CUSTOMER_NOT_FOUND, language)
    when = {
        "erased_at": missing.erased_at.isoformat(),
        "date": missing.erased_at.date().isoformat(),
    }
    if missing.merged_into is not None:
        return ApiError(
            410,
            "customer_merged",
            texts.CUSTOMER_MERGED,
            language,
            merged_into=missing.merged_into,
            **when,
        )
    return ApiError(410, "customer_erased", texts.CUSTOMER_ERASED, language, **when)


customer_missing = _not_found  # the same 404/410 for routes about a customer elsewhere


async def _customer_or_404(customer_id: int, language: str):
    try:
        return await live_customer(customer_id)
    except CustomerNotFound as missing:
        raise _not_found(missing, language) from None


@router.get("/customers", response_model=CustomerPage, summary="Filter, sort, page")
async def customers(
    key: Marketer,
    language: Language,
    stage: Annotated[list[str] | None, Query()] = None,
    rfm_segment: Annotated[list[str] | None, Query()] = None,
    city: str | None = None,
    customer_language: Annotated[str | None, Query(alias="language")] = None,
    segment_id: Id | None = None,
    consent: bool | None = None,
    channel: str | None = None,
    min_spent: Decimal | None = None,
    max_spent: Decimal | None = None,
    name: Annotated[str | None, Query(max_length=64, description="First name starts with")] = None,
    rule: Annotated[str | None, Query(description="Any segment rule, as JSON")] = None,
    sort: SortKey = SortKey.ID,
    descending: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CustomerPage:
    # Each filter becomes a rule condition; `sources` remembers which query parameter made
    # it, so a refusal names the parameter the caller wrote.
    conditions: list[dict[str, Any]] = []
    sources: list[str] = []

    def add(source: str, condition: dict[str, Any]) -> None:
        conditions.append(condition)
        sources.append(source)

    if stage:
        add("stage", {"type": "lifecycle", "op": "in", "value": stage})
    if rfm_segment:
        add("rfm_segment", {"type": "rfm_segment", "op": "in", "value": rfm_segment})
    if city:
        add("city", {"type": "profile", "field": "city", "op": "eq", "value": city})
    if customer_language:
        add("language", {"type": "profile", "field": "language", "op": "eq",
                         "value": customer_language})  # fmt: skip
    if segment_id is not None:
        add("segment_id", {"type": "segment", "segment_id": segment_id})
    if consent is not None:
        add("consent", {"type": "consent", "granted": consent})
    if channel:
        add("channel", {"type": "channel", "channel": channel})
    if min_spent is not None:
        add("min_spent", {"type": "metric", "metric": "total_spent", "op": "gte",
                          "value": str(min_spent)})  # fmt: skip
    if max_spent is not None:
        add("max_spent", {"type": "metric", "metric": "total_spent", "op": "lte",
                          "value": str(max_spent)})  # fmt: skip
    if rule:
        try:
            add("rule", json.loads(rule))
        except (ValueError, RecursionError):
            raise _filter_error(RuleError("", Reason.NOT_AN_OBJECT), "rule", language) from None
    try:
        page = await list_customers(
            conditions, utcnow(), sort, descending, cursor, limit, name_prefix=name
        )
    except RuleError as error:
        index, inner = _condition_index(error.path)
        source = sources[index] if index is not None and index < len(sources) else "rule"
        raise _filter_error(error, source, language, inner) from None
    except BadCursor:
        raise ApiError(422, "bad_cursor", texts.BAD_CURSOR, language) from None
    return CustomerPage(items=[_plain(row) for row in page.items], next_cursor=page.next_cursor)


_CONDITION = re.compile(r"^all\[(\d+)\]\.?(.*)$")


def _condition_index(path: str) -> tuple[int | None, str]:
    """'all[2].any[0].value' -> (2, 'any[0].value'): which filter, and where inside it."""
    match = _CONDITION.match(path)
    return (int(match[1]), match[2]) if match else (None, path)


def _filter_error(error: RuleError, source: str, language: str, inner: str = "") -> ApiError:
    """A refused filter names its query parameter (and, for `rule`, the path inside it)."""
    path = f"{source}.{inner}" if source == "rule" and inner else source
    return rule_error(error, language, message=texts.QUERY_INVALID, path=path)


@router.get("/customers/{customer_id}", summary="Full profile", responses=GONE)
async def customer(customer_id: BigId, key: Marketer, language: Language) -> dict[str, Any]:
    try:
        return await full_profile(customer_id, utcnow())
    except CustomerNotFound as missing:
        raise _not_found(missing, language) from None


@router.patch("/customers/{customer_id}", summary="Edit profile and custom fields", responses=GONE)
async def edit_customer(
    customer_id: BigId, body: ProfilePatch, key: Marketer, language: Language
) -> dict[str, Any]:
    await _customer_or_404(customer_id, language)
    changes = body.model_dump(exclude_unset=True)
    fields = changes.pop("custom_fields", None)
    now = utcnow()
    try:
        if changes:
            await update_profile(customer_id, changes, now)
        if fields:
            await set_field_values(customer_id, fields, now)
    except ProfileRejected as error:
        raise profile_error(error, language) from None
    return await full_profile(customer_id, now)


@router.get(
    "/customers/{customer_id}/purchases", summary="Purchase history, newest first", responses=GONE
)
async def purchases(
    customer_id: BigId,
    key: Marketer,
    language: Language,
    before: Annotated[BigId | None, Query(description="Cursor: the last purchase id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    try:
        items, next_cursor = await purchase_history(customer_id, before, limit)
    except CustomerNotFound as missing:
        raise _not_found(missing, language) from None
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/customers/{customer_id}/data", summary="Everything stored (right of access)", responses=GONE
)
async def inventory(customer_id: BigId, key: Marketer, language: Language) -> dict[str, Any]:
    try:
        return await data_inventory(customer_id, utcnow())
    except CustomerNotFound as missing:
        raise _not_found(missing, language) from None


@router.delete(
    "/customers/{customer_id}", status_code=204, summary="Erase (right to erasure)", responses=GONE
)
async def erase(customer_id: BigId, key: Marketer, language: Language) -> Response:
    customer = await _customer_or_404(customer_id, language)
    await erase_customer(customer, "api", ERASURE_TEXT_VERSION, utcnow())
    return Response(status_code=204)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_customer_id: BigId = Field(description="The duplicate merged into this customer.")


class MergeOut(BaseModel):
    customer_id: int
    merged_customer_id: int
    changed: bool = Field(description="False when the pair had been merged before.")
    moved: dict[str, int]


@router.post(
    "/customers/{customer_id}/merge",
    response_model=MergeOut,
    responses=CONFLICT,
    summary="Merge a duplicate into this customer",
)
async def merge(customer_id: BigId, body: MergeIn, key: Marketer, language: Language) -> MergeOut:
    """One person, two customers: this one survives with one active card; the other's card
    numbers keep scanning as this customer's card; purchases, vouchers, consents (an opt-out
    wins), events and segment memberships move; metrics are rebuilt. Repeating it is safe."""
    try:
        merged = await merge_customers(
            customer_id, body.other_customer_id, utcnow(), actor=f"api key {key.id}"
        )
    except MergeRefused as refused:
        if refused.code == "customer_not_found":
            raise ApiError(404, refused.code, texts.CUSTOMER_NOT_FOUND, language) from None
        raise ApiError(409, refused.code, texts.MERGE_REFUSED[refused.code], language) from None
    return MergeOut(
        customer_id=merged.keep_id,
        merged_customer_id=merged.other_id,
        changed=merged.changed,
        moved=merged.moved,
    )


@router.post(
    "/metrics/recompute", summary="Recompute RFM, lifecycle stages and recommendations now"
)
async def recompute(key: Marketer) -> dict[str, int]:
    """What the nightly job does, now: also the products campaigns recommend ({products})."""
    now = utcnow()
    changed = await recompute_lifecycle(now)
    scored = await recompute_rfm(now)
    ranked = await refresh_clusters(now)
    return {"stage_changes": changed, "scored": scored, "products_ranked": ranked}


@router.get("/custom-fields", response_model=list[CustomFieldOut])
async def custom_fields(key: Marketer) -> list[CustomFieldOut]:
    return [
        CustomFieldOut(id=f.id, key=f.key, label=f.label, kind=f.kind, choices=f.choices)
        for f in await CustomField.all().order_by("id")
    ]


@router.post("/custom-fields", response_model=CustomFieldOut, status_code=201, responses=CONFLICT)
async def add_custom_field(
    body: CustomFieldIn, key: Marketer, language: Language
) -> CustomFieldOut:
    try:
        field = await define_field(body.key, body.label, body.kind, body.choices, utcnow())
    except ProfileRejected as error:
        status = 409 if error.problem == "key_taken" else 422
        problem = profile_error(error, language)
        problem.status = status
        raise problem from None
    return CustomFieldOut(
        id=field.id, key=field.key, label=field.label, kind=field.kind, choices=field.choices
    )
