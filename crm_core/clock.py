"""Time source passed into services so tests and jobs can control 'now'."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

# How far ahead of our clock a till's clock may run: a receipt dated later than this is in
# the future (a wrong date on the till), and would make "days since the last purchase"
# negative.
CLOCK_SKEW = timedelta(minutes=10)
CLOCK_SKEW_MINUTES = int(CLOCK_SKEW.total_seconds() // 60)


def in_future(moment: datetime, now: datetime) -> bool:
    """Later than `now` by more than the clock skew a till may have."""
    return moment > now + CLOCK_SKEW


def utcnow() -> datetime:
    """Timezone-aware UTC now: everything is stored in UTC."""
    return datetime.now(UTC)
