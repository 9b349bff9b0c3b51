"""Merging two customers who are one person: one card survives, nothing of the history is lost.

The other customer's cards stay scannable (marked `replaced`, reason `merged`, owned by the
survivor, so a till scanning the old number sees the surviving card); purchases, vouchers,
consents, events, survey answers and segment memberships move; the stricter marketing consent
wins; metrics are rebuilt. The other customer row stays as an empty shell pointing at the
survivor (`merged_into_id`, marked erased so no audience, export or lookup finds it).
Idempotent: merging the same pair again changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from crm_core.cards.models import MERGED_CARD_REASON, Card, CardStatus
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import record_consent
from crm_core.customers.models import Channel, ChannelIdentity, Customer
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.metrics.service import recompute_customers
from crm_core.segments.service import customer_changed_safely
from crm_core.sql import Params, dialect_of, execute

log = logging.getLogger(__name__)

MERGE_CONSENT_VERSION = "merge"
# Everything a segment rule may read can differ after a merge.
_EVERYTHING = frozenset({"purchases", "metrics", "profile", "custom", "consent", "events"})
# Tables whose rows simply change owner.
_MOVED_TABLES = (
    "purchases",
    "purchase_lines",
    "vouchers",
    "voucher_redemptions",
    "consents",
    "customer_events",
    "customer_preferences",
    "segment_membership_log",
    "lifecycle_changes",
    "manager_tasks",
)
# Derived per-customer rows: the other's are dropped, the survivor's rebuilt.
_DROPPED_TABLES = ("customer_metrics", "customer_category_spend", "customer_predictions")
# Profile fields the survivor takes from the other when it has none.
_FILLED_FIELDS = ("first_name", "birth_date", "gender", "city")


class MergeRefused(Exception):
    """Why two customers cannot be merged; `code` is stable for the API."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Merged:
    keep_id: int
    other_id: int
    # False when the other had been merged into the survivor before: nothing changed now.
    changed: bool
    moved: dict[str, int]


async def merge_customers(
    keep_id: int,
    other_id: int,
    now: datetime,
    actor: str,
    move_webchat_sessions: bool = True,
) -> Merged:
    """Merge `other_id` into `keep_id`, atomically; `actor` says who asked (audit log).

    `move_webchat_sessions=False` is for automatic merges after a messenger confirmed the
    number: web-chat sessions of the other customer never proved the number, so they are
    detached (they start over) instead of being shown the survivor's card.
    """
    if keep_id == other_id:
        raise MergeRefused("same_customer")
    async with in_transaction() as db:
        keep, other = await _locked_pair(keep_id, other_id, db)
        if other.merged_into_id == keep.id:
            return Merged(keep.id, other.id, changed=False, moved={})
        if keep.merged_into_id is not None or other.merged_into_id is not None:
            raise MergeRefused("already_merged")
        if keep.erased_at is not None or other.erased_at is not None:
            raise MergeRefused("customer_erased")
        moved = await _move_rows(keep, other, db)
        moved["identities"] = await _move_identities(keep.id, other.id, move_webchat_sessions, db)
        moved["cards"] = await _move_cards(keep.id, other.id, now, db)
        await _merge_profile(keep, other, now, db)
        await record_event(
            keep.id,
            EventKind.MERGED,
            now,
            None,
            {"merged_customer_id": other.id, "actor": actor},
            connection=db,
        )
        await recompute_customers(now, [keep.id], connection=db)
    await customer_changed_safely(keep.id, _EVERYTHING, now)
    # Ids and counts only: names and phones never reach logs.
    log.info("customer %s merged into %s by %s: %s", other.id, keep.id, actor, moved)
    return Merged(keep.id, other.id, changed=True, moved=moved)


async def _locked_pair(
    keep_id: int, other_id: int, db: BaseDBAsyncClient
) -> tuple[Customer, Customer]:
    """Both rows, locked in id order on PostgreSQL so two merges of one pair queue up."""
    query = Customer.filter(id__in=[keep_id, other_id]).using_db(db).order_by("id")
    if dialect_of(db).postgres:
        query = query.select_for_update()
    rows = {customer.id: customer for customer in await query}
    if keep_id not in rows or other_id not in rows:
        raise MergeRefused("customer_not_found")
    return rows[keep_id], rows[other_id]


async def _move_rows(keep: Customer, other: Customer, db: BaseDBAsyncClient) -> dict[str, int]:
    moved: dict[str, int] = {}
    for table in _MOVED_TABLES:
        params = Params(dialect_of(db))
        sql = (
            f"UPDATE {table} SET customer_id = {params(keep.id)} "
            f"WHERE customer_id = {params(other.id)}"
        )
        moved[table] = await execute(sql, params.values, db)
    # Keyed per customer: the survivor's own row wins, the other's fills only what is missing.
    for table, key in (("customer_field_values", "field_id"), ("segment_members", "segment_id")):
        params = Params(dialect_of(db))
        sql = (
            f"UPDATE {table} SET customer_id = {params(keep.id)} "
            f"WHERE customer_id = {params(other.id)} AND {key} NOT IN "
            f"(SELECT {key} FROM {table} WHERE customer_id = {params(keep.id)})"
        )
        moved[table] = await execute(sql, params.values, db)
        params = Params(dialect_of(db))
        await execute(
            f"DELETE FROM {table} WHERE customer_id = {params(other.id)}", params.values, db
        )
    for table in _DROPPED_TABLES:
        params = Params(dialect_of(db))
        await execute(
            f"DELETE FROM {table} WHERE customer_id = {params(other.id)}", params.values, db
        )
    return moved


async def _move_identities(
    keep_id: int, other_id: int, move_webchat: bool, db: BaseDBAsyncClient
) -> int:
    identities = ChannelIdentity.filter(customer_id=other_id).using_db(db)
    if not move_webchat:
        await identities.filter(channel=Channel.WEBCHAT).update(
            customer_id=None, state="new", state_data={}
        )
    return (
        await ChannelIdentity.filter(customer_id=other_id).using_db(db).update(customer_id=keep_id)
    )


async def _move_cards(keep_id: int, other_id: int, now: datetime, db: BaseDBAsyncClient) -> int:
    """The other's cards join the survivor as `replaced` aliases; the survivor keeps one active
    card (the other's becomes active only when the survivor has none)."""
    keep_has_active = await (
        Card.filter(customer_id=keep_id, status=CardStatus.ACTIVE).using_db(db).exists()
    )
    cards = await Card.filter(customer_id=other_id).using_db(db).order_by("-issued_at")
    for card in cards:
        if card.status == CardStatus.ACTIVE and not keep_has_active:
            keep_has_active = True
            await Card.filter(id=card.id).using_db(db).update(customer_id=keep_id)
            continue
        changes: dict[str, object] = {"customer_id": keep_id}
        if card.status == CardStatus.ACTIVE:
            changes.update(
                status=CardStatus.REPLACED, status_reason=MERGED_CARD_REASON, status_changed_at=now
            )
        await Card.filter(id=card.id).using_db(db).update(**changes)
    return len(cards)


async def _merge_profile(
    keep: Customer, other: Customer, now: datetime, db: BaseDBAsyncClient
) -> None:
    """Blank fields filled from the other; the confirmed phone kept; the stricter consent."""
    changes: dict[str, object] = {
        name: getattr(other, name)
        for name in _FILLED_FIELDS
        if getattr(keep, name) is None and getattr(other, name) is not None
    }
    other_phone = other.phone
    await (
        Customer.filter(id=other.id)
        .using_db(db)
        .update(
            first_name=None,
            phone=None,
            unconfirmed_phone=None,
            birth_date=None,
            gender=None,
            city=None,
            marketing_consent=False,
            erased_at=now,
            merged_into_id=keep.id,
        )
    )
    if keep.phone is None and other_phone is not None:
        changes["phone"] = other_phone
        changes["unconfirmed_phone"] = None
    elif keep.phone is None and keep.unconfirmed_phone is None and other.unconfirmed_phone:
        changes["unconfirmed_phone"] = other.unconfirmed_phone
    if changes:
        await Customer.filter(id=keep.id).using_db(db).update(**changes)
    # An opt-out on either side beats an opt-in; written last, so it is the newest decision.
    granted = keep.marketing_consent and other.marketing_consent
    await record_consent(
        keep.id, ConsentPurpose.MARKETING, granted, "merge", MERGE_CONSENT_VERSION, now, db
    )


async def survivor_of(customer_id: int) -> int:
    """The customer a merged id now stands for (itself when never merged)."""
    seen = {customer_id}
    current = customer_id
    while True:
        targets = await Customer.filter(id=current).values_list("merged_into_id", flat=True)
        target = targets[0] if targets else None
        if target is None or target in seen:
            return current
        seen.add(target)
        current = target
