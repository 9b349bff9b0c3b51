"""Marketer API: sensitive categories, never recommended from other people's baskets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from crm_core.clock import utcnow
from crm_core.recommendations.models import SensitiveCategory
from crm_core.recommendations.service import UnknownCategory, mark_sensitive, unmark_sensitive
from crm_core.segments.rules import Reason
from crm_core.staff.models import ApiKey, Role
from loyalty.api import marketer_texts as texts
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language

router = APIRouter(prefix="/api/v1/sensitive-categories", tags=["marketer: catalogue"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]


class SensitiveIn(BaseModel):
    path: str
    allow_own_history: bool = False


class SensitiveOut(BaseModel):
    path: str
    allow_own_history: bool
    marked_at: datetime


@router.get("", response_model=list[SensitiveOut])
async def list_sensitive(key: Marketer) -> list[SensitiveOut]:
    rows = await SensitiveCategory.all().select_related("category").order_by("id")
    return [SensitiveOut(path=r.category.path, allow_own_history=r.allow_own_history,
                         marked_at=r.marked_at) for r in rows]  # fmt: skip


@router.put("", response_model=SensitiveOut, summary="Mark a category (and all under it)")
async def mark(body: SensitiveIn, key: Marketer, language: Language) -> SensitiveOut:
    try:
        marked = await mark_sensitive(body.path, body.allow_own_history, utcnow())
    except UnknownCategory:
        raise ApiError(
            404, "category_not_found", texts.RULE_REASONS[Reason.UNKNOWN_CATEGORY], language,
            detail=body.path,
        ) from None  # fmt: skip
    return SensitiveOut(
        path=body.path, allow_own_history=marked.allow_own_history, marked_at=marked.marked_at
    )


@router.delete("", status_code=204)
async def unmark(key: Marketer, path: Annotated[str, Query()]) -> Response:
    await unmark_sensitive(path)
    return Response(status_code=204)
