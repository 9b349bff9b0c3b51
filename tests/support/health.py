"""Where the app's background registrations stand, as `/healthz` tells."""

from __future__ import annotations

import asyncio
from typing import Any


async def registrations(stack) -> dict[str, Any]:
    response = await stack.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    return response.json()["registrations"]


async def until_registered(stack, name: str) -> dict[str, Any]:
    """Poll `/healthz` until the registration is done (the test's own timeout bounds it)."""
    while (found := (await registrations(stack)).get(name, {})).get("state") != "done":
        await asyncio.sleep(0.1)
    return found
