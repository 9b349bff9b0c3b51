"""Exactly-once handling of webhook deliveries that platforms may repeat."""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from crm_core.inbox.models import ProcessedUpdate


async def claim_update(channel: str, update_key: str, now: datetime) -> bool:
    """True for the first delivery of this update; False for a repeat."""
    try:
        await ProcessedUpdate.create(channel=channel, update_key=update_key, received_at=now)
    except IntegrityError:
        return False
    return True


async def release_update(channel: str, update_key: str) -> None:
    """Forget a claim when handling failed, so the platform's retry is processed."""
    await ProcessedUpdate.filter(channel=channel, update_key=update_key).delete()
