"""A campaign is checked whole before anything is saved: each bad part named with a reason."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from crm_core.campaigns.models import Campaign, CampaignStatus
from crm_core.campaigns.service import (
    CampaignIn,
    CampaignRejected,
    Problem,
    create_campaign,
    placeholders_of,
    schedule_campaign,
)
from crm_core.clock import utcnow
from crm_core.segments.models import SegmentKind
from crm_core.segments.service import create_segment
from tests.support.customers import new_customer

LANGUAGES = ("uk", "en", "pl", "cs", "ru")
pytestmark = pytest.mark.db


@pytest.fixture
async def audience(stack):
    city = f"Camp-{secrets.token_hex(4)}"
    await new_customer("Ira", city=city)
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        utcnow(),
    )
    return segment


def campaign(audience_id: int, **changes) -> CampaignIn:
    base = {
        "name": "Weekly offer",
        "segment_id": audience_id,
        "messages": {
            "uk": {"text": "Привіт, {first_name}! Радимо: {products}. Код {voucher_code}"},
            "en": {"text": "Hi {first_name}! Try {products}. Code {voucher_code}"},
        },
        "default_language": "uk",
        "schedule": {"kind": "recurring", "cron": "0 10 * * mon"},
        "voucher": {"kind": "percent", "value": "10", "valid_days": 14, "title": "-10%"},
    }
    return CampaignIn(**{**base, **changes})


async def refused(data: CampaignIn) -> CampaignRejected:
    before = await Campaign.all().count()
    with pytest.raises(CampaignRejected) as caught:
        await create_campaign(data, LANGUAGES, "Europe/Kyiv", utcnow())
    assert await Campaign.all().count() == before  # nothing saved
    return caught.value


async def test_a_good_campaign_is_saved_as_a_draft(audience):
    saved = await create_campaign(campaign(audience.id), LANGUAGES, "Europe/Kyiv", utcnow())
    assert saved.status == CampaignStatus.DRAFT
    assert saved.cron == "0 10 * * mon"
    assert saved.control_percent == 10
    assert saved.split_multiplier % 2 == 1
    scheduled = await schedule_campaign(saved, utcnow())
    assert scheduled.status == CampaignStatus.SCHEDULED


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"messages": {"uk": {"text": "Hi {nickname}"}}}, "messages.uk.text",
         Problem.UNKNOWN_PLACEHOLDER),
        ({"messages": {"uk": {"text": "Hi {first_name!r}"}}}, "messages.uk.text",
         Problem.BROKEN_TEMPLATE),
        ({"messages": {"uk": {"text": "Hi {first_name"}}}, "messages.uk.text",
         Problem.BROKEN_TEMPLATE),
        ({"messages": {"uk": {"text": "Hi {first_name.__class__}"}}}, "messages.uk.text",
         Problem.BROKEN_TEMPLATE),
        ({"messages": {"uk": {"text": "  "}}}, "messages.uk.text", Problem.REQUIRED),
        ({"messages": {"de": {"text": "Hallo"}}}, "messages.de", Problem.UNKNOWN_LANGUAGE),
        ({"messages": {"en": {"text": "Hi"}}}, "default_language", Problem.NO_DEFAULT_MESSAGE),
        ({"messages": {"uk": {"text": "Hi", "image_url": "javascript:alert(1)"}}},
         "messages.uk.image_url", Problem.BAD_URL),
        ({"messages": {"uk": {"text": "x" * 1001}}}, "messages.uk.text", Problem.TOO_LONG),
        ({"control_percent": 51}, "control_percent", Problem.CONTROL_OUT_OF_RANGE),
        ({"control_percent": -1}, "control_percent", Problem.CONTROL_OUT_OF_RANGE),
        ({"schedule": {"kind": "recurring", "cron": "0 0 30 2 *"}}, "schedule.cron",
         Problem.CRON_NEVER_FIRES),
        ({"schedule": {"kind": "recurring", "cron": "61 * * * *"}}, "schedule.cron",
         Problem.BAD_CRON),
        ({"schedule": {"kind": "sometimes"}}, "schedule.kind", Problem.BAD_SCHEDULE),
        ({"schedule": {"kind": "once", "at": "2020-01-01T10:00:00+00:00"}}, "schedule.at",
         Problem.IN_THE_PAST),
        ({"schedule": {"kind": "once", "at": "2030-01-01T10:00:00"}}, "schedule.at",
         Problem.BAD_SCHEDULE),
        ({"voucher": {"kind": "percent", "value": "150", "title": "x"}}, "voucher.value",
         Problem.BAD_VOUCHER),
        ({"voucher": {"kind": "fixed_amount", "value": "50", "title": "x"}}, "voucher.currency",
         Problem.BAD_VOUCHER),  # an amount without a currency cannot be honoured
        ({"voucher": {"kind": "percent", "value": "10", "title": "x", "valid_days": 0}},
         "voucher.valid_days", Problem.BAD_VOUCHER),
        ({"voucher": {"kind": "magic", "value": "10", "title": "x"}}, "voucher",
         Problem.BAD_VOUCHER),
        ({"voucher": None}, "messages.uk.text", Problem.VOUCHER_PLACEHOLDER_WITHOUT_VOUCHER),
        ({"segment_id": 10**9}, "segment_id", Problem.UNKNOWN_SEGMENT),
        ({"exclude_segment_ids": [10**9]}, "exclude_segment_ids[0]", Problem.UNKNOWN_SEGMENT),
        ({"name": " "}, "name", Problem.REQUIRED),
    ],
)  # fmt: skip
async def test_a_bad_part_is_refused_with_its_path_and_reason(audience, changes, path, problem):
    rejection = await refused(campaign(audience.id, **changes))
    assert (rejection.path, rejection.problem) == (path, problem)


async def test_an_audience_nobody_can_receive_cannot_be_scheduled(stack):
    city = f"Empty-{secrets.token_hex(4)}"
    await new_customer("Taras", city=city, consent=False)
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        utcnow(),
    )
    saved = await create_campaign(campaign(segment.id), LANGUAGES, "Europe/Kyiv", utcnow())
    with pytest.raises(CampaignRejected) as caught:
        await schedule_campaign(saved, utcnow())
    assert caught.value.problem is Problem.EMPTY_AUDIENCE
    assert (await Campaign.get(id=saved.id)).status == CampaignStatus.DRAFT


def test_placeholders_are_read_from_the_template():
    assert placeholders_of("{first_name}, {{literal}} {products}", "t") == {
        "first_name",
        "products",
    }


async def test_a_one_off_in_the_future_is_accepted(audience):
    at = (utcnow() + timedelta(days=2)).isoformat()
    saved = await create_campaign(
        campaign(audience.id, schedule={"kind": "once", "at": at}),
        LANGUAGES,
        "Europe/Kyiv",
        utcnow(),
    )
    assert saved.schedule_kind == "once"
    assert saved.run_at is not None
