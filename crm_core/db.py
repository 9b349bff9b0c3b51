"""Database wiring shared by the app, the CLI, migrations and tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import get_current_context

MODEL_MODULES = [
    "crm_core.customers.models",
    "crm_core.consents.models",
    "crm_core.cards.models",
    "crm_core.inbox.models",
    "crm_core.stores.models",
    "crm_core.staff.models",
    "crm_core.catalogue.models",
    "crm_core.purchases.models",
    "crm_core.vouchers.models",
    "crm_core.profiles.models",
    "crm_core.events.models",
    "crm_core.metrics.models",
    "crm_core.segments.models",
    "crm_core.campaigns.models",
    "crm_core.recommendations.models",
    "crm_core.churn.models",
    "crm_core.identity.models",
    "crm_core.tasks.models",
]


def is_postgres(db_url: str) -> bool:
    return urlsplit(db_url).scheme in {"postgres", "postgresql", "asyncpg", "psycopg"}


def tortoise_config(
    db_url: str,
    pool_size: int = 20,
    application_name: str | None = None,
    command_timeout: float | None = None,
) -> dict[str, Any]:
    """Tortoise config for a URL; PostgreSQL gets an explicit pool size, the process's name
    in `pg_stat_activity` and, when given, a bound on every statement's wait."""
    connection: str | dict[str, Any] = db_url
    if is_postgres(db_url):
        parts = urlsplit(db_url)
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": parts.username or "postgres",
                "password": parts.password or "",
                "database": parts.path.lstrip("/"),
                "minsize": 1,
                "maxsize": pool_size,
            },
        }
        if application_name:
            connection["credentials"]["application_name"] = application_name
        if command_timeout:
            connection["credentials"]["command_timeout"] = command_timeout
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(
    db_url: str,
    pool_size: int = 20,
    application_name: str | None = None,
    command_timeout: float | None = None,
) -> None:
    """Connect Tortoise for the whole process.

    The global fallback makes the connections visible to every task (request handlers,
    background jobs), not only to the task that initialised them.
    """
    # Tortoise caches compiled INSERT/DELETE SQL per connection *name*, not per dialect:
    # forget it, so a process that re-initialises on another database gets fresh SQL.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(
        config=tortoise_config(db_url, pool_size, application_name, command_timeout),
        _enable_global_fallback=True,
    )


async def close_db() -> None:
    context = get_current_context()
    if context is not None:
        await context.close_connections()


def sqlalchemy_url(db_url: str) -> str:
    """The same database as a synchronous SQLAlchemy URL, for Alembic and schema checks."""
    parts = urlsplit(db_url)
    if parts.scheme == "sqlite":
        path = db_url.split("://", 1)[1]
        if path == ":memory:":
            return "sqlite://"
        return "sqlite:///" + path
    if is_postgres(db_url):
        return "postgresql+psycopg://" + db_url.split("://", 1)[1]
    raise ValueError(f"Unsupported database URL scheme: {parts.scheme!r}")
