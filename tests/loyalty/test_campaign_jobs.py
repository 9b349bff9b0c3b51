"""Campaign schedules live in APScheduler's job store in the main database: a restarted
scheduler still knows them, a firing missed while it was down runs once when it is back, and
the message reaches the customer's chat."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from channels.campaign_worker import DeliveryWorker, WorkerPolicy
from crm_core.campaigns.models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    MessageState,
    OutboxMessage,
)
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.campaigns.service import CampaignIn, create_campaign, schedule_campaign
from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity
from crm_core.segments.models import SegmentKind
from crm_core.segments.service import create_segment
from crm_core.sql import Params, dialect_of, fetch
from crm_core.staff.models import Role
from loyalty.campaign_jobs import (
    STORE,
    campaign_job_store,
    fire_campaign,
    job_id,
    keep_jobs_in_step,
)
from loyalty.delivery import campaign_sender
from tests.support.customers import new_customer
from tests.support.segments import city_segment
from tests.support.staff import bearer, new_key

pytestmark = pytest.mark.db


async def scheduled_campaign(schedule: dict) -> Campaign:
    city = f"Jobs-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        utcnow(),
    )
    campaign = await create_campaign(
        CampaignIn(
            name="Jobs",
            segment_id=segment.id,
            messages={"uk": {"text": "Привіт"}},
            default_language="uk",
            schedule=schedule,
            control_percent=0,
        ),
        ("uk",),
        "Europe/Kyiv",
        utcnow(),
    )
    return await schedule_campaign(campaign, utcnow())


def scheduler(stack) -> AsyncIOScheduler:
    jobs = AsyncIOScheduler(timezone="UTC")
    jobs.add_jobstore(campaign_job_store(stack.database_url), alias=STORE)
    return jobs


async def test_a_schedule_survives_a_restart_and_a_missed_firing_runs_once(stack):
    fire_at = utcnow() + timedelta(seconds=2)
    campaign = await scheduled_campaign({"kind": "once", "at": fire_at.isoformat()})

    first = scheduler(stack)
    first.start(paused=True)  # it stores the job but, however slow the machine, fires nothing
    await keep_jobs_in_step(first)
    params = Params(dialect_of())
    stored = await fetch(
        f"SELECT id FROM apscheduler_jobs WHERE id = {params(job_id(campaign.id))}",
        params.values,
    )
    assert len(stored) == 1  # the job is in the main database
    first.shutdown(wait=False)  # the scheduler goes down before the campaign's moment

    await asyncio.sleep(max(0.0, (fire_at - utcnow()).total_seconds()) + 0.5)
    assert not await CampaignRun.filter(campaign_id=campaign.id).exists()

    second = scheduler(stack)  # back after the moment: the stored job is overdue
    second.start()
    try:
        for _ in range(600):
            if await CampaignRun.filter(campaign_id=campaign.id).exists():
                break
            await asyncio.sleep(0.1)
        await keep_jobs_in_step(second)  # a one-off that ran gets no job again
        await asyncio.sleep(0.3)
    finally:
        second.shutdown(wait=False)
    runs = await CampaignRun.filter(campaign_id=campaign.id)
    assert len(runs) == 1 and runs[0].fire_time == fire_at
    assert await OutboxMessage.filter(run_id=runs[0].id).count() == 1
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.RUNNING
    assert second.get_job(job_id(campaign.id), jobstore=STORE) is None

    # ...and on to the customer's chat: the worker delivers, the campaign is then done.
    kyiv = utcnow().astimezone(ZoneInfo("Europe/Kyiv"))
    awake = QuietHours((kyiv + timedelta(hours=2)).time(), (kyiv + timedelta(hours=3)).time())
    async with campaign_sender(stack.settings) as sender:
        worker = DeliveryWorker(sender, WorkerPolicy(quiet_hours=awake), utcnow, "jobs-test")
        while await worker.run_once():
            pass
    message = await OutboxMessage.get(run_id=runs[0].id)
    assert message.state == MessageState.SENT
    chat = (await ChannelIdentity.get(id=message.identity_id)).chat_id
    assert [c.params["text"] for c in stack.telegram.calls_to("sendMessage", chat)] == ["Привіт"]
    third = scheduler(stack)
    third.start(paused=True)
    try:
        await keep_jobs_in_step(third)
    finally:
        third.shutdown(wait=False)
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.DONE


async def test_a_recurring_campaign_keeps_one_job_and_pausing_removes_it(stack):
    campaign = await scheduled_campaign({"kind": "recurring", "cron": "0 10 * * mon"})
    jobs = scheduler(stack)
    jobs.start(paused=True)
    try:
        await keep_jobs_in_step(jobs)
        await keep_jobs_in_step(jobs)
        job = jobs.get_job(job_id(campaign.id), jobstore=STORE)
        assert job is not None
        # Monday 10:00 is first reached at UTC+14: Sunday 20:00 UTC.
        first = job.next_run_time.astimezone(UTC)
        assert (first.weekday(), first.hour, first.minute) == (6, 20, 0)
        campaign.status = CampaignStatus.PAUSED
        await campaign.save(update_fields=["status"])
        await keep_jobs_in_step(jobs)
        assert jobs.get_job(job_id(campaign.id), jobstore=STORE) is None
    finally:
        jobs.shutdown(wait=False)


async def test_a_test_send_does_not_stop_a_one_off_campaign_from_firing(stack):
    """The scheduler once took the test run for the real one: the campaign got no job and
    stayed scheduled for ever with no run (issue 13.4)."""
    marketer = bearer(await new_key(Role.MARKETER))
    city = f"Jobs-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    team_city = f"Team-{secrets.token_hex(4)}"
    await new_customer("Tester", city=team_city)
    segments = [
        (await city_segment(stack.client, marketer, name))["id"] for name in (city, team_city)
    ]
    fire_at = utcnow() + timedelta(seconds=1)
    created = await stack.client.post(
        "/api/v1/campaigns",
        json={
            "name": "Tested first",
            "segment_id": segments[0],
            "messages": {"uk": {"text": "Привіт"}},
            "default_language": "uk",
            "schedule": {"kind": "once", "at": fire_at.isoformat()},
            "control_percent": 0,
        },
        headers=marketer,
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    tested = await stack.client.post(
        f"/api/v1/campaigns/{campaign_id}/test-send",
        json={"segment_id": segments[1]},
        headers=marketer,
    )
    assert tested.status_code == 202 and tested.json()["messages"] == 1
    scheduled = await stack.client.post(
        f"/api/v1/campaigns/{campaign_id}/schedule", headers=marketer
    )
    assert scheduled.json()["status"] == "scheduled"

    jobs = scheduler(stack)
    jobs.start(paused=True)  # nothing fires before the job is seen, however slow the machine
    try:
        await keep_jobs_in_step(jobs)
        assert jobs.get_job(job_id(campaign_id), jobstore=STORE) is not None
        jobs.resume()
        for _ in range(600):  # the stored job fires fire_campaign at the campaign's moment
            if await CampaignRun.filter(campaign_id=campaign_id, status="planned").exists():
                break
            await asyncio.sleep(0.1)
    finally:
        jobs.shutdown(wait=False)
    real = await CampaignRun.filter(campaign_id=campaign_id, status="planned")
    assert len(real) == 1 and real[0].fire_time == fire_at and real[0].treatment == 1
    shown = await stack.client.get(f"/api/v1/campaigns/{campaign_id}", headers=marketer)
    assert shown.json()["status"] == "running"


async def test_a_one_off_missed_beyond_the_grace_period_is_missed_with_the_reason(stack):
    """Its moment passed while no scheduler ran: it is never sent late, and the API says so
    in the caller's language instead of "scheduled" for ever (issue 13.5)."""
    marketer = bearer(await new_key(Role.MARKETER))
    shown, fired = [], []
    for _ in range(2):
        campaign = await scheduled_campaign(
            {"kind": "once", "at": (utcnow() + timedelta(minutes=5)).isoformat()}
        )
        # Seven hours later, nothing ran (the grace period is 360 minutes).
        campaign.run_at = utcnow() - timedelta(hours=7)
        await campaign.save(update_fields=["run_at"])
        (fired if shown else shown).append(campaign.id)

    answer = await stack.client.get(
        f"/api/v1/campaigns/{shown[0]}", headers={**marketer, "Accept-Language": "en"}
    )
    assert answer.status_code == 200
    seen = answer.json()
    assert (seen["status"], seen["status_reason"]) == ("missed", "not_run_in_grace")
    assert "within 360 minutes" in seen["status_detail"]
    listed = await stack.client.get(
        "/api/v1/campaigns", headers={**marketer, "Accept-Language": "uk"}
    )
    mine = next(c for c in listed.json() if c["id"] == shown[0])
    assert mine["status"] == "missed" and "360" in mine["status_detail"]
    assert not await CampaignRun.filter(campaign_id=shown[0]).exists()

    # The scheduler's own job, fired late by a scheduler that was down, says the same.
    await fire_campaign(fired[0])
    stored = await Campaign.get(id=fired[0])
    assert (stored.status, stored.status_reason) == ("missed", "not_run_in_grace")
    assert not await CampaignRun.filter(campaign_id=fired[0]).exists()


async def test_the_scheduler_marks_a_missed_one_off_and_gives_it_no_job(stack):
    campaign = await scheduled_campaign(
        {"kind": "once", "at": (utcnow() + timedelta(minutes=5)).isoformat()}
    )
    recurring = await scheduled_campaign({"kind": "recurring", "cron": "0 10 * * mon"})
    campaign.run_at = utcnow() - timedelta(hours=7)
    await campaign.save(update_fields=["run_at"])
    jobs = scheduler(stack)
    jobs.start(paused=True)
    try:
        await keep_jobs_in_step(jobs)
        assert jobs.get_job(job_id(campaign.id), jobstore=STORE) is None
        assert jobs.get_job(job_id(recurring.id), jobstore=STORE) is not None
    finally:
        jobs.shutdown(wait=False)
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.MISSED
    assert (await Campaign.get(id=recurring.id)).status == CampaignStatus.SCHEDULED


async def test_a_draft_whose_moment_has_passed_cannot_be_scheduled(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    city = f"Late-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        utcnow(),
    )
    draft = await create_campaign(
        CampaignIn(
            name="Late",
            segment_id=segment.id,
            messages={"uk": {"text": "Привіт"}},
            default_language="uk",
            schedule={"kind": "once", "at": (utcnow() + timedelta(minutes=5)).isoformat()},
        ),
        ("uk",),
        "Europe/Kyiv",
        utcnow(),
    )
    draft.run_at = utcnow() - timedelta(minutes=30)  # saved yesterday for half an hour ago
    await draft.save(update_fields=["run_at"])
    answer = await stack.client.post(
        f"/api/v1/campaigns/{draft.id}/schedule", headers={**marketer, "Accept-Language": "en"}
    )
    assert answer.status_code == 422
    assert (answer.json()["path"], answer.json()["problem"]) == ("schedule.at", "in_the_past")
    assert (await Campaign.get(id=draft.id)).status == CampaignStatus.DRAFT
