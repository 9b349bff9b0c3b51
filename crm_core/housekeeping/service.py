"""Periodic clean-up that keeps bookkeeping tables small."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_core.customers.models import Channel, ChannelIdentity
from crm_core.identity.models import LinkRequest
from crm_core.inbox.models import ProcessedUpdate

# Telegram retries for about a day at most; Viber for an hour. A week is plenty.
PROCESSED_UPDATE_RETENTION = timedelta(days=7)


async def purge_processed_updates(now: datetime) -> int:
    return await ProcessedUpdate.filter(received_at__lt=now - PROCESSED_UPDATE_RETENTION).delete()


# Codes live ten minutes; a day of requests is kept to count how often a chat asks.
LINK_REQUEST_RETENTION = timedelta(days=1)


async def expire_idle_webchat_sessions(now: datetime, idle: timedelta) -> int:
    """Web-chat sessions that registered nobody and said nothing for `idle`: a browser that
    comes back starts a new one. Sessions of a customer stay (they are their chat)."""
    return await ChannelIdentity.filter(
        channel=Channel.WEBCHAT, customer_id__isnull=True, last_seen_at__lt=now - idle
    ).delete()


async def purge_link_requests(now: datetime) -> int:
    return await LinkRequest.filter(created_at__lt=now - LINK_REQUEST_RETENTION).delete()
