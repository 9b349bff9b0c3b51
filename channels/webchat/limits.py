"""How much one client may ask of the public web chat: sessions opened and messages sent.

Anyone on the internet can open the chat, so a script could otherwise create sessions (rows)
or push messages without end. Counted per client address (and per session for messages) in a
sliding minute, per web process; beyond it the answer is 429 with Retry-After.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from channels.rate_limit import SlidingWindow

MINUTE = 60.0


@dataclass(frozen=True)
class WebChatLimits:
    sessions: SlidingWindow  # new sessions per client address
    messages: SlidingWindow  # messages per session
    client_messages: SlidingWindow  # messages per client address, all its sessions together
    idle: timedelta  # a session that registered nobody expires after this long without a word

    @classmethod
    def per_minute(
        cls, sessions: int, messages: int, client_messages: int, idle_hours: int
    ) -> WebChatLimits:
        return cls(
            sessions=SlidingWindow(sessions, MINUTE),
            messages=SlidingWindow(messages, MINUTE),
            client_messages=SlidingWindow(client_messages, MINUTE),
            idle=timedelta(hours=idle_hours),
        )


def wait_seconds(*checks: tuple[SlidingWindow, tuple]) -> int | None:
    """None when every limit allows one more (each counted), else whole seconds to wait."""
    for window, key in checks:
        if window.limit <= 0:
            continue
        wait = window.take(key)
        if wait is not None:
            return max(1, math.ceil(wait))
    return None
