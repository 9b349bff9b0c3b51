"""Test wiring: fresh migrated databases per backend, fake platform APIs, the live app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loyalty.settings import Settings
from tests.support.databases import migrated_database
from tests.support.fake_telegram import FakeTelegramAPI
from tests.support.fake_viber import FakeViberAPI
from tests.support.live_server import LiveServer, free_port

TELEGRAM_TOKEN = "123456:TEST-token-for-the-fake-api"
TELEGRAM_SECRET = "test_webhook-secret_1"
VIBER_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=["auto", "sqlite", "postgres"],
        default="auto",
        help="Database tests on SQLite (auto, the default) or on PostgreSQL "
        "(TEST_DATABASE_URL). One backend per run: Tortoise's connections are process-wide, "
        "so a run that mixed both would send some calls to the other database.",
    )


def _backends(config: pytest.Config) -> list[str]:
    choice = config.getoption("--backend")
    if choice == "postgres":
        if not os.environ.get("TEST_DATABASE_URL"):
            raise pytest.UsageError("--backend postgres needs TEST_DATABASE_URL")
        return ["postgres"]
    if choice == "sqlite":
        return ["sqlite"]
    return ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        if "postgres_only" in metafunc.definition.keywords:
            backends = [b for b in backends if b == "postgres"]
        metafunc.parametrize("backend", backends, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: a concurrency guarantee that only PostgreSQL can show"
    )


@dataclass
class Stack:
    """Everything a test talks to: the live app, its database and the fake platforms."""

    database_url: str
    settings: Settings
    server: LiveServer
    client: httpx.AsyncClient
    telegram: FakeTelegramAPI
    viber: FakeViberAPI

    async def restart(self, polling: bool = False) -> None:
        """Stop the web process and start a new one on the same database."""
        await self.server.stop()
        self.server = LiveServer(self.settings, self.server.port, polling=polling)
        await self.server.start()


def make_settings(
    database_url: str, port: int, telegram: FakeTelegramAPI, viber: FakeViberAPI
) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key="test-media-signing-key",
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_base=telegram.base_url,
        viber_auth_token=VIBER_TOKEN,
        viber_bot_name="Loyalty Test",
        viber_api_base=viber.api_base,
        public_base_url=f"http://127.0.0.1:{port}",
        default_language="uk",
        default_phone_region="UA",
        card_number_prefix="2710",
        db_pool_size=30,
        # The suite's many chats all come from 127.0.0.1: tests/channels/test_webchat_limits.py
        # serves an app of its own with the limits on.
        webchat_sessions_per_minute=0,
        telegram_bot_username="loyalty_test_bot",
        webchat_client_messages_per_minute=0,
    )


@pytest.fixture(scope="session")
async def stack(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    directory: Path = tmp_path_factory.mktemp(f"db-{backend}")
    with migrated_database(backend, directory, os.environ.get("TEST_DATABASE_URL")) as url:
        telegram = FakeTelegramAPI(TELEGRAM_TOKEN)
        viber = FakeViberAPI(VIBER_TOKEN)
        await telegram.start()
        await viber.start()
        port = free_port()
        settings = make_settings(url, port, telegram, viber)
        server = LiveServer(settings, port)
        await server.start()
        client = httpx.AsyncClient(base_url=server.base_url, timeout=30)
        stack = Stack(url, settings, server, client, telegram, viber)
        try:
            yield stack
        finally:
            await client.aclose()
            await stack.server.stop()
            await telegram.stop()
            await viber.stop()
