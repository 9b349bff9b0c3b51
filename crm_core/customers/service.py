"""Channel identities: who is writing, from where, and where their conversation stands."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from crm_core.customers.models import ChannelIdentity, Customer

# Writing last_seen on every update would cost a write per message; a minute is precise enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
INITIAL_STATE = "new"


async def touch_identity(
    channel: str,
    external_id: str,
    chat_id: str,
    language: str,
    now: datetime,
) -> tuple[ChannelIdentity, Customer | None]:
    """The identity for a platform user (created on first contact, marked reachable and seen)
    and its customer unless erased, fetched together since nearly every turn needs both.
    """
    identity = (
        await ChannelIdentity.filter(channel=channel, external_id=external_id)
        .select_related("customer")
        .first()
    )
    if identity is None:
        try:
            created = await ChannelIdentity.create(
                channel=channel,
                external_id=external_id,
                chat_id=chat_id,
                language=language,
                reachable=True,
                state=INITIAL_STATE,
                state_data={},
                created_at=now,
                last_seen_at=now,
            )
            return created, None
        except IntegrityError:
            # Two first messages of one user raced; the other one created the row.
            identity = await ChannelIdentity.get(
                channel=channel, external_id=external_id
            ).select_related("customer")
    changes: dict[str, Any] = {}
    if not identity.reachable:
        changes["reachable"] = True
    if identity.chat_id != chat_id:
        changes["chat_id"] = chat_id
    if now - identity.last_seen_at >= LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    if changes:
        await ChannelIdentity.filter(id=identity.id).update(**changes)
        for field, value in changes.items():
            setattr(identity, field, value)
    customer: Customer | None = identity.customer if identity.customer_id else None  # type: ignore[assignment]
    if customer is not None and customer.erased_at is not None:
        customer = None
    return identity, customer


async def save_state(identity: ChannelIdentity, state: str, data: dict[str, Any]) -> None:
    identity.state = state
    identity.state_data = data
    await ChannelIdentity.filter(id=identity.id).update(state=state, state_data=data)


async def set_identity_language(identity: ChannelIdentity, language: str) -> None:
    identity.language = language
    await ChannelIdentity.filter(id=identity.id).update(language=language)
    if identity.customer_id is not None:
        await Customer.filter(id=identity.customer_id).update(language=language)


async def mark_unreachable(channel: str, external_id: str) -> int:
    """Blocked or unsubscribed: stop sending there until the user writes again."""
    return await ChannelIdentity.filter(channel=channel, external_id=external_id).update(
        reachable=False
    )


async def customer_with_phone(phone: str) -> Customer | None:
    return await Customer.filter(phone=phone, erased_at__isnull=True).first()
