"""Card lookups at the till, limited per cashier key and till.

A till scans a few cards a minute; a key that asks for many more is probably counting through
card numbers to list customers. Beyond the limit it gets 429 with Retry-After, and the first
refusal of each burst is logged for the admin (key id, store and till: no customer data).
The count is kept per web process (several processes each allow the limit).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import Depends, Request

from bot.i18n import N_
from channels.rate_limit import SlidingWindow
from crm_core.staff.models import ApiKey, Role
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language

log = logging.getLogger("loyalty.security")
TOO_MANY_LOOKUPS = N_("Too many lookups from this till: please try again in {seconds} s.")


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
