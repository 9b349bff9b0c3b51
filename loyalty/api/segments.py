"""Marketer API: segments (preview, save, rebuild, pause), their members, history and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StringConstraints

from bot.i18n import translations
from crm_core.clock import utcnow
from crm_core.segments import exports
from crm_core.segments.models import MembershipChange, Segment, SegmentKind, SegmentStatus
from crm_core.segments.rules import Expect, Reason, RuleError
from crm_core.segments.service import (
    SegmentInUse,
    SegmentNameTaken,
    SegmentPaused,
    create_segment,
    delete_unused_segment,
    preview,
    refresh_segment,
    update_segment,
)
from crm_core.staff.models import ApiKey, Role
from loyalty.api import marketer_texts as texts
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.ids import BigCursor, BigId, Id
from loyalty.api.openapi import CONFLICT, files

router = APIRouter(prefix="/api/v1/segments", tags=["marketer: segments"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class RuleIn(BaseModel):
    rule: dict[str, Any] = Field(
        description="A boolean tree: {all: [...]}, {any: [...]}, {not: {...}} or a condition "
        "{type: profile|custom_field|consent|channel|metric|rfm|rfm_segment|lifecycle|"
        "purchased|basket|event|segment, ...}.",
        examples=[
            {
                "all": [
                    {"type": "purchased", "category": "Baby/Food", "within_days": 60},
                    {
                        "any": [
                            {"type": "rfm_segment", "op": "in", "value": ["champions"]},
                            {"type": "basket", "op": "gt", "value": 80},
                        ]
                    },
                ]
            }
        ],
    )


class PreviewOut(BaseModel):
    count: int
    sample: list[dict[str, Any]]


class SegmentIn(RuleIn):
    name: Name
    kind: SegmentKind = SegmentKind.DYNAMIC
    paused: bool = False


class SegmentPatch(BaseModel):
    name: Name | None = None
    rule: dict[str, Any] | None = None
    status: SegmentStatus | None = None


class SegmentOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    rule: dict[str, Any]
    member_count: int
    created_at: datetime
    updated_at: datetime
    evaluated_at: datetime | None


class RefreshOut(BaseModel):
    entered: int
    exited: int
    members: int


class MembersOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int | None


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        id=segment.id,
        name=segment.name,
        kind=segment.kind,
        status=segment.status,
        rule=segment.rule,
        member_count=segment.member_count,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
        evaluated_at=segment.evaluated_at,
    )


def rule_reason(error: RuleError, language: str) -> str:
    """Why a rule was refused and what is allowed there, in the caller's language."""
    template = texts.RULE_REASONS[error.reason]
    if error.reason is Reason.BAD_VALUE and error.expect is not None:
        template = texts.EXPECTATIONS[error.expect]
    return (
        translations(language)
        .gettext(template)
        .format(detail=error.detail, given=error.given or "", low=error.low, high=error.high)
    )


def rule_error(
    error: RuleError, language: str, message: str = texts.RULE_INVALID, path: str | None = None
) -> ApiError:
    """422 naming the rule's path (or the request part it came from) and the reason."""
    allowed = {"allowed": error.detail} if error.detail and _lists_allowed(error) else {}
    return ApiError(
        422,
        "invalid_rule",
        message,
        language,
        path=path if path is not None else error.path or "rule",
        reason=rule_reason(error, language),
        problem=str(error.reason),
        **allowed,
    )


def _lists_allowed(error: RuleError) -> bool:
    return error.reason in {
        Reason.UNKNOWN_NODE,
        Reason.UNKNOWN_KEY,
        Reason.UNKNOWN_FIELD,
        Reason.UNKNOWN_OPERATOR,
    } or (error.reason is Reason.BAD_VALUE and error.expect is Expect.CHOICE)


async def segment_or_404(segment_id: int, language: str) -> Segment:
    segment = await Segment.get_or_none(id=segment_id)
    if segment is None:
        raise ApiError(404, "segment_not_found", texts.SEGMENT_NOT_FOUND, language)
    return segment


@router.post("/preview", response_model=PreviewOut, summary="Count and sample, without saving")
async def preview_rule(body: RuleIn, key: Marketer, language: Language) -> PreviewOut:
    try:
        result = await preview(body.rule, utcnow())
    except RuleError as error:
        raise rule_error(error, language) from None
    return PreviewOut(count=result.count, sample=[_plain(row) for row in result.sample])


@router.post(
    "", response_model=SegmentOut, status_code=201, summary="Save and build", responses=CONFLICT
)
async def create(body: SegmentIn, key: Marketer, language: Language) -> SegmentOut:
    try:
        segment, _ = await create_segment(body.name, body.kind, body.rule, utcnow(), body.paused)
    except RuleError as error:
        raise rule_error(error, language) from None
    except SegmentNameTaken:
        raise ApiError(409, "segment_name_taken", texts.SEGMENT_NAME_TAKEN, language) from None
    return segment_out(segment)


@router.get("", response_model=list[SegmentOut], summary="All segments")
async def list_segments(key: Marketer) -> list[SegmentOut]:
    return [segment_out(s) for s in await Segment.all().order_by("id")]


@router.get("/{segment_id}", response_model=SegmentOut)
async def get_segment(segment_id: Id, key: Marketer, language: Language) -> SegmentOut:
    return segment_out(await segment_or_404(segment_id, language))


@router.patch(
    "/{segment_id}",
    response_model=SegmentOut,
    summary="Rename, change, pause",
    responses=CONFLICT,
)
async def patch_segment(
    segment_id: Id, body: SegmentPatch, key: Marketer, language: Language
) -> SegmentOut:
    segment = await segment_or_404(segment_id, language)
    try:
        segment = await update_segment(segment, utcnow(), body.name, body.rule, body.status)
    except RuleError as error:
        raise rule_error(error, language) from None
    except SegmentNameTaken:
        raise ApiError(409, "segment_name_taken", texts.SEGMENT_NAME_TAKEN, language) from None
    return segment_out(segment)


@router.delete("/{segment_id}", status_code=204, responses=CONFLICT)
async def delete_segment(segment_id: Id, key: Marketer, language: Language) -> Response:
    """Refused (409) while other segments are built on it or campaigns use it."""
    segment = await segment_or_404(segment_id, language)
    try:
        await delete_unused_segment(segment)
    except SegmentInUse as error:
        if error.campaigns:
            named = ", ".join(f"\u201c{name}\u201d (#{id_})" for id_, name in error.campaigns)
            raise ApiError(
                409,
                "segment_used_by_campaigns",
                texts.SEGMENT_USED_BY_CAMPAIGNS,
                language,
                campaigns=named,
            ) from None
        raise ApiError(409, "segment_in_use", texts.SEGMENT_IN_USE, language) from None
    return Response(status_code=204)


@router.post(
    "/{segment_id}/refresh", response_model=RefreshOut, summary="Rebuild now", responses=CONFLICT
)
async def refresh(segment_id: Id, key: Marketer, language: Language) -> RefreshOut:
    """A dynamic segment is rebuilt; a static one takes the members of this moment."""
    segment = await segment_or_404(segment_id, language)
    try:
        result = await refresh_segment(segment, utcnow(), force=segment.kind == SegmentKind.STATIC)
    except SegmentPaused:
        raise ApiError(409, "segment_paused", texts.SEGMENT_PAUSED, language) from None
    except RuleError as error:
        raise rule_error(error, language) from None
    return RefreshOut(entered=result.entered, exited=result.exited, members=result.members)


@router.get("/{segment_id}/members", response_model=MembersOut)
async def members(
    segment_id: Id,
    key: Marketer,
    language: Language,
    after: Annotated[BigCursor, Query(description="Cursor: the last customer id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MembersOut:
    await segment_or_404(segment_id, language)
    pages = exports.member_rows(segment_id, exports.DEFAULT_COLUMNS, batch=limit, after=after)
    batch = await anext(pages, [])
    more = len(batch) == limit
    return MembersOut(
        items=[_plain(row) for row in batch],
        next_cursor=batch[-1]["customer_id"] if more else None,
    )


@router.get("/{segment_id}/history", summary="Entries and exits, newest first")
async def history(
    segment_id: Id,
    key: Marketer,
    language: Language,
    before: Annotated[BigId | None, Query(description="Cursor: the last entry id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    await segment_or_404(segment_id, language)
    query = MembershipChange.filter(segment_id=segment_id)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [
            {"id": r.id, "customer_id": r.customer_id, "event": r.event, "at": r.at.isoformat()}  # type: ignore[attr-defined]
            for r in rows
        ],
        "next_cursor": rows[-1].id if more else None,
    }


@router.get(
    "/{segment_id}/export",
    summary="Members as CSV, XLSX, XML or JSON (streamed)",
    responses=files(*exports.MEDIA_TYPES.values(), description="The members, streamed"),
)
async def export_members(
    segment_id: Id,
    key: Marketer,
    language: Language,
    format: Literal["csv", "xlsx", "xml", "json"] = "csv",
    columns: Annotated[
        str | None, Query(description="Comma-separated: " + ", ".join(exports.ALL_COLUMNS))
    ] = None,
) -> StreamingResponse:
    segment = await segment_or_404(segment_id, language)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        names = exports.check_columns(chosen)
    except exports.UnknownColumn as unknown:
        raise ApiError(
            422, "unknown_column", texts.UNKNOWN_COLUMN, language, column=str(unknown)
        ) from None
    fmt = exports.ExportFormat(format)
    filename = f"segment-{segment.id}.{fmt.value}"
    return StreamingResponse(
        exports.export(segment.id, names, fmt),
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if hasattr(v, "isoformat"):
            out[k] = v.isoformat()
        elif v.__class__.__name__ == "Decimal":
            out[k] = f"{v:.2f}"
        else:
            out[k] = v
    return out
