"""The schema Alembic migrations build is exactly the schema the Tortoise models describe.

Alembic owns the schema, Tortoise is the runtime ORM: this test makes drift impossible by
migrating one empty database, letting Tortoise create another, and comparing both.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa
from tortoise.context import TortoiseContext

from crm_core.db import sqlalchemy_url, tortoise_config
from tests.support.databases import fresh_database, migrated_database

# apscheduler_jobs is APScheduler's job store: created by a migration, not a Tortoise model.
IGNORED_TABLES = {"alembic_version", "sqlite_sequence", "apscheduler_jobs"}


def _type_name(column_type: Any) -> str:
    name = str(column_type).upper()
    if getattr(column_type, "timezone", False):
        name += " WITH TIME ZONE"
    return name


def describe_schema(db_url: str) -> dict[str, Any]:
    """Tables, columns (type, nullability, default, key), uniques, indexes and foreign keys."""
    engine = sa.create_engine(sqlalchemy_url(db_url))
    try:
        inspector = sa.inspect(engine)
        schema: dict[str, Any] = {}
        for table in sorted(set(inspector.get_table_names()) - IGNORED_TABLES):
            pk = inspector.get_pk_constraint(table)["constrained_columns"]
            columns = {
                c["name"]: {
                    "type": _type_name(c["type"]),
                    "nullable": c["nullable"],
                    # Serial columns get their sequence default from the type itself.
                    "default": None if c["name"] in pk else c.get("default"),
                }
                for c in inspector.get_columns(table)
            }
            if engine.dialect.name == "sqlite":
                uniques, indexes, foreign_keys = _sqlite_keys(engine, table)
            else:
                uniques, indexes, foreign_keys = _inspected_keys(inspector, table)
            schema[table] = {
                "primary_key": tuple(pk),
                "columns": columns,
                "uniques": sorted(uniques),
                "indexes": sorted(indexes),
                "foreign_keys": sorted(foreign_keys, key=repr),
            }
        return schema
    finally:
        engine.dispose()


def _inspected_keys(inspector: Any, table: str) -> tuple[set, set, set]:
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
    indexes = set()
    for index in inspector.get_indexes(table):
        if index.get("unique"):
            uniques.add(tuple(index["column_names"]))
        else:
            indexes.add(tuple(index["column_names"]))
    foreign_keys = {
        (
            tuple(fk["constrained_columns"]),
            fk["referred_table"],
            tuple(fk["referred_columns"]),
            (fk.get("options") or {}).get("ondelete", "NO ACTION").upper(),
        )
        for fk in inspector.get_foreign_keys(table)
    }
    return uniques, indexes, foreign_keys


def _sqlite_keys(engine: sa.Engine, table: str) -> tuple[set, set, set]:
    """SQLite's own catalogue: SQLAlchemy's parser misses inline UNIQUE and ON DELETE."""
    uniques, indexes, foreign_keys = set(), set(), set()
    with engine.connect() as connection:
        for row in connection.exec_driver_sql(f'PRAGMA index_list("{table}")').mappings():
            if row["origin"] == "pk":
                continue
            columns = tuple(
                info["name"]
                for info in connection.exec_driver_sql(
                    f'PRAGMA index_info("{row["name"]}")'
                ).mappings()
            )
            (uniques if row["unique"] else indexes).add(columns)
        for row in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")').mappings():
            foreign_keys.add(((row["from"],), row["table"], (row["to"],), row["on_delete"].upper()))
    return uniques, indexes, foreign_keys


async def tortoise_schema(db_url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(db_url, pool_size=2))
        await context.generate_schemas(safe=False)


async def test_migrations_build_exactly_the_tortoise_schema(backend, tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    with migrated_database(backend, tmp_path, server) as migrated_url:
        with fresh_database(backend, tmp_path, server) as generated_url:
            await tortoise_schema(generated_url)
            migrated = describe_schema(migrated_url)
            generated = describe_schema(generated_url)

    assert set(migrated) == set(generated), "tables differ"
    for table in generated:
        assert migrated[table] == generated[table], f"table {table} differs"


def test_the_comparison_notices_a_drift(tmp_path):
    """A guard for the guard: a column missing from one side is reported."""
    with migrated_database("sqlite", tmp_path, None) as url:
        before = describe_schema(url)
        engine = sa.create_engine(sqlalchemy_url(url))
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE cards ADD COLUMN extra VARCHAR(5)"))
            connection.execute(sa.text("CREATE INDEX ix_cards_extra ON cards (extra)"))
        engine.dispose()
        after = describe_schema(url)
    assert before["cards"] != after["cards"]
    assert after["cards"]["columns"]["extra"] == {
        "type": "VARCHAR(5)",
        "nullable": True,
        "default": None,
    }
    assert ("extra",) in after["cards"]["indexes"]


@pytest.mark.parametrize("table", ["customers", "channel_identities", "consents", "cards"])
def test_every_core_table_is_migrated(tmp_path, table):
    with migrated_database("sqlite", tmp_path, None) as url:
        assert table in describe_schema(url)
