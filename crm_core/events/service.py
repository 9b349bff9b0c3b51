"""Recording what customers do in the bot, so segments can select on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.events.models import CustomerEvent, EventKind


async def record_event(
    customer_id: int,
    kind: EventKind,
    now: datetime,
    channel: str | None = None,
    data: dict[str, Any] | None = None,
    connection: BaseDBAsyncClient | None = None,
) -> CustomerEvent:
    """Append one behaviour event; events are never updated, only added (and erased)."""
    return await CustomerEvent.create(
        customer_id=customer_id,
        kind=kind,
        channel=channel,
        data=data or {},
        occurred_at=now,
        using_db=connection,
    )


async def events_of(customer_id: int, limit: int = 200) -> list[CustomerEvent]:
    return await CustomerEvent.filter(customer_id=customer_id).order_by("-occurred_at").limit(limit)
