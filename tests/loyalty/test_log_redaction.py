"""Logs carry no personal data and never break: the formatter masks phone-like digits, codes,
tokens and searched names, leaves dates alone, and a line it cannot format becomes a
placeholder instead of "--- Logging error ---" and the raw record."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import httpx
from uvicorn.logging import AccessFormatter

from crm_core.cards.models import Card
from crm_core.staff.models import Role
from loyalty.log_redaction import RedactingFormatter, redact, redact_path
from tests.support.live_server import free_port
from tests.support.staff import bearer, new_key, new_voucher
from tests.support.till import line, open_till, receipt
from tests.support.webchat_chat import WebChat, new_phone, typed_locally


def test_phone_numbers_in_any_notation_are_masked_and_dates_are_not():
    assert "380501234567" not in redact("Key (phone)=(+380501234567) already exists")
    assert "123 45 67" not in redact("called 050 123 45 67 twice")
    assert redact("update 991 handled in 12 ms") == "update 991 handled in 12 ms"
    scheduler = 'Job "housekeeping (next run at: 2026-12-01 23:58:39 UTC)" executed'
    assert redact(scheduler) == scheduler
    assert redact("at 2026-12-01T23:58:39.123456+02:00.") == "at 2026-12-01T23:58:39.123456+02:00."


def test_access_paths_lose_codes_tokens_and_searched_names():
    assert redact_path("/api/v1/pos/cards/2710 0000 1234 5") == "/api/v1/pos/cards/<redacted>"
    assert redact_path("/api/v1/pos/vouchers/K7PX-M3QT/redeem") == (
        "/api/v1/pos/vouchers/<redacted>/redeem"
    )
    assert redact_path("/media/cards/eyJ.abc_DEF-1.png") == "/media/cards/<redacted>.png"
    assert redact_path("/api/v1/customers?name=%D0%86%D0%B2%D0%B0%D0%BD&limit=20") == (
        "/api/v1/customers?name=<redacted>&limit=20"
    )
    assert redact_path("/api/v1/segments/12/members") == "/api/v1/segments/12/members"


def _logger_writing_to(stream: io.StringIO, formatter: logging.Formatter) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(formatter))
    logger = logging.getLogger(f"tests.redaction.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_messages_arguments_and_tracebacks_are_masked():
    stream = io.StringIO()
    logger = _logger_writing_to(stream, logging.Formatter("%(asctime)s %(message)s"))
    logger.warning("customer %s failed", "+48 601 234 567")
    try:
        raise ValueError("duplicate key (phone)=(+380671234567)")
    except ValueError:
        logger.exception("insert failed")
    output = stream.getvalue()
    assert "601 234 567" not in output and "380671234567" not in output
    assert "customer <redacted" in output and "insert failed" in output
    assert "ValueError: duplicate key (phone)=(<redacted" in output


def test_a_library_exception_that_quotes_a_name_keeps_its_type_not_its_message():
    class IllegalCharacterError(Exception):
        pass

    IllegalCharacterError.__module__ = "openpyxl.utils.exceptions"
    stream = io.StringIO()
    logger = _logger_writing_to(stream, logging.Formatter("%(message)s"))
    stored = "Ivanna\x07"
    try:
        raise IllegalCharacterError(f"{stored} cannot be used in worksheets.")
    except IllegalCharacterError:
        logger.exception("export failed")
    output = stream.getvalue()
    assert "Ivanna" not in output
    assert "IllegalCharacterError: <message withheld" in output


def test_uvicorn_access_lines_with_long_numbers_are_formatted_not_broken(capsys):
    stream = io.StringIO()
    logger = _logger_writing_to(stream, AccessFormatter('%(client_addr)s - "%(request_line)s"'))
    logger.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/pos/cards/2710000001234",
        "1.1", 200,
    )  # fmt: skip
    logger.info("bad %d arguments", "not a number")
    assert '127.0.0.1:5000 - "GET /api/v1/pos/cards/<redacted> HTTP/1.1"' in stream.getvalue()
    assert "formatting it failed with TypeError" in stream.getvalue()
    assert "Logging error" not in capsys.readouterr().err


def _serve(stack, port: int, log_file: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "SECRET_KEY": "test-media-signing-key",
        "TELEGRAM_BOT_TOKEN": "",
        "VIBER_AUTH_TOKEN": "",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    with log_file.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "loyalty.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _tail(log_file: Path) -> str:
    """The end of the server's output, for a failure's message."""
    return log_file.read_text(errors="replace")[-2000:]


async def _wait_until_serving(
    client: httpx.AsyncClient, process: subprocess.Popen, log_file: Path
) -> None:
    """Generous: a loaded CI machine may take a while to import and start the app."""
    deadline = time.monotonic() + 180
    last = "no answer"
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited: {_tail(log_file)}"
        try:
            answer = await client.get("/healthz")
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except httpx.TransportError as error:
            last = repr(error)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not start ({last}): {_tail(log_file)}")


async def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if process.poll() is None:
        process.kill()


async def test_a_served_day_logs_no_person_code_token_or_key(stack, tmp_path):
    """`loyalty serve` at default settings (access log on): registration, scans, a purchase,
    a voucher validated and redeemed, the card image and a search by name."""
    port = free_port()
    log_file = tmp_path / "serve.log"
    process = _serve(stack, port, log_file)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        await _wait_until_serving(client, process, log_file)
        served = SimpleNamespace(client=client)
        name, phone = "Ярослава", new_phone()
        chat = WebChat(served)
        replies = await chat.register(name, typed_locally(phone))
        image = next(r.image_url for r in replies if r.image_url)
        assert (await client.get(image)).status_code == 200
        customer = await chat.customer()
        card = await Card.get(customer_id=customer.id)
        till = await open_till(stack)
        till.stack = served
        voucher = await new_voucher(customer.id)
        marketer = await new_key(Role.MARKETER)
        for code in (card.number, voucher.code, "380501234567", "2710 9999 9999 9"):
            await till.scan(code)
        bought = receipt([line(price="120.00")], card=card.number)
        assert (await till.post("/api/v1/pos/purchases", bought)).status_code in (200, 201)
        basket = {"total": "120.00", "lines": bought["lines"], "card": card.number}
        await till.post(f"/api/v1/pos/vouchers/{voucher.code}/validate", basket)
        await till.post(
            f"/api/v1/pos/vouchers/{voucher.code}/redeem", {**basket, "receipt_id": "R-LOG-1"}
        )
        await client.get("/api/v1/customers", params={"name": name}, headers=bearer(marketer))
    finally:
        await client.aclose()
        await _stop(process)
    output = log_file.read_text(errors="replace")

    assert "GET /api/v1/pos/cards/<redacted>" in output  # the access log was on
    assert "name=<redacted>" in output
    assert "Logging error" not in output and "Traceback" not in output
    secrets = {
        "name": name,
        "name in a URL": quote(name),
        "phone": phone[-7:],
        "card": card.number[4:],
        "voucher": voucher.code,
        "image token": image.rsplit("/", 1)[-1].removesuffix(".png"),
        "cashier key": till.key,
        "marketer key": marketer,
    }
    assert [what for what, value in secrets.items() if value in output] == []
