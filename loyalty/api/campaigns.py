"""Marketer API: campaigns (create, preview, test send, schedule, pause, resume, cancel) and
their results, also as CSV."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bot.campaign_texts import voucher_placeholders
from bot.i18n import translations
from crm_core.campaigns.models import Campaign, CampaignRun
from crm_core.campaigns.planning import plan_test_run, preview_plan
from crm_core.campaigns.render import Recipient, render, uses_placeholder
from crm_core.campaigns.results import Results, campaign_results
from crm_core.campaigns.service import (
    CampaignIn,
    CampaignRejected,
    NotADraft,
    cancel_campaign,
    clone_campaign,
    create_campaign,
    mark_missed,
    pause_campaign,
    resume_campaign,
    schedule_campaign,
    schedule_of,
    update_draft,
    voucher_spec,
)
from crm_core.campaigns.service import (
    Problem as CampaignProblem,
)
from crm_core.campaigns.stats import Uplift
from crm_core.clock import utcnow
from crm_core.recommendations.service import ensure_recommendations, recommend_for
from crm_core.segments.models import Segment
from crm_core.staff.models import ApiKey, Role
from crm_core.vouchers.codes import new_voucher_code
from crm_core.vouchers.models import Voucher
from loyalty.api import marketer_texts as texts
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.ids import BigId, Id
from loyalty.api.openapi import CONFLICT, files
from loyalty.settings import SUPPORTED_LANGUAGES

CENT = Decimal("0.01")
router = APIRouter(prefix="/api/v1/campaigns", tags=["marketer: campaigns"])
Marketer = Annotated[ApiKey, Depends(require_role(Role.MARKETER))]
Language = Annotated[str, Depends(request_language)]


class MessageIn(BaseModel):
    text: str = Field(
        description="Placeholders: {first_name}, {card_number}, {products}, {voucher_code}, "
        "{voucher_value}, {voucher_title}, {voucher_expires}."
    )
    button: str | None = Field(None, description="Label of a button that shows the vouchers.")
    image_url: str | None = None


class ScheduleIn(BaseModel):
    kind: Literal["once", "recurring"]
    at: str | None = Field(None, description="once: ISO 8601 with its UTC offset")
    cron: str | None = Field(
        None, description="recurring: 'min hour day month weekday', in each customer's local time"
    )


class CampaignBody(BaseModel):
    name: str
    segment_id: Id
    exclude_segment_ids: list[Id] = Field(default_factory=list, max_length=100)
    messages: dict[str, MessageIn]
    default_language: str
    schedule: ScheduleIn
    control_percent: int = 10
    voucher: dict[str, Any] | None = Field(
        None,
        description="kind (percent, fixed_amount, free_product, points_multiplier), value, "
        "title, valid_days, currency, min_basket, allowed_categories, excluded_categories",
    )


class CampaignPatch(BaseModel):
    """Parts of a draft to change; those not given stay. `voucher: null` removes the voucher."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    segment_id: Id | None = None
    exclude_segment_ids: list[Id] | None = Field(None, max_length=100)
    messages: dict[str, MessageIn] | None = None
    default_language: str | None = None
    schedule: ScheduleIn | None = None
    control_percent: int | None = None
    voucher: dict[str, Any] | None = None


class CloneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="the copy's name; by default the original's")


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str = Field(
        description="draft, scheduled, running, paused, done, cancelled or missed (a one-off "
        "that did not run within CAMPAIGN_MISFIRE_GRACE_MINUTES of its moment)"
    )
    status_reason: str | None = Field(None, description="why, as a stable code (missed)")
    status_detail: str | None = Field(None, description="why, in the caller's language")
    segment_id: int
    exclude_segment_ids: list[int]
    messages: dict[str, Any]
    default_language: str
    voucher: dict[str, Any] | None
    control_percent: int
    schedule: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SampleOut(BaseModel):
    customer_id: int
    channel: str
    language: str
    text: str
    button: str | None
    image_url: str | None


class WarningOut(BaseModel):
    code: str
    detail: str


class PreviewOut(BaseModel):
    audience: int
    treatment: int
    control: int
    suppressed: dict[str, int]
    by_channel: dict[str, int]
    viber_billable: int = Field(description="Viber bills bot-initiated messages one by one.")
    samples: list[SampleOut]
    warnings: list[WarningOut] = Field(
        default_factory=list,
        description="products_missing: sample recipients with nothing to recommend get the "
        "message without the line (or sentence) that shows {products}",
    )


class TestSendIn(BaseModel):
    segment_id: Id


class UpliftOut(BaseModel):
    treatment: float
    control: float
    difference: float
    relative: float | None
    ci95_low: float | None
    ci95_high: float | None
    p_value: float | None
    verdict: str
    says: str


class MoneyUpliftOut(BaseModel):
    """Revenue per customer, treatment against control: amounts as decimal strings in the
    results' currency."""

    treatment: str
    control: str
    difference: str
    relative: float | None
    ci95_low: str | None
    ci95_high: str | None
    p_value: float | None
    verdict: str
    says: str


class ResultsOut(BaseModel):
    runs: int
    recipients: int
    control: int
    sent: int
    delivered: int
    seen: int
    pending: int
    failed: dict[str, int]
    skipped: dict[str, int]
    vouchers_issued: int
    vouchers_redeemed: int
    attribution_days: int
    treatment_customers_who_bought: int
    control_customers_who_bought: int
    currency: str | None = Field(
        description="of every amount here; null when nobody bought anything yet"
    )
    treatment_revenue: str = Field(
        description="decimal string, net of refunds", examples=["125.40"]
    )
    control_revenue: str = Field(description="decimal string, net of refunds", examples=["310.00"])
    conversion: UpliftOut
    revenue_per_customer: MoneyUpliftOut


def campaign_out(campaign: Campaign, language: str, grace_minutes: int) -> CampaignOut:
    schedule = schedule_of(campaign)
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        status_reason=campaign.status_reason,
        status_detail=_status_detail(campaign, language, grace_minutes),
        segment_id=campaign.segment_id,
        exclude_segment_ids=campaign.exclude_segment_ids,
        messages=campaign.messages,
        default_language=campaign.default_language,
        voucher=campaign.voucher_template,
        control_percent=campaign.control_percent,
        schedule=schedule,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def _status_detail(campaign: Campaign, language: str, grace_minutes: int) -> str | None:
    if campaign.status_reason is None:
        return None
    sentence = translations(language).gettext(texts.STATUS_REASONS[campaign.status_reason])
    return sentence.format(minutes=grace_minutes)


@dataclass(frozen=True)
class Show:
    """How this request shows campaigns: in the caller's language, and missed ones as such."""

    language: str
    grace_minutes: int

    def __call__(self, campaign: Campaign) -> CampaignOut:
        return campaign_out(campaign, self.language, self.grace_minutes)

    async def settle_missed(self) -> None:
        """A one-off past its grace period shows as missed even when no scheduler runs."""
        await mark_missed(utcnow(), timedelta(minutes=self.grace_minutes))


def show(request: Request, language: Language) -> Show:
    return Show(language, request.app.state.settings.campaign_misfire_grace_minutes)


Shown = Annotated[Show, Depends(show)]


def rejected(error: CampaignRejected, language: str) -> ApiError:
    tr = translations(language)
    reason = tr.gettext(texts.CAMPAIGN_PROBLEMS[error.problem])
    detail = error.detail
    if error.problem == CampaignProblem.BAD_VOUCHER and detail in texts.VOUCHER_PROBLEMS:
        detail = tr.gettext(texts.VOUCHER_PROBLEMS[detail])
    return ApiError(
        422,
        "invalid_campaign",
        texts.CAMPAIGN_INVALID,
        language,
        path=error.path,
        reason=reason.format(detail=detail),
        problem=str(error.problem),
    )


async def campaign_or_404(campaign_id: int, language: str) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", texts.CAMPAIGN_NOT_FOUND, language)
    return campaign


@router.post("", response_model=CampaignOut, status_code=201, summary="Create a draft")
async def create(
    body: CampaignBody, key: Marketer, language: Language, request: Request, shown: Shown
):
    data = CampaignIn(
        name=body.name,
        segment_id=body.segment_id,
        messages={k: v.model_dump() for k, v in body.messages.items()},
        default_language=body.default_language,
        schedule=body.schedule.model_dump(exclude_none=True),
        control_percent=body.control_percent,
        exclude_segment_ids=body.exclude_segment_ids,
        voucher=body.voucher,
    )
    settings = request.app.state.settings
    try:
        campaign = await create_campaign(
            data, SUPPORTED_LANGUAGES, settings.default_timezone, utcnow()
        )
    except CampaignRejected as error:
        raise rejected(error, language) from None
    return shown(campaign)


def _changes(body: CampaignPatch) -> dict[str, Any]:
    """The parts given, in CampaignIn's terms; null stands for "unchanged" except voucher."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name != "voucher":
            continue
        if name == "messages":
            value = {k: v.model_dump() for k, v in value.items()}
        elif name == "schedule":
            value = value.model_dump(exclude_none=True)
        changes[name] = value
    return changes


@router.patch(
    "/{campaign_id}", response_model=CampaignOut, summary="Change a draft", responses=CONFLICT
)
async def patch_campaign(
    campaign_id: Id, body: CampaignPatch, key: Marketer, request: Request, shown: Shown
) -> CampaignOut:
    """Only a draft (409 otherwise: clone it and change the copy); the changed campaign is
    checked like a new one and nothing is saved when a part is refused (422)."""
    campaign = await campaign_or_404(campaign_id, shown.language)
    settings = request.app.state.settings
    try:
        campaign = await update_draft(
            campaign, _changes(body), SUPPORTED_LANGUAGES, settings.default_timezone, utcnow()
        )
    except NotADraft as error:
        raise ApiError(
            409,
            "campaign_not_draft",
            texts.CAMPAIGN_NOT_DRAFT,
            shown.language,
            state=translations(shown.language).gettext(texts.CAMPAIGN_STATES[error.status]),
        ) from None
    except CampaignRejected as error:
        raise rejected(error, shown.language) from None
    return shown(campaign)


@router.post(
    "/{campaign_id}/clone", response_model=CampaignOut, status_code=201, summary="Copy as a draft"
)
async def clone(
    campaign_id: Id, key: Marketer, shown: Shown, body: CloneIn | None = None
) -> CampaignOut:
    """A new draft with the same audience, messages, voucher, control share and schedule
    (a campaign in any state, e.g. a missed one to send at a new moment)."""
    campaign = await campaign_or_404(campaign_id, shown.language)
    name = (body.name if body is not None else None) or campaign.name
    if not name.strip() or len(name) > 128:
        raise rejected(CampaignRejected("name", CampaignProblem.REQUIRED), shown.language)
    return shown(await clone_campaign(campaign, name, utcnow()))


@router.get("", response_model=list[CampaignOut], summary="All campaigns")
async def list_campaigns(key: Marketer, shown: Shown) -> list[CampaignOut]:
    await shown.settle_missed()
    return [shown(c) for c in await Campaign.all().order_by("-id")]


@router.get("/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: Id, key: Marketer, shown: Shown) -> CampaignOut:
    await shown.settle_missed()
    return shown(await campaign_or_404(campaign_id, shown.language))


async def _sample_voucher(campaign: Campaign, customer_id: int) -> Voucher | None:
    """An unsaved voucher as the customer would get it, to show in the preview."""
    if campaign.voucher_template is None:
        return None
    spec = voucher_spec(campaign.voucher_template, customer_id, utcnow())
    return Voucher(
        code=new_voucher_code(),
        kind=spec.kind,
        value=spec.value,
        title=spec.title,
        currency=spec.currency,
        free_product_sku=spec.free_product_sku,
        valid_until=spec.valid_until,
    )


@router.post("/{campaign_id}/preview", response_model=PreviewOut, summary="Before scheduling")
async def preview(campaign_id: Id, key: Marketer, language: Language) -> PreviewOut:
    """Audience, control and suppressed counts now, and three messages rendered for real
    recipients (the voucher code in them is an example; each recipient gets their own)."""
    campaign = await campaign_or_404(campaign_id, language)
    plan = await preview_plan(campaign)
    products: dict[int, list[str]] = {}
    wants_products = uses_placeholder(campaign.messages, "products")
    if wants_products:
        await ensure_recommendations(utcnow())
        products = await recommend_for([sample.customer_id for sample in plan.samples])
    samples = []
    for sample in plan.samples:
        voucher = await _sample_voucher(campaign, sample.customer_id)
        values = voucher_placeholders(voucher, sample.language) if voucher else {}
        message = render(
            campaign.messages,
            campaign.default_language,
            Recipient(
                first_name=sample.first_name,
                card_number=sample.card_number,
                language=sample.language,
                products=tuple(products.get(sample.customer_id, ())),
                **values,
            ),
        )
        samples.append(
            SampleOut(
                customer_id=sample.customer_id,
                channel=sample.channel,
                language=message.language,
                text=message.text,
                button=message.button,
                image_url=message.image_url,
            )
        )
    return PreviewOut(
        audience=plan.audience.size,
        treatment=plan.treatment,
        control=plan.control,
        suppressed=plan.audience.suppressed,
        by_channel=plan.by_channel,
        viber_billable=plan.by_channel.get("viber", 0),
        samples=samples,
        warnings=_product_warnings(wants_products, plan.samples, products, language),
    )


def _product_warnings(
    wanted: bool, samples: list, products: dict[int, list[str]], language: str
) -> list[WarningOut]:
    lacking = [s for s in samples if not products.get(s.customer_id)] if wanted else []
    if not lacking:
        return []
    detail = translations(language).gettext(texts.PRODUCTS_MISSING)
    return [
        WarningOut(
            code="products_missing",
            detail=detail.format(count=len(lacking), total=len(samples)),
        )
    ]


@router.post("/{campaign_id}/test-send", status_code=202, summary="Send now to a test segment")
async def test_send(
    campaign_id: Id, body: TestSendIn, key: Marketer, language: Language
) -> dict[str, int]:
    campaign = await campaign_or_404(campaign_id, language)
    if not await Segment.filter(id=body.segment_id).exists():
        raise ApiError(404, "segment_not_found", texts.SEGMENT_NOT_FOUND, language)
    run = await plan_test_run(campaign, body.segment_id, utcnow())
    return {"run_id": run.id, "messages": run.treatment}


async def _move(campaign_id: int, shown: Show, move) -> CampaignOut:
    campaign = await campaign_or_404(campaign_id, shown.language)
    try:
        return shown(await move(campaign, utcnow()))
    except CampaignRejected as error:
        raise rejected(error, shown.language) from None


@router.post("/{campaign_id}/schedule", response_model=CampaignOut, responses=CONFLICT)
async def schedule(campaign_id: Id, key: Marketer, shown: Shown) -> CampaignOut:
    """Draft to scheduled: the scheduler picks it up within seconds."""
    return await _move(campaign_id, shown, schedule_campaign)


@router.post("/{campaign_id}/pause", response_model=CampaignOut, responses=CONFLICT)
async def pause(campaign_id: Id, key: Marketer, shown: Shown) -> CampaignOut:
    """Workers stop sending its messages within seconds; nothing is lost."""
    return await _move(campaign_id, shown, pause_campaign)


@router.post("/{campaign_id}/resume", response_model=CampaignOut, responses=CONFLICT)
async def resume(campaign_id: Id, key: Marketer, shown: Shown) -> CampaignOut:
    return await _move(campaign_id, shown, resume_campaign)


@router.post("/{campaign_id}/cancel", response_model=CampaignOut, responses=CONFLICT)
async def cancel(campaign_id: Id, key: Marketer, shown: Shown) -> CampaignOut:
    """No more runs; messages not yet sent end as skipped (cancelled)."""
    return await _move(campaign_id, shown, cancel_campaign)


def _uplift(uplift: Uplift, language: str) -> UpliftOut:
    return UpliftOut(
        treatment=uplift.treatment,
        control=uplift.control,
        difference=uplift.difference,
        relative=uplift.relative,
        ci95_low=uplift.low,
        ci95_high=uplift.high,
        p_value=uplift.p_value,
        verdict=uplift.verdict,
        says=translations(language)
        .gettext(texts.VERDICTS[uplift.verdict])
        .format(level=format_percent(0.95, locale=language)),
    )


def amount(value: float | Decimal | None) -> str | None:
    """Money as the API writes it everywhere: a decimal string with two places."""
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return str(exact.quantize(CENT, rounding=ROUND_HALF_EVEN))


def _money_uplift(uplift: Uplift, language: str) -> MoneyUpliftOut:
    said = _uplift(uplift, language)
    return MoneyUpliftOut(
        treatment=amount(uplift.treatment) or "0.00",
        control=amount(uplift.control) or "0.00",
        difference=amount(uplift.difference) or "0.00",
        relative=uplift.relative,
        ci95_low=amount(uplift.low),
        ci95_high=amount(uplift.high),
        p_value=uplift.p_value,
        verdict=said.verdict,
        says=said.says,
    )


def results_out(results: Results, language: str) -> ResultsOut:
    return ResultsOut(
        runs=results.runs,
        recipients=results.recipients,
        control=results.control,
        sent=results.states.get("sent", 0),
        delivered=results.delivered,
        seen=results.seen,
        pending=results.states.get("pending", 0) + results.states.get("sending", 0),
        failed=results.failed,
        skipped=results.skipped,
        vouchers_issued=results.vouchers_issued,
        vouchers_redeemed=results.vouchers_redeemed,
        attribution_days=results.attribution_days,
        treatment_customers_who_bought=results.treatment_figures.converted,
        control_customers_who_bought=results.control_figures.converted,
        currency=results.currency,
        treatment_revenue=amount(results.treatment_figures.revenue) or "0.00",
        control_revenue=amount(results.control_figures.revenue) or "0.00",
        conversion=_uplift(results.conversion, language),
        revenue_per_customer=_money_uplift(results.revenue, language),
    )


async def _results(campaign_id: int, run_id: int | None, language: str, request: Request):
    campaign = await campaign_or_404(campaign_id, language)
    if (
        run_id is not None
        and not await CampaignRun.filter(id=run_id, campaign_id=campaign.id).exists()
    ):
        raise ApiError(404, "run_not_found", texts.RUN_NOT_FOUND, language)
    days = request.app.state.settings.attribution_days
    return results_out(await campaign_results(campaign.id, utcnow(), days, run_id), language)


@router.get("/{campaign_id}/results", response_model=ResultsOut, summary="Uplift and more")
async def results(campaign_id: Id, key: Marketer, language: Language, request: Request):
    """Treatment against control over all runs (test sends excluded), intention to treat."""
    return await _results(campaign_id, None, language, request)


@router.get("/{campaign_id}/runs/{run_id}/results", response_model=ResultsOut)
async def run_results(
    campaign_id: Id, run_id: BigId, key: Marketer, language: Language, request: Request
):
    return await _results(campaign_id, run_id, language, request)


@router.get(
    "/{campaign_id}/results.csv",
    summary="Results as CSV (figure, value)",
    responses=files("text/csv; charset=utf-8", description="figure,value rows"),
)
async def results_csv(
    campaign_id: Id, key: Marketer, language: Language, request: Request
) -> Response:
    figures = (await _results(campaign_id, None, language, request)).model_dump()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    for name, value in _flatten(figures):
        writer.writerow([name, value])
    name = f"campaign-{campaign_id}-results-{secrets.token_hex(2)}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Rows as the JSON has them: amounts are already decimal strings; shares and p-values
    keep six significant digits (a spreadsheet needs no 17)."""
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            rows.append((f"{prefix}{key}", f"{value:.6g}"))
        else:
            rows.append((f"{prefix}{key}", "" if value is None else value))
    return rows
