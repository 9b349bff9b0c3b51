"""Card lookups at the till, limited per cashier key and till.

A till scans a few cards a minute; a key that asks for many more is probably counting through
card numbers to list customers. Beyond the limit it gets 429 with Retry-After, and the first
refusal of each burst is logged for the admin (key id, store and till: no customer data).
The count is kept per web process (several processes each allow the limit).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from bot.i18n import N_
from crm_core.staff.models import ApiKey, Role
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language

log = logging.getLogger("loyalty.security")
TOO_MANY_LOOKUPS = N_("Too many lookups from this till: please try again in {seconds} s.")


class SlidingWindow:
    """At most `limit` events per `window` seconds for each key; memory bounded by the keys
    that were active within the last window."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[tuple, deque[float]] = {}
        self._refusing: set[tuple] = set()

    def take(self, key: tuple) -> float | None:
        """None when allowed (and counted), else the seconds until the next one is allowed."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            self._refusing.discard(key)
            return None
        return max(events[0] + self.window - now, 0.0)

    def first_refusal(self, key: tuple) -> bool:
        """True once per burst of refusals (to log it once)."""
        if key in self._refusing:
            return False
        self._refusing.add(key)
        if len(self._events) > 10_000:  # drop keys that went quiet
            cutoff = self.clock() - self.window
            for stale in [k for k, e in self._events.items() if not e or e[-1] <= cutoff]:
                del self._events[stale]
        return True


async def limit_lookups(
    request: Request,
    key: Annotated[ApiKey, Depends(require_role(Role.CASHIER))],
    language: Annotated[str, Depends(request_language)],
) -> None:
    limiter: SlidingWindow | None = getattr(request.app.state, "lookup_limit", None)
    if limiter is None or limiter.limit <= 0:
        return
    counted = (key.id, key.till)
    wait = limiter.take(counted)
    if wait is None:
        return
    if limiter.first_refusal(counted):
        log.warning(
            "card lookups refused: key %s (store %s, till %s) asked for more than %d in %.0f s",
            key.lookup, key.store_id, key.till or "-", limiter.limit, limiter.window,
        )  # fmt: skip
    seconds = max(1, math.ceil(wait))
    raise ApiError(
        429,
        "too_many_lookups",
        TOO_MANY_LOOKUPS,
        language,
        headers={"Retry-After": str(seconds)},
        seconds=seconds,
    )
