"""Fresh, migrated databases for tests: a SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from alembic import command
from crm_core.db import sqlalchemy_url
from loyalty.migrations import alembic_config, upgrade_to_head


def _admin_dsn(server_url: str) -> str:
    return sqlalchemy_url(server_url).replace("postgresql+psycopg://", "postgresql://")


def _with_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new empty database on the server of `server_url`, dropped afterwards."""
    name = f"loyalty_test_{secrets.token_hex(6)}"
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(_admin_dsn(server_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite(directory: Path) -> Iterator[str]:
    path = directory / f"loyalty-{secrets.token_hex(4)}.sqlite3"
    yield f"sqlite://{path}"


@contextmanager
def fresh_database(backend: str, directory: Path, server_url: str | None) -> Iterator[str]:
    if backend == "postgres":
        assert server_url, "TEST_DATABASE_URL is needed for the postgres backend"
        with fresh_postgres(server_url) as url:
            yield url
    else:
        with fresh_sqlite(directory) as url:
            yield url


@contextmanager
def migrated_database(backend: str, directory: Path, server_url: str | None) -> Iterator[str]:
    with fresh_database(backend, directory, server_url) as url:
        upgrade_to_head(url)
        yield url


def _revision(url: str) -> str:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar_one()
    finally:
        engine.dispose()


def migrate_down_and_back(
    backend: str, directory: Path, server_url: str | None, revision: str
) -> None:
    """A fresh database taken to head, down to `revision` and up to head again: a migration's
    downgrade must undo its upgrade cleanly enough for the upgrade to run a second time."""
    with migrated_database(backend, directory, server_url) as url:
        config = alembic_config(url)
        command.downgrade(config, revision)
        assert _revision(url) == revision
        command.upgrade(config, "head")
        assert _revision(url) == ScriptDirectory.from_config(config).get_current_head()
