"""Creating campaigns: every part checked before anything is saved or scheduled.

A bad template, a schedule that never fires, a control share outside 0-50 %, a voucher that
cannot be honoured or an empty audience is refused with the path of the bad part and a reason
code the API turns into a sentence; nothing is stored then.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from crm_core.campaigns.models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    MessageState,
    OutboxMessage,
    RunStatus,
    StatusReason,
)
from crm_core.campaigns.outbox import cancel_pending
from crm_core.campaigns.planning import SplitHash, measure_audience, plan_run
from crm_core.campaigns.render import without_products
from crm_core.campaigns.schedule import ONCE, cron_trigger
from crm_core.segments.models import Segment
from crm_core.sql import Params, dialect_of, fetch
from crm_core.vouchers.models import VoucherKind
from crm_core.vouchers.service import InvalidVoucherSpec, VoucherSpec, check_voucher_spec

PLACEHOLDERS = frozenset({"first_name", "card_number", "products"})
VOUCHER_PLACEHOLDERS = frozenset(
    {"voucher_code", "voucher_value", "voucher_title", "voucher_expires"}
)
MAX_CONTROL_PERCENT = 50
MAX_TEXT = 1000  # Viber's and Telegram's captions are the tightest limit a campaign meets
MAX_VALIDITY_DAYS = 366
# Details of Problem.BAD_VOUCHER besides the voucher's own SpecProblem codes.
UNREADABLE_VOUCHER = "unreadable"
VALIDITY_OUT_OF_RANGE = "validity_out_of_range"


class Problem(StrEnum):
    REQUIRED = "required"
    UNKNOWN_SEGMENT = "unknown_segment"
    UNKNOWN_LANGUAGE = "unknown_language"
    NO_DEFAULT_MESSAGE = "no_default_message"
    UNKNOWN_PLACEHOLDER = "unknown_placeholder"
    BROKEN_TEMPLATE = "broken_template"
    VOUCHER_PLACEHOLDER_WITHOUT_VOUCHER = "voucher_placeholder_without_voucher"
    TOO_LONG = "too_long"
    BAD_URL = "bad_url"
    CONTROL_OUT_OF_RANGE = "control_out_of_range"
    BAD_SCHEDULE = "bad_schedule"
    BAD_CRON = "bad_cron"
    CRON_NEVER_FIRES = "cron_never_fires"
    IN_THE_PAST = "in_the_past"
    BAD_VOUCHER = "bad_voucher"
    EMPTY_AUDIENCE = "empty_audience"
    NOT_NOW = "not_in_this_state"
    ONLY_PRODUCTS = "only_products"


class CampaignRejected(ValueError):
    def __init__(self, path: str, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{path}: {problem}{' (' + detail + ')' if detail else ''}")
        self.path, self.problem, self.detail = path, problem, detail


@dataclass(frozen=True)
class CampaignIn:
    name: str
    segment_id: int
    messages: dict[str, dict[str, Any]]
    default_language: str
    schedule: dict[str, Any]
    control_percent: int = 10
    exclude_segment_ids: list[int] = field(default_factory=list)
    voucher: dict[str, Any] | None = None


def broken_fragment(template: str) -> str:
    """The text from the first brace that pairs with nothing (Python's own reason is English)."""
    at = 0
    while at < len(template):
        pair = template[at : at + 2]
        if pair in ("{{", "}}"):
            at += 2
            continue
        if template[at] == "}":
            break
        if template[at] == "{":
            close = template.find("}", at)
            if close < 0 or "{" in template[at + 1 : close]:
                break
            at = close
        at += 1
    return template[at : at + 20] if at < len(template) else template[-20:]


def placeholders_of(template: str, path: str) -> set[str]:
    """The `{names}` a template uses; format specs and attribute access are not allowed."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        raise CampaignRejected(path, Problem.BROKEN_TEMPLATE, broken_fragment(template)) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise CampaignRejected(path, Problem.BROKEN_TEMPLATE, name)
        names.add(name)
    return names


def _check_messages(data: CampaignIn, languages: tuple[str, ...], has_voucher: bool) -> None:
    if not data.messages:
        raise CampaignRejected("messages", Problem.REQUIRED)
    for language, message in data.messages.items():
        path = f"messages.{language}"
        if language not in languages:
            raise CampaignRejected(path, Problem.UNKNOWN_LANGUAGE, ", ".join(languages))
        if not isinstance(message, dict) or not str(message.get("text") or "").strip():
            raise CampaignRejected(f"{path}.text", Problem.REQUIRED)
        text = str(message["text"])
        if len(text) > MAX_TEXT:
            raise CampaignRejected(f"{path}.text", Problem.TOO_LONG, str(MAX_TEXT))
        used = placeholders_of(text, f"{path}.text")
        unknown = used - PLACEHOLDERS - VOUCHER_PLACEHOLDERS
        if unknown:
            raise CampaignRejected(
                f"{path}.text", Problem.UNKNOWN_PLACEHOLDER, ", ".join(sorted(unknown))
            )
        if used & VOUCHER_PLACEHOLDERS and not has_voucher:
            raise CampaignRejected(f"{path}.text", Problem.VOUCHER_PLACEHOLDER_WITHOUT_VOUCHER)
        if not without_products(text).strip():
            # a customer with nothing to recommend gets the text without it: nothing
            raise CampaignRejected(f"{path}.text", Problem.ONLY_PRODUCTS)
        image = message.get("image_url")
        if image is not None:
            parsed = urlparse(str(image))
            if parsed.scheme != "https" or not parsed.netloc:
                raise CampaignRejected(f"{path}.image_url", Problem.BAD_URL)
    if data.default_language not in data.messages:
        raise CampaignRejected("default_language", Problem.NO_DEFAULT_MESSAGE)


def check_schedule(schedule: dict[str, Any], timezone: str, now: datetime) -> datetime:
    """The first fire time of a one-off or recurring schedule; refused when there is none."""
    kind = schedule.get("kind")
    if kind == "once":
        raw = schedule.get("at")
        try:
            at = datetime.fromisoformat(str(raw))
        except ValueError:
            raise CampaignRejected("schedule.at", Problem.BAD_SCHEDULE, str(raw)) from None
        if at.tzinfo is None:
            raise CampaignRejected("schedule.at", Problem.BAD_SCHEDULE, str(raw))
        if not 1970 < at.year < 3000:  # year 9999 would overflow on its way to UTC
            raise CampaignRejected("schedule.at", Problem.BAD_SCHEDULE, str(raw))
        if at < now - timedelta(minutes=1):
            raise CampaignRejected("schedule.at", Problem.IN_THE_PAST)
        return at
    if kind == "recurring":
        expression = str(schedule.get("cron") or "")
        try:
            trigger = cron_trigger(expression)
        except ValueError:
            raise CampaignRejected("schedule.cron", Problem.BAD_CRON, expression) from None
        first = trigger.get_next_fire_time(None, now)
        if first is None:
            raise CampaignRejected("schedule.cron", Problem.CRON_NEVER_FIRES, expression)
        return first
    raise CampaignRejected("schedule.kind", Problem.BAD_SCHEDULE, "once, recurring")


def voucher_spec(template: dict[str, Any], customer_id: int, now: datetime) -> VoucherSpec:
    """The voucher one recipient gets from the campaign's template."""
    try:
        kind = VoucherKind(template.get("kind"))
        value = Decimal(str(template.get("value", "0")))
        days = int(template.get("valid_days", 14))
        min_basket = template.get("min_basket")
    except (ValueError, InvalidOperation):
        raise CampaignRejected("voucher", Problem.BAD_VOUCHER, UNREADABLE_VOUCHER) from None
    if not 1 <= days <= MAX_VALIDITY_DAYS:
        raise CampaignRejected("voucher.valid_days", Problem.BAD_VOUCHER, VALIDITY_OUT_OF_RANGE)
    try:
        return VoucherSpec(
            kind=kind,
            value=value,
            title=str(template.get("title") or "").strip()[:128],
            valid_from=now,
            valid_until=now + timedelta(days=days),
            currency=template.get("currency"),
            min_basket=Decimal(str(min_basket)) if min_basket is not None else None,
            allowed_categories=tuple(template.get("allowed_categories") or ()),
            excluded_categories=tuple(template.get("excluded_categories") or ()),
            free_product_sku=template.get("free_product_sku"),
            customer_id=customer_id,
        )
    except (ValueError, InvalidOperation):
        raise CampaignRejected("voucher", Problem.BAD_VOUCHER, UNREADABLE_VOUCHER) from None


def check_voucher(template: dict[str, Any], now: datetime) -> None:
    spec = voucher_spec(template, 0, now)
    if not spec.title:
        raise CampaignRejected("voucher.title", Problem.REQUIRED)
    try:
        check_voucher_spec(spec)
    except InvalidVoucherSpec as error:
        path = f"voucher.{error.field}".replace("valid_until", "valid_days")
        raise CampaignRejected(path, Problem.BAD_VOUCHER, error.problem.value) from None


async def check_campaign(
    data: CampaignIn, languages: tuple[str, ...], timezone: str, now: datetime
) -> datetime:
    """Everything about a campaign that can be judged before it runs; its first fire time."""
    if not data.name.strip() or len(data.name) > 128:
        raise CampaignRejected("name", Problem.REQUIRED)
    segments = {data.segment_id, *data.exclude_segment_ids}
    found = set(await Segment.filter(id__in=segments).values_list("id", flat=True))
    if data.segment_id not in found:
        raise CampaignRejected("segment_id", Problem.UNKNOWN_SEGMENT, str(data.segment_id))
    for index, excluded in enumerate(data.exclude_segment_ids):
        if excluded not in found:
            raise CampaignRejected(
                f"exclude_segment_ids[{index}]", Problem.UNKNOWN_SEGMENT, str(excluded)
            )
    if not isinstance(data.control_percent, int) or not (
        0 <= data.control_percent <= MAX_CONTROL_PERCENT
    ):
        raise CampaignRejected("control_percent", Problem.CONTROL_OUT_OF_RANGE, "0-50")
    if data.voucher is not None:
        check_voucher(data.voucher, now)
    _check_messages(data, languages, data.voucher is not None)
    return check_schedule(data.schedule, timezone, now)


def _columns(data: CampaignIn) -> dict[str, Any]:
    """The stored form of a checked campaign definition."""
    once = data.schedule["kind"] == ONCE
    return {
        "name": data.name.strip(),
        "segment_id": data.segment_id,
        "exclude_segment_ids": list(data.exclude_segment_ids),
        "messages": data.messages,
        "default_language": data.default_language,
        "voucher_template": data.voucher,
        "control_percent": data.control_percent,
        "schedule_kind": data.schedule["kind"],
        "run_at": datetime.fromisoformat(data.schedule["at"]) if once else None,
        "cron": None if once else data.schedule.get("cron"),
    }


def schedule_of(campaign: Campaign) -> dict[str, Any]:
    """A stored campaign's schedule in the shape the API takes and shows."""
    schedule: dict[str, Any] = {"kind": campaign.schedule_kind}
    if campaign.run_at is not None:
        schedule["at"] = campaign.run_at.isoformat()
    if campaign.cron is not None:
        schedule["cron"] = campaign.cron
    return schedule


def definition_of(campaign: Campaign) -> CampaignIn:
    """A stored campaign as the definition it was created from."""
    schedule = schedule_of(campaign)
    return CampaignIn(
        name=campaign.name,
        segment_id=campaign.segment_id,
        messages=campaign.messages,
        default_language=campaign.default_language,
        schedule=schedule,
        control_percent=campaign.control_percent,
        exclude_segment_ids=list(campaign.exclude_segment_ids),
        voucher=campaign.voucher_template,
    )


async def create_campaign(
    data: CampaignIn, languages: tuple[str, ...], timezone: str, now: datetime
) -> Campaign:
    """A checked draft; `schedule_campaign` makes it scheduled."""
    await check_campaign(data, languages, timezone, now)
    split = SplitHash.for_campaign(secrets.token_hex(16))
    return await Campaign.create(
        **_columns(data),
        status=CampaignStatus.DRAFT,
        split_multiplier=split.multiplier,
        split_offset=split.offset,
        created_at=now,
        updated_at=now,
    )


class NotADraft(ValueError):
    """Only a draft can be changed: what was scheduled or sent stays as it was, so its runs
    and results keep meaning what they said. A copy (`clone_campaign`) can be changed."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def update_draft(
    campaign: Campaign,
    changes: dict[str, Any],
    languages: tuple[str, ...],
    timezone: str,
    now: datetime,
) -> Campaign:
    """Change parts of a draft (CampaignIn's field names); the result is checked as a new
    campaign would be, and nothing is saved when any part is refused."""
    if campaign.status != CampaignStatus.DRAFT:
        raise NotADraft(campaign.status)
    data = replace(definition_of(campaign), **changes)
    await check_campaign(data, languages, timezone, now)
    columns = _columns(data)
    # Conditional, so a draft scheduled meanwhile by another request stays as scheduled.
    if not await Campaign.filter(id=campaign.id, status=CampaignStatus.DRAFT).update(
        **columns, updated_at=now
    ):
        current = await Campaign.get_or_none(id=campaign.id)
        raise NotADraft(current.status if current else CampaignStatus.CANCELLED)
    return await Campaign.get(id=campaign.id)


async def clone_campaign(campaign: Campaign, name: str, now: datetime) -> Campaign:
    """A new draft with the campaign's definition (any state) and its own control split;
    not checked here, so a copy of a missed campaign can get a new moment before scheduling,
    which checks it."""
    data = replace(definition_of(campaign), name=name)
    split = SplitHash.for_campaign(secrets.token_hex(16))
    return await Campaign.create(
        **_columns(data),
        status=CampaignStatus.DRAFT,
        split_multiplier=split.multiplier,
        split_offset=split.offset,
        created_at=now,
        updated_at=now,
    )


async def schedule_campaign(campaign: Campaign, now: datetime) -> Campaign:
    """Draft -> scheduled, refused when nobody in the audience could receive it or when a
    one-off's moment has passed since the draft was saved (it would go out late)."""
    _allowed(campaign, "schedule")
    if (
        campaign.schedule_kind == ONCE
        and campaign.run_at is not None
        and campaign.run_at < now - timedelta(minutes=1)
    ):
        raise CampaignRejected("schedule.at", Problem.IN_THE_PAST)
    audience = await measure_audience(campaign)
    if audience.eligible <= 0:
        raise CampaignRejected("segment_id", Problem.EMPTY_AUDIENCE)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.updated_at = now
    await campaign.save(update_fields=["status", "updated_at"])
    return campaign


_MOVES: dict[str, tuple[CampaignStatus, ...]] = {
    "schedule": (CampaignStatus.DRAFT,),
    "pause": (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING),
    "resume": (CampaignStatus.PAUSED,),
    "cancel": (
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULED,
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
    ),
}


def _allowed(campaign: Campaign, move: str) -> None:
    if campaign.status not in _MOVES[move]:
        raise CampaignRejected("status", Problem.NOT_NOW, campaign.status)


async def _set_status(campaign: Campaign, status: CampaignStatus, now: datetime) -> Campaign:
    campaign.status = status
    campaign.updated_at = now
    await campaign.save(update_fields=["status", "updated_at"])
    return campaign


async def pause_campaign(campaign: Campaign, now: datetime) -> Campaign:
    """Workers stop claiming its messages at once; claimed ones go back to the queue."""
    _allowed(campaign, "pause")
    return await _set_status(campaign, CampaignStatus.PAUSED, now)


async def resume_campaign(campaign: Campaign, now: datetime) -> Campaign:
    _allowed(campaign, "resume")
    busy = await _has_unsent(campaign.id)
    return await _set_status(
        campaign, CampaignStatus.RUNNING if busy else CampaignStatus.SCHEDULED, now
    )


async def _has_unsent(campaign_id: int) -> bool:
    """Messages of the campaign's real runs still to send (a test send's do not count)."""
    return (
        await OutboxMessage.filter(
            run__campaign_id=campaign_id,
            state__in=[MessageState.PENDING, MessageState.SENDING],
        )
        .exclude(run__status=RunStatus.TEST)
        .exists()
    )


async def cancel_campaign(campaign: Campaign, now: datetime) -> Campaign:
    """No further runs; its unsent messages end as skipped (cancelled)."""
    _allowed(campaign, "cancel")
    await _set_status(campaign, CampaignStatus.CANCELLED, now)
    await cancel_pending(campaign.id, now)
    return campaign


async def start_run(campaign: Campaign, fire_time: datetime, now: datetime) -> CampaignRun:
    """Plan the run for this firing and let the workers at it."""
    run = await plan_run(campaign, fire_time, now)
    if campaign.status == CampaignStatus.SCHEDULED:
        await _set_status(campaign, CampaignStatus.RUNNING, now)
    return run


async def settle_campaigns(now: datetime) -> int:
    """Running campaigns with nothing left to send: a one-off is done, a recurring one waits
    for its next firing."""
    settled = 0
    for campaign in await Campaign.filter(status=CampaignStatus.RUNNING):
        if await _has_unsent(campaign.id):
            continue
        done = campaign.schedule_kind == ONCE
        await _set_status(campaign, CampaignStatus.DONE if done else CampaignStatus.SCHEDULED, now)
        settled += 1
    return settled


async def mark_missed(now: datetime, grace: timedelta) -> list[int]:
    """Scheduled one-off campaigns whose moment is more than `grace` past with no run of
    their own (a test send is not one) become missed, with the reason: they are never sent
    late, and the marketer sees that instead of a campaign "scheduled" for ever.

    One statement, so a run being planned at the same moment either exists (the campaign is
    left alone) or is planned for a campaign that no longer sends.
    """
    params = Params(dialect_of())
    rows = await fetch(
        f"UPDATE campaigns SET status = {params(CampaignStatus.MISSED.value)}, "
        f"status_reason = {params(StatusReason.NOT_RUN_IN_GRACE.value)}, "
        f"updated_at = {params(now)} "
        f"WHERE status = {params(CampaignStatus.SCHEDULED.value)} "
        f"AND schedule_kind = {params(ONCE)} AND run_at < {params(now - grace)} "
        "AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = campaigns.id "
        f"AND r.status <> {params(RunStatus.TEST.value)}) RETURNING id",
        params.values,
    )
    return sorted(row["id"] for row in rows)
