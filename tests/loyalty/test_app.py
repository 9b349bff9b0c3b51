"""The app's own surface: health, OpenAPI, and the body size limit on every route."""

from __future__ import annotations

import json


async def test_healthz_answers_when_the_database_does(stack):
    response = await stack.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_openapi_documents_the_public_routes(stack):
    paths = (await stack.client.get("/openapi.json")).json()["paths"]
    assert {"/webhooks/telegram", "/webhooks/viber", "/api/v1/webchat/sessions"} <= set(paths)
    assert (await stack.client.get("/docs")).status_code == 200


async def test_any_body_over_one_mebibyte_is_413(stack):
    huge = json.dumps({"session_id": "a" * 30, "text": "x" * (1024 * 1024)})
    response = await stack.client.post(
        "/api/v1/webchat/messages", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "1 MiB" in response.json()["detail"]


async def test_a_chunked_body_over_the_limit_is_413_too(stack):
    async def chunks():
        for _ in range(20):
            yield b"x" * (64 * 1024)

    response = await stack.client.post(
        "/api/v1/webchat/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
