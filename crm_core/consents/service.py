"""Recording consents and answering 'may we send marketing now?'."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.consents.models import Consent, ConsentPurpose


async def record_consent(
    customer_id: int,
    purpose: ConsentPurpose,
    granted: bool,
    channel: str,
    text_version: str,
    now: datetime,
    connection: BaseDBAsyncClient | None = None,
) -> Consent:
    """Append a consent decision; the newest one per purpose is the one in force."""
    return await Consent.create(
        customer_id=customer_id,
        purpose=purpose,
        granted=granted,
        channel=channel,
        text_version=text_version,
        recorded_at=now,
        using_db=connection,
    )


async def has_consent(customer_id: int, purpose: ConsentPurpose) -> bool:
    latest = (
        await Consent.filter(customer_id=customer_id, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )
    return bool(latest and latest.granted)
