"""Every refusal has one shape, {"detail": sentence, "code": stable code}, in the caller's
language: FastAPI's own validation errors (with the path of every problem), unknown
addresses, wrong methods, and a server error (which also closes the connection)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from crm_core.staff.models import Role
from loyalty.app import create_app
from tests.conftest import TELEGRAM_SECRET
from tests.support.live_server import free_port
from tests.support.staff import bearer, new_key, new_store


@pytest.fixture
async def cashier(stack):
    return bearer(await new_key(Role.CASHIER, await new_store()))


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


def assert_error_shape(body: dict) -> None:
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]


async def test_a_missing_field_names_its_path_in_the_callers_language(stack, cashier):
    answer = await stack.client.post(
        "/api/v1/pos/purchases",
        json={"receipt_id": "R-1", "purchased_at": "2026-11-22T10:15:00+02:00"},
        headers={**cashier, "Accept-Language": "uk"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert_error_shape(body)
    assert body["code"] == "invalid_request"
    paths = {field["path"] for field in body["fields"]}
    assert {"lines", "total", "payments"} <= paths
    assert all(field["location"] == "body" for field in body["fields"])
    assert "Field required" not in answer.text
    assert "lines" in body["detail"] or "total" in body["detail"]
    assert "обов" in answer.text.lower()  # "обов'язкове": required, said in Ukrainian


@pytest.mark.parametrize(
    ("language", "word"),
    [("en", "at least"), ("pl", "co najmniej"), ("cs", "alespoň"), ("ru", "не меньше")],
)
async def test_a_constraint_is_said_in_each_language(stack, marketer, language, word):
    answer = await stack.client.get(
        "/api/v1/customers?limit=0", headers={**marketer, "Accept-Language": language}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["fields"] == [
        {"location": "query", "path": "limit", "code": "greater_than_equal",
         "detail": body["fields"][0]["detail"]}
    ]  # fmt: skip
    assert word in body["fields"][0]["detail"].lower()
    assert "limit" in body["detail"]
    assert "Input should" not in answer.text


async def test_a_nested_list_item_is_named_with_its_index(stack, cashier):
    answer = await stack.client.post(
        "/api/v1/pos/purchases",
        json={
            "receipt_id": "R-2",
            "purchased_at": "2026-11-22T10:15:00+02:00",
            "lines": [
                {"sku": "A", "name": "Milk", "quantity": "1", "unit_price": "1.00",
                 "line_total": "1.00"},
                {"sku": "B", "name": "Bread", "quantity": "0", "unit_price": "1.00",
                 "line_total": "0.00"},
            ],
            "total": "1.00",
            "payments": [{"method": "cash", "amount": "1.00"}],
        },
        headers={**cashier, "Accept-Language": "en"},
    )  # fmt: skip
    assert answer.status_code == 422
    body = answer.json()
    assert [f["path"] for f in body["fields"]] == ["lines[1].quantity"]
    assert body["fields"][0]["code"] == "greater_than"
    assert "lines[1].quantity" in body["detail"]


async def test_a_time_without_offset_is_explained(stack, cashier):
    answer = await stack.client.post(
        "/api/v1/pos/purchases",
        json={"receipt_id": "R-3", "purchased_at": "2026-11-22T10:15:00", "lines": [],
              "total": "0", "payments": []},
        headers={**cashier, "Accept-Language": "en"},
    )  # fmt: skip
    assert answer.status_code == 422
    codes = {f["path"]: f["code"] for f in answer.json()["fields"]}
    assert codes["purchased_at"] == "timezone_aware"


async def test_an_unknown_address_and_a_wrong_method_have_the_shape(stack):
    unknown = await stack.client.get("/api/v1/no-such-thing", headers={"Accept-Language": "uk"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert "Not Found" not in unknown.text
    wrong = await stack.client.put("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_a_body_that_is_not_json_has_the_shape(stack, marketer):
    answer = await stack.client.post(
        "/api/v1/segments/preview",
        content=b"{not json",
        headers={**marketer, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert_error_shape(answer.json())


async def test_a_route_refusal_without_own_code_gets_one(stack):
    answer = await stack.client.post(
        "/api/v1/webchat/messages", json={"session_id": "x" * 30, "text": "hello"}
    )
    assert answer.status_code == 404
    assert_error_shape(answer.json())


# -- a server error closes the kept-alive connection ---------------------------------------


async def test_after_a_server_error_the_connection_is_closed_properly(stack):
    """The real app with one more route that fails: the 500 says `Connection: close`, so a
    client retrying on its kept-alive connection opens a new one instead of a reset."""
    app: FastAPI = create_app(stack.settings)

    @app.get("/test-only/fails")
    async def fails() -> dict:
        raise RuntimeError("a bug")

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    app.state.settings = stack.settings
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            failed = await client.get("/test-only/fails", headers={"Accept-Language": "en"})
            assert failed.status_code == 500
            assert failed.headers["connection"] == "close"
            assert failed.json()["code"] == "server_error"
            # The next request on the same client works (a new connection, no reset).
            again = await client.get("/test-only/fails")
            assert again.status_code == 500
    finally:
        server.should_exit = True
        await task


async def test_a_message_placeholder_named_detail_does_not_replace_the_sentence(stack, marketer):
    answer = await stack.client.put(
        "/api/v1/sensitive-categories",
        json={"path": "No/Such/Category"},
        headers={**marketer, "Accept-Language": "en"},
    )
    assert answer.status_code == 404, answer.text
    body = answer.json()
    assert body["code"] == "category_not_found"
    assert body["detail"] == "There is no category No/Such/Category in the catalogue."


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_client_gone_mid_webhook_is_no_error_traceback(stack):
    """Telegram (or anyone) closing the connection before the body is complete is routine."""
    records = _Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(records)
    errors_log = logging.getLogger("loyalty.api.errors")
    level = errors_log.level
    errors_log.setLevel(logging.INFO)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", stack.server.port)
        writer.write(
            b"POST /webhooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + TELEGRAM_SECRET.encode() + b"\r\n"
            b"Content-Length: 5000\r\n\r\n" + b'{"update_id": 1, "message": {'
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(500):  # until the server has seen the disconnect
            if any("disconnected" in r.getMessage() for r in records.records):
                break
            await asyncio.sleep(0.01)
        messages = [(r.levelname, r.getMessage()[:200]) for r in records.records]
        assert any("disconnected" in r.getMessage() for r in records.records), messages
        assert not [r for r in records.records if r.levelno >= logging.ERROR], messages
    finally:
        errors_log.setLevel(level)
        for logger in loggers:
            logger.removeHandler(records)
