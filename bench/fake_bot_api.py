"""A minimal fake Telegram Bot API for delivery benchmarks, run as its own process.

    python bench/fake_bot_api.py --port 8081 [--limit 30]

Answers sendMessage like the real API (a message with an id). With --limit N, more than N
sends in any one-second window answer 429 with retry_after 1, as flood control does.
GET /stats tells how many sends were accepted and refused, and how many chats got more
than one message (duplicates).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import time

from aiohttp import web


def build_app(limit: int | None) -> web.Application:
    accepted: collections.Counter[str] = collections.Counter()
    window: collections.deque[float] = collections.deque()
    counters = {"rejected_429": 0, "first": 0.0, "last": 0.0}
    ids = itertools.count(1)

    async def send(request: web.Request) -> web.Response:
        form = await request.post()
        now = time.monotonic()
        if limit is not None:
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                counters["rejected_429"] += 1
                return web.json_response(
                    {"ok": False, "error_code": 429,
                     "description": "Too Many Requests: retry after 1",
                     "parameters": {"retry_after": 1}},
                    status=429,
                )  # fmt: skip
            window.append(now)
        chat = str(form.get("chat_id"))
        accepted[chat] += 1
        counters["first"] = counters["first"] or now
        counters["last"] = now
        return web.json_response(
            {"ok": True, "result": {
                "message_id": next(ids), "date": int(time.time()),
                "chat": {"id": int(chat), "type": "private"}, "text": form.get("text", ""),
            }}
        )  # fmt: skip

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "accepted": sum(accepted.values()),
                "chats": len(accepted),
                "duplicated_chats": sum(1 for n in accepted.values() if n > 1),
                "rejected_429": counters["rejected_429"],
                "accepted_span_s": counters["last"] - counters["first"],
            }
        )

    async def reset(_request: web.Request) -> web.Response:
        accepted.clear()
        window.clear()
        counters.update(rejected_429=0, first=0.0, last=0.0)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    web.run_app(build_app(args.limit), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
