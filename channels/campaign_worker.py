"""The delivery worker: claim a batch, check each message again, send, record one outcome each.

Any number of workers may run (PostgreSQL). Retries are the outbox's business, not inline:
a 429 puts the message back until the platform's retry_after (and holds the whole bot's
pace for that long); a network error or a 5xx backs off exponentially up to
`max_attempts`; blocked, unsubscribed or not found makes the identity unreachable and the
message failed, never retried.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic as time_now
from typing import Any, TypeVar

from bot.campaign_texts import voucher_placeholders
from channels.campaign_sender import CampaignSender
from channels.errors import DeliveryError, FailureKind
from crm_core.campaigns.models import MessageState
from crm_core.campaigns.outbox import (
    Claimed,
    FailReason,
    Outcome,
    claim_batch,
    judge,
    record_outcomes,
)
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.campaigns.render import Recipient, render, uses_placeholder
from crm_core.campaigns.vouchers import voucher_for_message
from crm_core.customers.service import mark_unreachable
from crm_core.recommendations.service import recommend_for

log = logging.getLogger(__name__)
DEFAULT_QUIET_HOURS = QuietHours(time(21), time(9))
RECORD_FIRST_PAUSE_SECONDS = 0.1
RECORD_LONGEST_PAUSE_SECONDS = 2.0
STOP_GRACE_SECONDS = 10.0  # after SIGTERM, how long a batch's outcomes may still be retried
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerPolicy:
    batch_size: int = 200
    concurrency: int = 64
    lease: timedelta = timedelta(minutes=2)
    idle_poll_seconds: float = 1.0
    max_attempts: int = 5
    backoff_base_seconds: float = 5.0
    frequency_cap: int = 3
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS


async def isolated(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` as its own task, in a copy of the caller's context.

    When a connection drops while Tortoise ends a transaction (releasing it to the pool
    raises "cannot switch to state 15"), Tortoise leaves that dead transaction set as the
    task's connection, and every later query of the task fails with "connection is closed".
    In a task of its own, the dead transaction ends with the task.
    """
    return await asyncio.create_task(work)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}-{secrets.token_hex(4)}"


class DeliveryWorker:
    def __init__(
        self,
        sender: CampaignSender,
        policy: WorkerPolicy,
        clock: Callable[[], datetime],
        name: str | None = None,
    ) -> None:
        self.sender = sender
        self.policy = policy
        self.clock = clock
        self.name = name or worker_name()
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set (the batch in hand is finished first); an empty queue is
        polled every `idle_poll_seconds`."""
        log.info("delivery worker %s started", self.name)
        self._stop = stop
        while not stop.is_set():
            try:
                done = await isolated(self.run_once())
            except Exception:
                # The database went away, say: claimed rows come back after their lease.
                log.exception("delivery worker %s: batch failed, retrying", self.name)
                done = 0
            if done == 0:
                try:
                    await asyncio.wait_for(stop.wait(), self.policy.idle_poll_seconds)
                except TimeoutError:
                    pass

    async def run_once(self) -> int:
        """One batch: how many rows it handled (0 when nothing was due)."""
        now = self.clock()
        claimed_at = time_now()
        batch = await isolated(
            claim_batch(self.name, now, self.policy.batch_size, self.policy.lease)
        )
        if not batch:
            return 0
        ready, outcomes = judge(batch, now, self.policy.quiet_hours, self.policy.frequency_cap)
        wanting = [m.customer_id for m in ready if uses_placeholder(m.messages, "products")]
        products = await recommend_for(wanting) if wanting else {}
        outcomes += await asyncio.gather(
            *(self._send(message, products.get(message.customer_id, [])) for message in ready)
        )
        await self._record(outcomes, claimed_at)
        return len(batch)

    async def _record(self, outcomes: list[Outcome], claimed_at: float) -> None:
        """Write the outcomes, retrying on a new connection while the claim's lease lasts.

        The messages are sent: giving up here would have them sent again after the lease.
        Writing is idempotent (only rows still claimed by this worker and sending change).
        """
        pause = RECORD_FIRST_PAUSE_SECONDS
        while True:
            try:
                await isolated(record_outcomes(self.name, outcomes, self.clock()))
                return
            except Exception:
                left = claimed_at + self.policy.lease.total_seconds() - time_now()
                if self._stop.is_set():
                    left = min(left, STOP_GRACE_SECONDS)
                if left <= pause:
                    raise
                log.warning(
                    "delivery worker %s: recording %d outcomes failed, retrying",
                    self.name, len(outcomes), exc_info=True,
                )  # fmt: skip
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECORD_LONGEST_PAUSE_SECONDS)

    async def _send(self, message: Claimed, products: list[str]) -> Outcome:
        async with self._slots:
            try:
                recipient = await self._recipient(message, products)
                rendered = render(message.messages, message.default_language, recipient)
                platform_id = await self.sender.send(
                    message.channel or "", message.external_id or "", message.chat_id or "",
                    rendered,
                )  # fmt: skip
            except DeliveryError as error:
                return await self._failure(message, error)
            except Exception:
                log.exception("campaign message %s could not be prepared", message.id)
                return self._retry_or_fail(message)
        return Outcome(
            message.id, MessageState.SENT, platform_message_id=platform_id, products=products
        )

    async def _recipient(self, message: Claimed, products: list[str]) -> Recipient:
        voucher_texts: dict[str, str] = {}
        if message.voucher_template is not None:
            voucher = await voucher_for_message(
                message.id, message.voucher_id, message.customer_id,
                message.voucher_template, self.clock(),
            )  # fmt: skip
            voucher_texts = voucher_placeholders(voucher, message.language)
        return Recipient(
            first_name=message.first_name,
            card_number=message.card_number,
            language=message.language,
            products=tuple(products or message.products),
            **voucher_texts,
        )

    async def _failure(self, message: Claimed, error: DeliveryError) -> Outcome:
        if error.kind is FailureKind.UNREACHABLE:
            await mark_unreachable(message.channel or "", message.external_id or "")
            return Outcome(message.id, MessageState.FAILED, FailReason.UNREACHABLE)
        if error.kind is FailureKind.PERMANENT:
            return Outcome(message.id, MessageState.FAILED, FailReason.PERMANENT)
        if error.kind is FailureKind.RATE_LIMITED:
            wait = timedelta(seconds=error.retry_after or 1.0)
            return Outcome(
                message.id,
                MessageState.PENDING,
                due_at=self.clock() + wait,
                counts_as_attempt=False,
            )
        return self._retry_or_fail(message)

    def _retry_or_fail(self, message: Claimed) -> Outcome:
        if message.attempts >= self.policy.max_attempts:
            return Outcome(message.id, MessageState.FAILED, FailReason.RETRIES_EXHAUSTED)
        delay = self.policy.backoff_base_seconds * 2 ** (message.attempts - 1)
        return Outcome(
            message.id, MessageState.PENDING, due_at=self.clock() + timedelta(seconds=delay)
        )
