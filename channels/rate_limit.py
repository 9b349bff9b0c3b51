"""Pacing outbound messages: N per second per bot and per chat, shared by every worker.

Each sender asks for the next free slot and sleeps until it. Slots are spaced evenly
(1/rate apart, no bursts), so a platform that counts per second never sees more than the
rate. With Redis configured the slot book lives there (one small Lua script, Redis's own
clock), so all workers on all machines share one pace; otherwise it is kept in the process.
A 429 pushes the book forward by the platform's retry_after for everyone.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

# KEYS[1] = the slot book; ARGV[1] = slot length in microseconds, ARGV[2] = extra delay.
# Returns how many microseconds the caller waits before its slot.
_NEXT_SLOT = """
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000000 + now_parts[2]
local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now + tonumber(ARGV[2]), booked)
local ttl = math.ceil((slot - now) / 1000) + 60000
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', ttl)
return slot - now
"""
MICRO = 1_000_000


class Pacer(Protocol):
    async def book(self, key: str, per_second: float, extra: float = 0.0) -> float:
        """Take the next slot; how many seconds until it comes."""
        ...

    async def wait_turn(self, key: str, per_second: float) -> None: ...

    async def hold(self, key: str, seconds: float) -> None: ...


class _Waiting:
    async def book(self, key: str, per_second: float, extra: float = 0.0) -> float:
        raise NotImplementedError

    async def wait_turn(self, key: str, per_second: float) -> None:
        if per_second <= 0:
            return
        delay = await self.book(key, per_second)
        if delay > 0:
            await asyncio.sleep(delay)

    async def hold(self, key: str, seconds: float) -> None:
        """Nobody gets a slot of `key` for the next `seconds` (after a 429)."""
        await self.book(key, 0, seconds)


class LocalPacer(_Waiting):
    """The slot book of one process (a single worker, SQLite, tests)."""

    def __init__(self) -> None:
        self._booked: dict[str, float] = {}

    async def book(self, key: str, per_second: float, extra: float = 0.0) -> float:
        now = time.monotonic()
        slot = max(now + extra, self._booked.get(key, 0.0))
        self._booked[key] = slot + (1.0 / per_second if per_second > 0 else 0.0)
        return slot - now


class RedisPacer(_Waiting):
    """The slot book in Redis, shared by every worker process."""

    def __init__(self, redis: Redis, prefix: str = "loyalty:pace:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_NEXT_SLOT)

    async def book(self, key: str, per_second: float, extra: float = 0.0) -> float:
        length = int(MICRO / per_second) if per_second > 0 else 0
        wait = await self._script(keys=[self.prefix + key], args=[length, int(extra * MICRO)])
        return int(wait) / MICRO


class SlidingWindow:
    """At most `limit` events per `window` seconds for each key; memory bounded by the keys
    that were active within the last window."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[tuple, deque[float]] = {}
        self._refusing: set[tuple] = set()

    def take(self, key: tuple) -> float | None:
        """None when allowed (and counted), else the seconds until the next one is allowed."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            self._refusing.discard(key)
            return None
        return max(events[0] + self.window - now, 0.0)

    def first_refusal(self, key: tuple) -> bool:
        """True once per burst of refusals (to log it once)."""
        if key in self._refusing:
            return False
        self._refusing.add(key)
        if len(self._events) > 10_000:  # drop keys that went quiet
            cutoff = self.clock() - self.window
            for stale in [k for k, e in self._events.items() if not e or e[-1] <= cutoff]:
                del self._events[stale]
        return True
