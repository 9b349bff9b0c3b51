"""A fake Viber REST API on 127.0.0.1: records every call, answers with Viber statuses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.aiohttp_server import serve_locally


@dataclass
class ViberCall:
    method: str
    body: dict[str, Any]
    auth_token: str


class FakeViberAPI:
    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token
        self.calls: list[ViberCall] = []
        self._statuses: list[tuple[int, str]] = []
        self._tokens = itertools.count(5_000_000_000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/pa"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/pa/{method}", self._handle)
        self._runner, self.base_url = await serve_locally(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def answer_next(self, status: int, message: str, times: int = 1) -> None:
        """Make the next send_message calls answer with a Viber error status."""
        self._statuses.extend((status, message) for _ in range(times))

    def sent_to(self, receiver: str) -> list[dict[str, Any]]:
        return [
            c.body
            for c in self.calls
            if c.method == "send_message" and c.body.get("receiver") == receiver
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.headers.get("X-Viber-Auth-Token", "")
        body = await request.json()
        self.calls.append(ViberCall(method, body, token))
        if token != self.auth_token:
            return web.json_response({"status": 2, "status_message": "invalidAuthToken"})
        if method == "send_message" and self._statuses:
            status, message = self._statuses.pop(0)
            return web.json_response({"status": status, "status_message": message})
        answer: dict[str, Any] = {"status": 0, "status_message": "ok"}
        if method == "send_message":
            answer["message_token"] = next(self._tokens)
        return web.json_response(answer)
