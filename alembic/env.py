"""Alembic environment: the database URL is the service's DATABASE_URL (or -x url=...)."""

from __future__ import annotations

import os
from logging.config import fileConfig

from sqlalchemy import create_engine, pool

from alembic import context
from crm_core.db import sqlalchemy_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    explicit = context.get_x_argument(as_dictionary=True).get("url")
    if explicit:
        return explicit
    if config.attributes.get("database_url"):
        return config.attributes["database_url"]
    from loyalty.settings import Settings

    return os.environ.get("DATABASE_URL") or Settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=sqlalchemy_url(_database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(sqlalchemy_url(_database_url()), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
