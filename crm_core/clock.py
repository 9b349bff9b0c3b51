"""Time source passed into services so tests and jobs can control 'now'."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Timezone-aware UTC now: everything is stored in UTC."""
    return datetime.now(UTC)
