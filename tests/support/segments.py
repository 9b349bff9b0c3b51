"""Segments made through the marketer API, for tests that need an audience."""

from __future__ import annotations

from typing import Any

import httpx


async def city_segment(
    client: httpx.AsyncClient, headers: dict[str, str], city: str, kind: str = "static"
) -> dict[str, Any]:
    """The segment of the customers living in `city`, as the API answered its creation."""
    response = await client.post(
        "/api/v1/segments",
        json={
            "name": f"in {city}",
            "kind": kind,
            "rule": {"type": "profile", "field": "city", "op": "eq", "value": city},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()
