"""A fake Telegram Bot API on 127.0.0.1: records every call, answers like the real one."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.aiohttp_server import serve_locally


@dataclass
class RecordedCall:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)


@dataclass
class PlannedFailure:
    status: int
    description: str
    retry_after: int | None = None


class FakeTelegramAPI:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[RecordedCall] = []
        self._failures: dict[str, list[PlannedFailure]] = {}
        self._chat_failures: dict[str, list[PlannedFailure]] = {}
        # Like the real Bot API's flood control: more than this many sends in any second
        # answer 429 with retry_after (None: unlimited).
        self.sends_per_second: int | None = None
        self._send_times: collections.deque[float] = collections.deque()
        self.rejected_for_flood = 0
        self.send_delay_seconds = 0.0  # a slow platform: each send takes this long
        self._ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.pending_updates: list[dict[str, Any]] = []
        self._hung: dict[str, asyncio.Event] = {}

    def hang(self, method: str) -> None:
        """Calls to `method` are recorded and then get no answer until `release(method)`."""
        self._hung[method] = asyncio.Event()

    def release(self, method: str) -> None:
        gate = self._hung.pop(method, None)
        if gate is not None:
            gate.set()

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner, self.base_url = await serve_locally(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self._failures.setdefault(method, []).extend(
            PlannedFailure(status, description, retry_after) for _ in range(times)
        )

    def fail_chat(
        self, chat_id: int | str, status: int, description: str, times: int = 1,
        retry_after: int | None = None,
    ) -> None:  # fmt: skip
        """Make the next sends to one chat fail (whatever the method)."""
        self._chat_failures.setdefault(str(chat_id), []).extend(
            PlannedFailure(status, description, retry_after) for _ in range(times)
        )

    def _flooded(self) -> bool:
        if self.sends_per_second is None:
            return False
        now = time.monotonic()
        while self._send_times and self._send_times[0] <= now - 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= self.sends_per_second:
            self.rejected_for_flood += 1
            return True
        self._send_times.append(now)
        return False

    def calls_to(self, method: str, chat_id: int | str | None = None) -> list[RecordedCall]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == str(chat_id))
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _maybe_json(str(value))
            for key, value in list(params.items()):
                if isinstance(value, str) and value.startswith("attach://"):
                    files[key] = files.pop(value.removeprefix("attach://"))
        sending = method in {"sendMessage", "sendPhoto"}
        if sending and self.send_delay_seconds:
            await asyncio.sleep(self.send_delay_seconds)
        if sending and self._flooded():
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                 "parameters": {"retry_after": 1}},
                status=429,
            )  # fmt: skip
        self.calls.append(RecordedCall(method, params, files))
        gate = self._hung.get(method)
        if gate is not None:
            await gate.wait()
        planned = self._failures.get(method)
        chat = str(params.get("chat_id"))
        if sending and self._chat_failures.get(chat):
            planned = self._chat_failures[chat]
        if planned:
            failure = planned.pop(0)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method == "getUpdates" and not self.pending_updates:
            await asyncio.sleep(0.05)  # a short long-poll, so polling loops stay calm
        return web.json_response({"ok": True, "result": self._result(method, params, files)})

    def _result(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method in {"sendMessage", "sendPhoto"}:
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": {"id": 42, "is_bot": True, "first_name": "Loyalty"},
            }
            if method == "sendPhoto":
                uploaded = "photo" in files
                file_id = f"PHOTO-{next(self._ids)}" if uploaded else params["photo"]
                message["photo"] = [
                    {
                        "file_id": f"{file_id}-small",
                        "file_unique_id": "s",
                        "width": 90,
                        "height": 90,
                    },
                    {"file_id": file_id, "file_unique_id": "b", "width": 410, "height": 410},
                ]
                message["caption"] = params.get("caption")
            else:
                message["text"] = params.get("text")
            return message
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
            return list(self.pending_updates)
        if method == "getMe":
            return {
                "id": 42,
                "is_bot": True,
                "first_name": "Loyalty",
                "username": "loyalty_test_bot",
            }
        return True


def _maybe_json(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
