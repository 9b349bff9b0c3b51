"""Sending with the retry policy every adapter shares."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from channels.errors import DeliveryError, FailureKind

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Inline retries for replies; long waits belong to the outbox worker, not a webhook."""

    attempts: int = 3
    base_delay: float = 0.2
    max_inline_wait: float = 5.0


async def send_with_retries(
    send: Callable[[], Awaitable[T]], policy: RetryPolicy = RetryPolicy()
) -> T:
    """Run `send`, retrying transient failures with backoff and short rate-limit waits.

    Unreachable and permanent failures, and rate limits longer than the inline budget,
    are raised for the caller to record.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return await send()
        except DeliveryError as error:
            if not error.retryable or attempt == policy.attempts:
                raise
            if error.kind is FailureKind.RATE_LIMITED:
                delay = error.retry_after or policy.base_delay
                if delay > policy.max_inline_wait:
                    raise
            else:
                delay = policy.base_delay * 2 ** (attempt - 1)
            log.warning("send failed (%s), retry %d in %.1fs", error.kind, attempt, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
