"""Periodic clean-up that keeps bookkeeping tables small."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_core.inbox.models import ProcessedUpdate

# Telegram retries for about a day at most; Viber for an hour. A week is plenty.
PROCESSED_UPDATE_RETENTION = timedelta(days=7)


async def purge_processed_updates(now: datetime) -> int:
    return await ProcessedUpdate.filter(received_at__lt=now - PROCESSED_UPDATE_RETENTION).delete()
