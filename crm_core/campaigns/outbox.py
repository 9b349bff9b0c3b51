"""The outbox as a work queue: claiming batches, send-time checks and final states.

Workers claim rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of them on any
number of machines never take the same row; SQLite has one worker. A claim is a lease: a row
whose worker died stays `sending` until the lease ends and is then claimed again. That is the
only way a message can go out twice: the worker died after the platform accepted it and
before its outcome was written (at most one batch of messages, documented in the README).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crm_core.campaigns.models import CampaignStatus, MessageState, RunStatus
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.sql import Params, dialect_of, execute, fetch, transaction

CAP_WINDOW = timedelta(days=7)
TEST_RUN = RunStatus.TEST.value
CUSTOMER_LOCKS = 7_301  # advisory lock namespace: one outbox claimer per customer
SENDABLE = (CampaignStatus.SCHEDULED.value, CampaignStatus.RUNNING.value)


class SkipReason(StrEnum):
    NO_CONSENT = "no_marketing_consent"
    ERASED = "erased"
    UNREACHABLE = "unreachable"
    FREQUENCY_CAP = "frequency_cap"
    CANCELLED = "cancelled"


class FailReason(StrEnum):
    UNREACHABLE = "unreachable"
    PERMANENT = "rejected_by_platform"
    RETRIES_EXHAUSTED = "retries_exhausted"


@dataclass(frozen=True)
class Claimed:
    """One claimed message with what sending it needs."""

    id: int
    run_id: int
    campaign_id: int
    customer_id: int
    attempts: int
    channel: str | None
    external_id: str | None
    chat_id: str | None
    reachable: bool
    first_name: str
    language: str
    timezone: str
    marketing_consent: bool
    erased: bool
    campaign_status: str
    messages: dict[str, Any]
    default_language: str
    card_number: str
    products: list[str]
    voucher_id: int | None
    voucher_template: dict[str, Any] | None
    recent_marketing: int
    test: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row. `due_at` set: back to the queue until then."""

    id: int
    state: MessageState
    reason: str | None = None
    due_at: datetime | None = None
    platform_message_id: str | None = None
    counts_as_attempt: bool = True
    products: list[str] | None = None  # what was recommended in the message, for the record


def _due_and_sendable(now: datetime, params: Params) -> str:
    """Due rows (and rows whose worker's lease ran out) of campaigns that may send."""
    return (
        f"((q.state = {params(MessageState.PENDING.value)} AND q.due_at <= {params(now)}) "
        f"OR (q.state = {params(MessageState.SENDING.value)} "
        f"AND q.claimed_until < {params(now)})) "
        f"AND (c.status IN {params.many(SENDABLE)} OR r.status = {params(TEST_RUN)})"
    )


def _claim(worker: str, now: datetime, lease: timedelta, params: Params) -> str:
    return (
        f"UPDATE campaign_outbox SET state = {params(MessageState.SENDING.value)}, "
        f"claimed_by = {params(worker)}, claimed_until = {params(now + lease)}, "
        "attempts = attempts + 1 "
    )


async def claim_batch(worker: str, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due rows of campaigns that may send, and everything to send them."""
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            ids = await _claim_postgres(worker, now, limit, lease, db)
        else:
            params = Params(dialect)
            rows = await fetch(
                _claim(worker, now, lease, params) + "WHERE id IN (SELECT q.id FROM "
                "campaign_outbox q JOIN campaign_runs r ON r.id = q.run_id "
                f"JOIN campaigns c ON c.id = r.campaign_id WHERE {_due_and_sendable(now, params)} "
                f"ORDER BY q.due_at, q.id LIMIT {params(limit)}) RETURNING id",
                params.values,
                db,
            )
            ids = [row["id"] for row in rows]
        if not ids:
            return []
        return await _details(ids, now, db)


async def _claim_postgres(
    worker: str, now: datetime, limit: int, lease: timedelta, db: Any
) -> list[int]:
    """Two statements, so that no two workers hold messages of one customer at once (that
    would let two campaigns past the frequency cap together):

    1. pick due rows (`FOR UPDATE SKIP LOCKED`) and take an advisory lock per customer,
       held until this transaction ends; a customer another claim is holding is skipped;
    2. claim those of them whose customer has no other message in flight. This statement's
       snapshot is taken after the locks were granted, so it sees every earlier claim of the
       same customers as committed.
    """
    params = Params(dialect_of(db))
    picked = await fetch(
        "SELECT picked.id FROM (SELECT q.id, q.customer_id FROM campaign_outbox q "
        "JOIN campaign_runs r ON r.id = q.run_id JOIN campaigns c ON c.id = r.campaign_id "
        f"WHERE {_due_and_sendable(now, params)} ORDER BY q.due_at, q.id "
        f"LIMIT {params(limit)} FOR UPDATE OF q SKIP LOCKED) picked "
        f"WHERE pg_try_advisory_xact_lock({CUSTOMER_LOCKS}, "
        "CAST(picked.customer_id % 2147483647 AS INTEGER))",
        params.values,
        db,
    )
    if not picked:
        return []
    params = Params(dialect_of(db))
    claimed = await fetch(
        _claim(worker, now, lease, params)
        + f"WHERE id IN {params.many([row['id'] for row in picked])} AND NOT EXISTS ("
        "SELECT 1 FROM campaign_outbox o2 WHERE o2.customer_id = campaign_outbox.customer_id "
        f"AND o2.state = {params(MessageState.SENDING.value)} "
        f"AND o2.id <> campaign_outbox.id AND o2.claimed_until >= {params(now)}) "
        "RETURNING id",
        params.values,
        db,
    )
    return [row["id"] for row in claimed]


async def _details(ids: list[int], now: datetime, db: Any) -> list[Claimed]:
    params = Params(dialect_of(db))
    rows = await fetch(
        "SELECT o.id, o.run_id, r.campaign_id, o.customer_id, o.attempts, o.products, "
        "o.voucher_id, i.channel, i.external_id, i.chat_id, i.reachable, "
        "cu.first_name, cu.language, cu.timezone, cu.marketing_consent, cu.erased_at, "
        "c.status AS campaign_status, c.messages, c.default_language, c.voucher_template, "
        "(SELECT k.number FROM cards k WHERE k.customer_id = cu.id AND k.status = 'active' "
        "ORDER BY k.id DESC LIMIT 1) AS card_number, "
        "r.status AS run_status, "
        "(SELECT COUNT(*) FROM campaign_outbox s JOIN campaign_runs sr ON sr.id = s.run_id "
        f"WHERE s.customer_id = o.customer_id AND s.state = {params(MessageState.SENT.value)} "
        f"AND s.sent_at > {params(now - CAP_WINDOW)} AND sr.status <> {params(TEST_RUN)}) "
        "AS recent_marketing "
        "FROM campaign_outbox o JOIN customers cu ON cu.id = o.customer_id "
        "JOIN campaign_runs r ON r.id = o.run_id JOIN campaigns c ON c.id = r.campaign_id "
        "LEFT JOIN channel_identities i ON i.id = o.identity_id "
        f"WHERE o.id IN {params.many(ids)} ORDER BY o.id",
        params.values,
        db,
    )
    return [
        Claimed(
            id=row["id"],
            run_id=row["run_id"],
            campaign_id=row["campaign_id"],
            customer_id=row["customer_id"],
            attempts=row["attempts"],
            channel=row["channel"],
            external_id=row["external_id"],
            chat_id=row["chat_id"],
            reachable=bool(row["reachable"]),
            first_name=row["first_name"] or "",
            language=row["language"],
            timezone=row["timezone"],
            marketing_consent=bool(row["marketing_consent"]),
            erased=row["erased_at"] is not None,
            campaign_status=row["campaign_status"],
            messages=_json(row["messages"]),
            default_language=row["default_language"],
            card_number=row["card_number"] or "",
            products=_json(row["products"]) or [],
            voucher_id=row["voucher_id"],
            voucher_template=_json(row["voucher_template"]),
            recent_marketing=int(row["recent_marketing"]),
            test=row["run_status"] == TEST_RUN,
        )
        for row in rows
    ]


def _json(value: Any) -> Any:
    """JSON columns come back parsed on PostgreSQL and as text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


def judge(
    batch: list[Claimed], now: datetime, quiet: QuietHours, cap: int
) -> tuple[list[Claimed], list[Outcome]]:
    """Send-time checks: who may get their message now, and what happens to the others.

    Consent, reachability and the campaign's state are read again (planning was earlier);
    the frequency cap counts messages sent in the last 7 days across all campaigns, this
    batch included; a message due at night waits for the customer's morning.
    """
    ready: list[Claimed] = []
    outcomes: list[Outcome] = []
    taken: dict[int, int] = {}
    for message in batch:
        if message.test:
            if message.reachable and message.channel and message.marketing_consent:
                ready.append(message)
            else:
                outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.UNREACHABLE))
        elif message.campaign_status == CampaignStatus.CANCELLED:
            outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.CANCELLED))
        elif message.campaign_status not in SENDABLE:
            # Paused: back to the queue as it was; resuming sends it.
            outcomes.append(
                Outcome(message.id, MessageState.PENDING, due_at=now, counts_as_attempt=False)
            )
        elif message.erased:
            outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.ERASED))
        elif not message.marketing_consent:
            outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.NO_CONSENT))
        elif not message.reachable or message.channel is None:
            outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.UNREACHABLE))
        elif message.recent_marketing + taken.get(message.customer_id, 0) >= cap:
            outcomes.append(Outcome(message.id, MessageState.SKIPPED, SkipReason.FREQUENCY_CAP))
        elif (morning := quiet.next_allowed(now, message.timezone)) is not None:
            outcomes.append(
                Outcome(message.id, MessageState.PENDING, due_at=morning, counts_as_attempt=False)
            )
        else:
            taken[message.customer_id] = taken.get(message.customer_id, 0) + 1
            ready.append(message)
    return ready, outcomes


def _final(outcome: Outcome) -> bool:
    return outcome.state in (MessageState.SENT, MessageState.FAILED, MessageState.SKIPPED)


async def record_outcomes(worker: str, outcomes: Iterable[Outcome], now: datetime) -> int:
    """Write each row's outcome, only where this worker still holds the claim.

    `claimed_by` stays: it tells which worker handled the message last. On PostgreSQL a
    whole batch is one statement (a worker at 1,000 messages/s cannot afford one per row).
    """
    outcomes = list(outcomes)
    if not outcomes:
        return 0
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            return await _record_postgres(worker, outcomes, now, db)
        written = 0
        for outcome in outcomes:
            params = Params(dialect)
            sent_at = now if outcome.state == MessageState.SENT else None
            attempts = "attempts" if outcome.counts_as_attempt else "attempts - 1"
            written += await execute(
                f"UPDATE campaign_outbox SET state = {params(outcome.state.value)}, "
                f"reason = {params(outcome.reason and str(outcome.reason))}, "
                f"due_at = COALESCE({params(outcome.due_at)}, due_at), "
                f"sent_at = COALESCE({params(sent_at)}, sent_at), "
                f"finished_at = {params(now if _final(outcome) else None)}, "
                f"platform_message_id = COALESCE({params(outcome.platform_message_id)}, "
                f"platform_message_id), attempts = {attempts}, "
                f"products = COALESCE({params(_as_json(outcome.products))}, products), "
                "claimed_until = NULL "
                f"WHERE id = {params(outcome.id)} AND claimed_by = {params(worker)} "
                f"AND state = {params(MessageState.SENDING.value)}",
                params.values,
                db,
            )
        return written


async def _record_postgres(worker: str, outcomes: list[Outcome], now: datetime, db: Any) -> int:
    params = Params(dialect_of(db))
    values = ", ".join(
        f"(CAST({params(o.id)} AS BIGINT), CAST({params(o.state.value)} AS VARCHAR), "
        f"CAST({params(o.reason and str(o.reason))} AS VARCHAR), "
        f"CAST({params(o.due_at)} AS TIMESTAMPTZ), "
        f"CAST({params(now if o.state == MessageState.SENT else None)} AS TIMESTAMPTZ), "
        f"CAST({params(now if _final(o) else None)} AS TIMESTAMPTZ), "
        f"CAST({params(o.platform_message_id)} AS VARCHAR), "
        f"CAST({params(0 if o.counts_as_attempt else 1)} AS INTEGER), "
        f"CAST({params(_as_json(o.products))} AS JSONB))"
        for o in outcomes
    )
    rows = await fetch(
        "UPDATE campaign_outbox AS o SET state = v.state, reason = v.reason, "
        "due_at = COALESCE(v.due_at, o.due_at), sent_at = COALESCE(v.sent_at, o.sent_at), "
        "finished_at = v.finished_at, "
        "platform_message_id = COALESCE(v.platform_id, o.platform_message_id), "
        "attempts = o.attempts - v.not_an_attempt, products = COALESCE(v.products, o.products), "
        "claimed_until = NULL "
        f"FROM (VALUES {values}) AS v(id, state, reason, due_at, sent_at, finished_at, "
        "platform_id, not_an_attempt, products) "
        f"WHERE o.id = v.id AND o.claimed_by = {params(worker)} "
        f"AND o.state = {params(MessageState.SENDING.value)} RETURNING o.id",
        params.values,
        db,
    )
    return len(rows)


async def cancel_pending(campaign_id: int, now: datetime) -> int:
    """A cancelled campaign's unsent messages end as skipped (cancelled), at once."""
    params = Params(dialect_of())
    return await execute(
        f"UPDATE campaign_outbox SET state = {params(MessageState.SKIPPED.value)}, "
        f"reason = {params(SkipReason.CANCELLED.value)}, finished_at = {params(now)}, "
        "claimed_by = NULL, claimed_until = NULL "
        f"WHERE state = {params(MessageState.PENDING.value)} AND run_id IN "
        f"(SELECT id FROM campaign_runs WHERE campaign_id = {params(campaign_id)})",
        params.values,
    )


async def mark_delivery(platform_message_id: str, event: str, at: datetime) -> int:
    """A platform's delivered / seen / failed callback for one of our messages."""
    params = Params(dialect_of())
    if event == "delivered":
        change = f"delivered_at = COALESCE(delivered_at, {params(at)})"
    elif event == "seen":
        change = (
            f"seen_at = COALESCE(seen_at, {params(at)}), "
            f"delivered_at = COALESCE(delivered_at, {params(at)})"
        )
    elif event == "failed":
        change = (
            f"state = {params(MessageState.FAILED.value)}, "
            f"reason = {params(FailReason.UNREACHABLE.value)}, finished_at = {params(at)}"
        )
    else:
        return 0
    return await execute(
        f"UPDATE campaign_outbox SET {change} "
        f"WHERE platform_message_id = {params(platform_message_id)}",
        params.values,
    )


def _as_json(value: list[str] | None) -> str | None:
    """A JSON column's value bound as text."""
    return None if value is None else json.dumps(value, ensure_ascii=False)
