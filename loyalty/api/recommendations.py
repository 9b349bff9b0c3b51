"""Marketer API: recommended products, rebuilt on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from crm_core.clock import utcnow
from crm_core.recommendations.service import refresh_recommendations
from crm_core.staff.models import ApiKey, Role
from loyalty.api.auth import require_role
from loyalty.api.errors import request_language

router = APIRouter(prefix="/api/v1", tags=["marketer: recommendations"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]


class RefreshOut(BaseModel):
    products_ranked: int = Field(description="Product ranks written, in all groups.")
    clusters: int = Field(
        description="Groups of similar customers (their two leading top-level categories)."
    )
    categories: int = Field(description="Top-level categories with ranked best sellers.")
    shop_products: int = Field(description="Shop-wide best sellers ranked (the last fallback).")
    customers_clustered: int = Field(description="Customers with spending, so with a group.")
    refreshed_at: datetime


@router.post(
    "/recommendations/refresh",
    response_model=RefreshOut,
    summary="Rebuild the recommended products now (as the nightly job does)",
)
async def refresh(key: Marketer) -> RefreshOut:
    """Set-based, over the last 90 days of purchases; recommendations (the API's and
    campaigns' {products}) reflect purchases up to this moment afterwards."""
    built = await refresh_recommendations(utcnow())
    return RefreshOut(**built.__dict__)
