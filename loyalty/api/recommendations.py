"""Marketer API: recommended products, rebuilt on demand, and what one customer would be
offered and why (the same ranking campaigns use for {products})."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bot.i18n import N_, translations
from crm_core.clock import utcnow
from crm_core.customers.profile import CustomerNotFound, live_customer
from crm_core.recommendations.models import ClusterProduct
from crm_core.recommendations.service import (
    Reason,
    Recommendation,
    ensure_recommendations,
    recommendations_for,
    refresh_recommendations,
)
from crm_core.staff.models import ApiKey, Role
from loyalty.api.auth import require_role
from loyalty.api.customers import customer_missing
from loyalty.api.errors import request_language
from loyalty.api.ids import BigId
from loyalty.api.openapi import GONE

router = APIRouter(prefix="/api/v1", tags=["marketer: recommendations"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]

SIMILAR_TWO = N_("Popular among customers who buy {first} and {second}, like you")
SIMILAR_ONE = N_("Popular among customers who buy {first}, like you")
FAVOURITE = N_("A best seller in {category}, your favourite category")
SHOP = N_("A best seller in the shop")


class RefreshOut(BaseModel):
    products_ranked: int = Field(description="Product ranks written, in all groups.")
    clusters: int = Field(
        description="Groups of similar customers (their two leading top-level categories)."
    )
    categories: int = Field(description="Top-level categories with ranked best sellers.")
    shop_products: int = Field(description="Shop-wide best sellers ranked (the last fallback).")
    customers_clustered: int = Field(description="Customers with spending, so with a group.")
    refreshed_at: datetime


class ReasonOut(BaseModel):
    code: Reason = Field(
        description="similar_customers: popular in the customer's group of similar customers; "
        "favourite_category: a best seller of their favourite category (fallback); "
        "shop_best_seller: a best seller of the shop (last fallback)."
    )
    text: str = Field(description="The reason as a sentence in the caller's language.")
    categories: list[str] = Field(description="The categories the reason names.")


class RecommendedProduct(BaseModel):
    sku: str
    name: str
    category_path: str | None
    score: float = Field(
        ge=0,
        le=1,
        description="Higher is a closer match, to three decimals: (2/3, 1] from similar "
        "customers, (1/3, 2/3] from the favourite category, (0, 1/3] shop-wide; within each, "
        "the product's buyers relative to that group's best seller.",
    )
    reason: ReasonOut


class RecommendationsOut(BaseModel):
    customer_id: int
    refreshed_at: datetime | None = Field(
        description="When the ranks were built: purchases up to then are reflected."
    )
    items: list[RecommendedProduct]


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


@router.get(
    "/customers/{customer_id}/recommendations",
    response_model=RecommendationsOut,
    responses=GONE,
    summary="What the customer would be offered, and why",
)
async def customer_recommendations(
    customer_id: BigId,
    key: Marketer,
    language: Language,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> RecommendationsOut:
    """The products campaigns would put in {products}, best first: not bought yet, never
    from a sensitive category the customer may not be offered."""
    try:
        await live_customer(customer_id)
    except CustomerNotFound as missing:
        raise customer_missing(missing, language) from None
    await ensure_recommendations(utcnow())  # a fresh install: ranked on first use
    picked = (await recommendations_for([customer_id], limit))[customer_id]
    ranked = await ClusterProduct.all().order_by("-refreshed_at").first()
    return RecommendationsOut(
        customer_id=customer_id,
        refreshed_at=ranked.refreshed_at if ranked else None,
        items=[_product(r, language) for r in picked],
    )


def _product(picked: Recommendation, language: str) -> RecommendedProduct:
    return RecommendedProduct(
        sku=picked.sku,
        name=picked.name,
        category_path=picked.category_path,
        score=picked.score,
        reason=ReasonOut(
            code=picked.reason,
            text=reason_text(picked.reason, picked.because, language),
            categories=list(picked.because),
        ),
    )


def reason_text(reason: Reason, because: tuple[str, ...], language: str) -> str:
    """The reason as a sentence in `language`, naming the categories it rests on."""
    gettext = translations(language).gettext
    if reason is Reason.SIMILAR_CUSTOMERS and len(because) >= 2:
        return gettext(SIMILAR_TWO).format(first=because[0], second=because[1])
    if reason is Reason.SIMILAR_CUSTOMERS and because:
        return gettext(SIMILAR_ONE).format(first=because[0])
    if reason is Reason.FAVOURITE_CATEGORY and because:
        return gettext(FAVOURITE).format(category=because[0])
    return gettext(SHOP)
