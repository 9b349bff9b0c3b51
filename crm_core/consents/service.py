"""Recording consents and answering 'may we send marketing now?'."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from crm_core.consents.models import Consent, ConsentPurpose
from crm_core.customers.models import Customer


async def record_consent(
    customer_id: int,
    purpose: ConsentPurpose,
    granted: bool,
    channel: str,
    text_version: str,
    now: datetime,
    connection: BaseDBAsyncClient | None = None,
) -> Consent:
    """Append a consent decision and mirror it on the customer, atomically.

    The log is the evidence (time, channel, text version); the customer's flag is what
    menus and campaign audiences read, so an opt-out is honoured by the very next query.
    """
    async with in_transaction() if connection is None else _joined(connection) as db:
        consent = await Consent.create(
            customer_id=customer_id,
            purpose=purpose,
            granted=granted,
            channel=channel,
            text_version=text_version,
            recorded_at=now,
            using_db=db,
        )
        if purpose is ConsentPurpose.MARKETING:
            await Customer.filter(id=customer_id).using_db(db).update(marketing_consent=granted)
    return consent


async def has_consent(customer_id: int, purpose: ConsentPurpose) -> bool:
    """Whether the newest decision for this purpose is a grant."""
    if purpose is ConsentPurpose.MARKETING:
        flags = await Customer.filter(id=customer_id).values_list("marketing_consent", flat=True)
        return bool(flags and flags[0])
    latest = (
        await Consent.filter(customer_id=customer_id, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )
    return bool(latest and latest.granted)


@asynccontextmanager
async def _joined(connection: BaseDBAsyncClient) -> AsyncIterator[BaseDBAsyncClient]:
    """Use the caller's transaction as it is."""
    yield connection
