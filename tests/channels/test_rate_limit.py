"""Pacing: slots 1/rate apart for everyone sharing a book, and a 429 holds the whole book."""

from __future__ import annotations

import itertools
import os
import secrets
import time

import pytest
from redis.asyncio import Redis

from channels.rate_limit import LocalPacer, RedisPacer

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def slot(pacer, key: str, per_second: float) -> float:
    """The moment of the booked slot (this process's monotonic clock)."""
    return time.monotonic() + await pacer.book(key, per_second)


def spaced(slots: list[float], gap: float) -> bool:
    """Every two slots at least `gap` apart (a little less allowed for the round trip)."""
    return all(b - a >= gap * 0.95 for a, b in itertools.pairwise(sorted(slots)))


async def test_a_local_book_spaces_slots_evenly_and_a_hold_pushes_them_back():
    pacer = LocalPacer()
    waits = [await pacer.book("bot", 10) for _ in range(20)]
    assert waits[0] <= 0.001 and 1.85 <= waits[-1] <= 1.95
    assert spaced([await slot(pacer, "bot-2", 10) for _ in range(20)], 0.1)
    await pacer.hold("bot", 5.0)
    assert await pacer.book("bot", 10) >= 4.9
    assert await pacer.book("other-bot", 10) <= 0.001  # books are separate


async def test_workers_sharing_redis_share_one_pace():
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except OSError as error:  # the machine runs Redis; say so plainly if it does not
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {error}")
    key = f"test-{secrets.token_hex(4)}"
    first, second = RedisPacer(redis), RedisPacer(redis)  # two workers
    slots = []
    for _ in range(10):
        slots.append(await slot(first, key, 20))
        slots.append(await slot(second, key, 20))
    # 20 slots at 20/s between two workers: one every 50 ms, none shared, about 1 s in all.
    assert spaced(slots, 0.05)
    assert max(slots) - min(slots) >= 0.9
    await second.hold(key, 3.0)
    assert await first.book(key, 20) >= 2.9
    await redis.delete(f"loyalty:pace:{key}")
    await redis.aclose()
