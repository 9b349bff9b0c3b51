"""Start-up calls to the platforms (webhooks, command menus), made in the background.

A platform that hangs or fails must not keep the web process from serving: each registration
is a task that retries with growing pauses until it succeeds, and `/healthz` shows where each
one stands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
ATTEMPT_TIMEOUT_SECONDS = 15.0
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 300.0


@dataclass
class Registration:
    state: str = "pending"  # pending (not done yet), failing (an attempt failed), done
    attempts: int = 0
    last_error: str | None = None  # the error's class only: messages may quote URLs or tokens
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Registrations:
    """The background registrations of one web process, by name."""

    def __init__(
        self,
        attempt_timeout: float = ATTEMPT_TIMEOUT_SECONDS,
        first_pause: float = FIRST_PAUSE_SECONDS,
        longest_pause: float = LONGEST_PAUSE_SECONDS,
    ) -> None:
        self.attempt_timeout = attempt_timeout
        self.first_pause = first_pause
        self.longest_pause = longest_pause
        self.status: dict[str, Registration] = {}
        self._tasks: list[asyncio.Task] = []

    def start(self, name: str, call: Callable[[], Awaitable[None]], delay: float = 0.0) -> None:
        """Run `call` until it succeeds: each attempt bounded, pauses doubling up to a limit."""
        self.status[name] = Registration()
        self._tasks.append(asyncio.create_task(self._keep_trying(name, call, delay)))

    async def _keep_trying(
        self, name: str, call: Callable[[], Awaitable[None]], delay: float
    ) -> None:
        status = self.status[name]
        pause = self.first_pause
        await asyncio.sleep(delay)
        while True:
            status.attempts += 1
            try:
                await asyncio.wait_for(call(), self.attempt_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                status.state, status.last_error = "failing", type(error).__name__
                log.warning(
                    "%s: attempt %d failed (%s), next in %.0f s",
                    name, status.attempts, status.last_error, pause,
                )  # fmt: skip
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.longest_pause)
                continue
            status.state, status.last_error = "done", None
            status.done.set()
            log.info("%s: done", name)
            return

    def after(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` once the registration `name` is done (polling after the webhook is gone)."""

        async def wait_then_work() -> None:
            await self.status[name].done.wait()
            await work()

        self._tasks.append(asyncio.create_task(wait_then_work()))

    def summary(self) -> dict[str, dict[str, object]]:
        return {
            name: {"state": s.state, "attempts": s.attempts, "last_error": s.last_error}
            for name, s in self.status.items()
        }

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
