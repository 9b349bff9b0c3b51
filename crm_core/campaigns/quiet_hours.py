"""Quiet hours in the customer's own timezone: a message due at night waits for the morning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALLBACK_ZONE = "UTC"


@dataclass(frozen=True)
class QuietHours:
    """No marketing from `start` to `end` local time (the window may cross midnight).

    A window that covered the whole day would silently stop every campaign, so one that leaves
    no allowed hour is refused when the settings are read.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours must leave some time of day for sending")

    def _quiet(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, now: datetime, timezone: str) -> datetime | None:
        """None when `now` is a decent hour there; otherwise the end of the quiet window (UTC)."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(FALLBACK_ZONE)
        local = now.astimezone(zone)
        if not self._quiet(local.time()):
            return None
        morning = datetime.combine(local.date(), self.end, zone)
        if morning <= local:
            morning = datetime.combine(local.date() + timedelta(days=1), self.end, zone)
        return morning.astimezone(now.tzinfo)
