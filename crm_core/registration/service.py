"""Turning a messenger user into a customer with a card, linking channels, and erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from crm_core.cards.models import Card, CardStatus
from crm_core.cards.service import CardNumberPolicy, active_card_of, deactivate_cards, issue_card
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import has_consent, record_consent
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.customers.profile import erase_profile_data
from crm_core.customers.service import customer_with_phone
from crm_core.customers.validation import timezone_for_phone
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.segments.service import customer_changed_safely, leave_all_segments
from crm_core.sql import dialect_of
from crm_core.tasks.service import forget_customer_in_tasks

REGISTERED_STATE = "registered"
ERASED_CARD_REASON = "erased"
CONSENT_CHANGE = frozenset({"consent"})


@dataclass(frozen=True)
class Registration:
    customer: Customer
    card: Card
    # True when the identity joined a customer who registered on another channel before.
    linked_existing: bool


@dataclass(frozen=True)
class NewCustomer:
    first_name: str
    phone: str
    phone_confirmed: bool
    language: str
    marketing_consent: bool
    consent_text_version: str
    # The platform vouched the number is the sender's (Telegram), so it may join the customer
    # who has it; a confirmed but unproven number (Viber) may only register a free number.
    phone_proven: bool = False


class PhoneInUse(Exception):
    """The number belongs to another customer and nothing proves it is the sender's."""


async def link_identity(
    identity: ChannelIdentity, customer: Customer, now: datetime
) -> Registration | None:
    """Attach a channel identity to an existing customer; None if they have no active card.

    A customer who had no chat yet (an imported plastic card) registers in the bot now.
    """
    card = await active_card_of(customer.id)
    if card is None:
        return None
    first_chat = not await (
        ChannelIdentity.filter(customer_id=customer.id).exclude(id=identity.id).exists()
    )
    identity.customer_id = customer.id
    identity.state = REGISTERED_STATE
    identity.state_data = {}
    await ChannelIdentity.filter(id=identity.id).update(
        customer_id=customer.id, state=REGISTERED_STATE, state_data={}
    )
    if first_chat:
        await record_event(
            customer.id, EventKind.REGISTERED, now, identity.channel, {"existing_customer": True}
        )
    return Registration(customer=customer, card=card, linked_existing=True)


async def link_by_confirmed_phone(
    identity: ChannelIdentity, phone: str, now: datetime
) -> Registration | None:
    """The same confirmed phone from another channel joins that customer: no second card."""
    customer = await customer_with_phone(phone)
    if customer is None:
        return None
    return await link_identity(identity, customer, now)


async def link_existing_card(
    identity: ChannelIdentity, number: str, phone: str, now: datetime, proven: bool = True
) -> Registration | None:
    """Join the customer of an existing (e.g. imported plastic) card if the phone is theirs.

    Unless the platform proved the number, the card must not be in any chat yet: the printed
    number and the phone then stand for holding the plastic card, but a customer who has a
    chat can only be joined with a proof from that chat.
    """
    card = (
        await Card.filter(number=number, status=CardStatus.ACTIVE)
        .select_related("customer")
        .first()
    )
    if card is None:
        return None
    customer: Customer = card.customer  # type: ignore[assignment]
    if customer.erased_at is not None or customer.phone != phone:
        return None
    if not proven and await ChannelIdentity.filter(customer_id=customer.id).exists():
        return None
    return await link_identity(identity, customer, now)


async def register_customer(
    identity: ChannelIdentity,
    new: NewCustomer,
    timezone_fallback: str,
    card_policy: CardNumberPolicy,
    now: datetime,
) -> Registration:
    """Create the customer, their consent record and card, and attach the identity; atomically.

    The `registered` event is written in the same transaction, with the channel. A confirmed
    number another customer has raises PhoneInUse unless the platform proved it; so does a
    typed number anyone has, confirmed or typed.
    """
    if new.phone_proven:
        linked = await link_by_confirmed_phone(identity, new.phone, now)
        if linked is not None:
            return linked
    elif new.phone_confirmed and await customer_with_phone(new.phone) is not None:
        raise PhoneInUse
    try:
        async with in_transaction() as connection:
            if not new.phone_confirmed and await _typed_phone_taken(new.phone, connection):
                raise PhoneInUse
            customer = await Customer.create(
                first_name=new.first_name,
                phone=new.phone if new.phone_confirmed else None,
                unconfirmed_phone=None if new.phone_confirmed else new.phone,
                language=new.language,
                timezone=timezone_for_phone(new.phone, timezone_fallback),
                marketing_consent=new.marketing_consent,
                created_at=now,
                using_db=connection,
            )
            await record_consent(
                customer.id,
                ConsentPurpose.MARKETING,
                new.marketing_consent,
                identity.channel,
                new.consent_text_version,
                now,
                connection,
            )
            card = await issue_card(customer, card_policy, now, connection)
            await (
                ChannelIdentity.filter(id=identity.id)
                .using_db(connection)
                .update(customer_id=customer.id, state=REGISTERED_STATE, state_data={})
            )
            await record_event(
                customer.id, EventKind.REGISTERED, now, identity.channel, connection=connection
            )
    except IntegrityError:
        # The same confirmed phone registered concurrently on another channel: join it.
        if not new.phone_confirmed:
            raise
        if not new.phone_proven:
            raise PhoneInUse from None
        linked = await link_by_confirmed_phone(identity, new.phone, now)
        if linked is None:
            raise
        return linked
    identity.customer_id = customer.id
    identity.state = REGISTERED_STATE
    identity.state_data = {}
    return Registration(customer=customer, card=card, linked_existing=False)


async def _typed_phone_taken(phone: str, connection: BaseDBAsyncClient) -> bool:
    """Whether a typed number already belongs to someone, checked under a lock on the number
    (PostgreSQL; SQLite runs one transaction at a time), so two web-chat sessions typing the
    same number at once cannot both register it."""
    if dialect_of(connection).postgres:
        await connection.execute_query("SELECT pg_advisory_xact_lock(hashtext($1))", [phone])
    return (
        await Customer.filter(Q(phone=phone) | Q(unconfirmed_phone=phone), erased_at__isnull=True)
        .using_db(connection)
        .exists()
    )


async def withdraw_marketing(
    customer: Customer, channel: str, text_version: str, now: datetime
) -> bool:
    """Record an opt-out at once, and the `opted_out` event; False when there was nothing to
    withdraw."""
    if not await has_consent(customer.id, ConsentPurpose.MARKETING):
        return False
    async with in_transaction() as connection:
        await record_consent(
            customer.id, ConsentPurpose.MARKETING, False, channel, text_version, now, connection
        )
        await record_event(customer.id, EventKind.OPTED_OUT, now, channel, connection=connection)
    customer.marketing_consent = False
    await customer_changed_safely(customer.id, CONSENT_CHANGE, now)
    return True


async def grant_marketing(
    customer: Customer, channel: str, text_version: str, now: datetime
) -> None:
    await record_consent(customer.id, ConsentPurpose.MARKETING, True, channel, text_version, now)
    customer.marketing_consent = True
    await customer_changed_safely(customer.id, CONSENT_CHANGE, now)


async def erase_customer(
    customer: Customer, channel: str, text_version: str, now: datetime
) -> None:
    """Right to erasure: personal data nulled, cards blocked, identities removed, every
    segment left (exits logged, counts lowered).

    The customer row stays, nameless and phoneless, so purchase history remains as
    anonymised statistics.
    """
    async with in_transaction() as connection:
        await record_consent(
            customer.id, ConsentPurpose.MARKETING, False, channel, text_version, now, connection
        )
        await deactivate_cards(customer.id, ERASED_CARD_REASON, now, connection)
        await ChannelIdentity.filter(customer_id=customer.id).using_db(connection).delete()
        await leave_all_segments(customer.id, now, connection)
        await erase_profile_data(customer.id, connection)
        await forget_customer_in_tasks(customer.id, now, connection)
        await (
            Customer.filter(id=customer.id)
            .using_db(connection)
            .update(first_name=None, phone=None, unconfirmed_phone=None, erased_at=now)
        )
