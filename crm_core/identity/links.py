"""Joining a chat to the customer who already has a phone number, with proof instead of SMS.

A typed number (web chat) or a Viber contact proves nothing, so a chat asking for a number in
use gets a one-time code sent to that customer's confirmed messenger chats; typing it back
proves the person holds one of them. Codes are short-lived, allow a few attempts, are used
once and stored only as hashes; a chat can ask for a handful an hour, and a customer's chats
get at most one code a minute, so nobody can flood them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.expressions import F

from crm_core.customers.models import Channel, ChannelIdentity, Customer
from crm_core.identity.merge import merge_customers
from crm_core.identity.models import LinkRequest
from crm_core.registration.service import Registration, link_identity

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
CODE_DIGITS = 6
# One code a minute to one customer's chats, five requests an hour from one chat.
RESEND_AFTER = timedelta(minutes=1)
REQUESTS_PER_HOUR = 5
MESSENGERS = (Channel.TELEGRAM, Channel.VIBER)


class CodeCheck(StrEnum):
    JOINED = "joined"
    WRONG = "wrong"  # attempts remain
    EXPIRED = "expired"  # no live request: expired, used up, or never asked for


@dataclass(frozen=True)
class CodeIssued:
    """What the chat that asked learns: nothing about whether the number has a customer."""

    # The customer whose chats get `code`; None when nothing is sent (no such customer, no
    # messenger chat, or asked too often).
    customer_id: int | None
    code: str | None


def _digest(request_id: int, code: str) -> str:
    return hashlib.sha256(f"{request_id}:{code}".encode()).hexdigest()


async def phone_owner(phone: str) -> Customer | None:
    """The customer a number belongs to: its confirmed holder, else the oldest web-chat
    registration that typed it."""
    confirmed = await Customer.filter(phone=phone, erased_at__isnull=True).first()
    if confirmed is not None:
        return confirmed
    return (
        await Customer.filter(unconfirmed_phone=phone, erased_at__isnull=True)
        .order_by("created_at", "id")
        .first()
    )


async def request_code(identity: ChannelIdentity, phone: str, now: datetime) -> CodeIssued:
    """A new code for this chat, to be sent to the confirmed messenger chats of the number's
    customer; earlier requests of this chat stop working. Asked again within a minute, the
    code already sent stays the one to type and nothing new is sent."""
    pending = await LinkRequest.filter(
        identity_id=identity.id,
        phone=phone,
        token_hash__isnull=True,
        used_at__isnull=True,
        created_at__gte=now - RESEND_AFTER,
    ).exists()
    if pending:
        return CodeIssued(customer_id=None, code=None)
    await LinkRequest.filter(
        identity_id=identity.id, token_hash__isnull=True, used_at__isnull=True
    ).update(used_at=now)
    recent = await LinkRequest.filter(
        identity_id=identity.id, created_at__gte=now - timedelta(hours=1)
    ).count()
    owner = await Customer.filter(phone=phone, erased_at__isnull=True).first()
    reachable = (
        owner is not None
        and await ChannelIdentity.filter(
            customer_id=owner.id, channel__in=MESSENGERS, reachable=True
        ).exists()
    )
    flooded = (
        owner is not None
        and await LinkRequest.filter(
            customer_id=owner.id, created_at__gte=now - RESEND_AFTER, code_hash__isnull=False
        ).exists()
    )
    send = owner is not None and reachable and not flooded and recent < REQUESTS_PER_HOUR
    request = await LinkRequest.create(
        identity_id=identity.id,
        customer_id=owner.id if send and owner is not None else None,
        phone=phone,
        attempts=0,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    if not send or owner is None:
        return CodeIssued(customer_id=None, code=None)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    await LinkRequest.filter(id=request.id).update(code_hash=_digest(request.id, code))
    return CodeIssued(customer_id=owner.id, code=code)


async def check_code(
    identity: ChannelIdentity, typed: str, now: datetime
) -> tuple[CodeCheck, Registration | None]:
    """Join the chat to the customer when the code matches the chat's live request."""
    request = (
        await LinkRequest.filter(
            identity_id=identity.id,
            token_hash__isnull=True,  # a code, not a link's token
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .order_by("-id")
        .first()
    )
    if request is None:
        return CodeCheck.EXPIRED, None
    # Counted before comparing, by the database (attempts + 1, not a value read earlier), so
    # guesses sent in parallel each use up one attempt and never more than the limit pass.
    counted = await LinkRequest.filter(
        id=request.id, used_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        return CodeCheck.EXPIRED, None
    digits = "".join(ch for ch in typed if ch.isdigit())
    matches = request.code_hash is not None and hmac.compare_digest(
        request.code_hash, _digest(request.id, digits)
    )
    if not matches:
        spent = await LinkRequest.filter(id=request.id, attempts__gte=MAX_ATTEMPTS).update(
            used_at=now
        )
        return (CodeCheck.EXPIRED, None) if spent else (CodeCheck.WRONG, None)
    used = await LinkRequest.filter(id=request.id, used_at__isnull=True).update(used_at=now)
    customer = await Customer.filter(id=request.customer_id, erased_at__isnull=True).first()
    if not used or customer is None or customer.phone != request.phone:
        return CodeCheck.EXPIRED, None
    joined = await join_customer(identity, customer, now)
    return (CodeCheck.JOINED, joined) if joined is not None else (CodeCheck.EXPIRED, None)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link_token(identity: ChannelIdentity, phone: str, now: datetime) -> str:
    """A token for an "open in Telegram" link: the messenger chat that opens it proves it
    holds the number's customer, and this chat joins that customer."""
    token = secrets.token_urlsafe(16)
    await LinkRequest.create(
        identity_id=identity.id,
        phone=phone,
        token_hash=_token_digest(token),
        attempts=0,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    return token


async def redeem_link_token(token: str, customer: Customer, now: datetime) -> bool:
    """A messenger chat of `customer` opened the link: the chat that made it joins them, if it
    asked about this customer's own number; False for an unknown, used, expired or other
    number's link."""
    request = await LinkRequest.filter(
        token_hash=_token_digest(token), used_at__isnull=True, expires_at__gt=now
    ).first()
    if request is None or customer.phone is None or customer.phone != request.phone:
        return False
    if not await LinkRequest.filter(id=request.id, used_at__isnull=True).update(used_at=now):
        return False
    waiting = await ChannelIdentity.filter(id=request.identity_id).first()  # type: ignore[attr-defined]
    if waiting is None:
        return False
    return await join_customer(waiting, customer, now) is not None


async def join_customer(
    identity: ChannelIdentity, customer: Customer, now: datetime
) -> Registration | None:
    """Attach a proven chat to the customer; a customer the chat had registered on its own
    (an unconfirmed web-chat registration) is merged into that one first."""
    own = identity.customer_id
    if own is not None and own != customer.id:
        await merge_customers(customer.id, own, now, actor=f"proven {identity.channel} chat")
    return await link_identity(identity, customer, now)


async def absorb_unconfirmed(customer: Customer, now: datetime) -> list[int]:
    """A messenger proved this customer's number: web-chat registrations that only typed it
    are the same person's duplicates, merged into this customer. Their web-chat sessions
    proved nothing, so they are detached (they start over or prove the number themselves)."""
    if customer.phone is None:
        return []
    duplicates = await Customer.filter(
        unconfirmed_phone=customer.phone, phone__isnull=True, erased_at__isnull=True
    ).exclude(id=customer.id)
    merged = []
    for duplicate in duplicates:
        await merge_customers(
            customer.id,
            duplicate.id,
            now,
            actor="number confirmed by a messenger",
            move_webchat_sessions=False,
        )
        merged.append(duplicate.id)
    return merged
