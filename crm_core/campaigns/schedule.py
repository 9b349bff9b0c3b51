"""When a campaign fires, and when each customer's message is due in their own timezone.

A recurring campaign says "Monday 10:00" meaning 10:00 where each customer lives. Its trigger
runs the cron in UTC+14, the first place on Earth to reach any wall-clock time, so the run is
planned before anyone's 10:00; each customer's message is then due at that same date and
wall-clock time in their timezone. A one-off campaign is due for everyone at its moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

EARLIEST_ZONE = "Etc/GMT-14"  # POSIX sign: this is UTC+14
ONCE = "once"
RECURRING = "recurring"


def cron_trigger(expression: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=EARLIEST_ZONE)


def trigger_for(kind: str, run_at: datetime | None, cron: str | None) -> BaseTrigger:
    if kind == ONCE:
        assert run_at is not None
        return DateTrigger(run_at)
    assert cron is not None
    return cron_trigger(cron)


def latest_fire_time(
    kind: str, run_at: datetime | None, cron: str | None, now: datetime, grace: timedelta
) -> datetime | None:
    """The schedule's latest firing at or before `now`, if it is at most `grace` old.

    APScheduler does not tell a job which firing it runs for; the run is keyed by it, so a
    job run twice for the same firing plans the same run.
    """
    if kind == ONCE:
        if run_at is not None and now - grace <= run_at <= now:
            return run_at
        return None
    trigger = cron_trigger(cron or "")
    latest = None
    moment = trigger.get_next_fire_time(None, now - grace)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest.astimezone(UTC) if latest is not None else None


def local_due(kind: str, fire_time: datetime, timezone: str) -> datetime:
    """When the message of a customer in `timezone` is due for this firing (UTC)."""
    if kind == ONCE:
        return fire_time
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return fire_time
    wall = fire_time.astimezone(ZoneInfo(EARLIEST_ZONE)).replace(tzinfo=None)
    return max(wall.replace(tzinfo=zone).astimezone(UTC), fire_time)
