"""Campaign schedules in APScheduler with its job store in the main database.

The campaigns table says what should be scheduled; the scheduler process (run one) keeps a
job per scheduled campaign in the persistent store, so a restart or a redeploy loses no
schedule and knows what it missed. Misfire policy: a firing missed while the scheduler was
down runs once when it is back (missed firings coalesce), if it is at most
CAMPAIGN_MISFIRE_GRACE_MINUTES late; an older one is skipped and logged, never sent late.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crm_core.campaigns.models import Campaign, CampaignRun, CampaignStatus, RunStatus
from crm_core.campaigns.schedule import ONCE, latest_fire_time, trigger_for
from crm_core.campaigns.service import mark_missed, settle_campaigns, start_run
from crm_core.clock import utcnow
from crm_core.db import sqlalchemy_url
from loyalty.settings import get_settings

log = logging.getLogger("loyalty.scheduler")
STORE = "campaigns"
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)


def job_id(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def campaign_job_store(database_url: str) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(url=sqlalchemy_url(database_url), tablename="apscheduler_jobs")


async def fire_campaign(campaign_id: int) -> None:
    """The stored job: plan the run of the firing that is due (module-level, so the job
    store can name it)."""
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None or campaign.status not in ACTIVE:
        return
    now = utcnow()
    grace = timedelta(minutes=get_settings().campaign_misfire_grace_minutes)
    fire_time = latest_fire_time(campaign.schedule_kind, campaign.run_at, campaign.cron, now, grace)
    if fire_time is None:
        log.warning("campaign %s: no firing within the grace period, skipped", campaign_id)
        await mark_missed(now, grace)
        return
    run = await start_run(campaign, fire_time, now)
    log.info(
        "campaign %s run %s planned: %d to send, %d in control",
        campaign_id,
        run.id,
        run.treatment,
        run.control,
    )


def sync_campaign_jobs(
    scheduler: AsyncIOScheduler, campaigns: list[Campaign], ran_once: set[int], now: datetime
) -> None:
    """One job per active campaign; jobs of paused, cancelled or done campaigns removed.

    A one-off that has run (or whose moment is past the grace period) needs no job again.
    """
    grace = timedelta(minutes=get_settings().campaign_misfire_grace_minutes)
    wanted = {
        job_id(c.id): c
        for c in campaigns
        if c.status in ACTIVE
        and not (
            c.schedule_kind == ONCE
            and (c.id in ran_once or c.run_at is None or c.run_at + grace < now)
        )
    }
    for job in scheduler.get_jobs(jobstore=STORE):
        if job.id not in wanted:
            job.remove()
    for identifier, campaign in wanted.items():
        if scheduler.get_job(identifier, jobstore=STORE) is not None:
            continue
        scheduler.add_job(
            fire_campaign,
            trigger_for(campaign.schedule_kind, campaign.run_at, campaign.cron),
            args=[campaign.id],
            id=identifier,
            jobstore=STORE,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace.total_seconds()),
        )


async def keep_jobs_in_step(scheduler: AsyncIOScheduler) -> None:
    """Every few seconds: new campaigns get jobs, finished ones lose theirs, runs settle,
    one-offs past their grace period without a run are marked missed."""
    grace = timedelta(minutes=get_settings().campaign_misfire_grace_minutes)
    for missed in await mark_missed(utcnow(), grace):
        log.warning("campaign %s: not run within the grace period of its moment: missed", missed)
    campaigns = await Campaign.filter(
        status__in=[*ACTIVE, CampaignStatus.PAUSED, CampaignStatus.CANCELLED]
    )
    # A test send is a run too, but not the campaign's firing: it must not count as one.
    ran_once = set(
        await CampaignRun.filter(
            campaign_id__in=[c.id for c in campaigns if c.schedule_kind == ONCE]
        )
        .exclude(status=RunStatus.TEST)
        .values_list("campaign_id", flat=True)
    )
    sync_campaign_jobs(scheduler, campaigns, ran_once, utcnow())
    await settle_campaigns(utcnow())
