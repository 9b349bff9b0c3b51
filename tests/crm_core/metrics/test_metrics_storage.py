"""Metrics and category spend are updated in place on PostgreSQL (migration 0009).

Every receipt rewrites its customer's metrics row and spend rows; those writes stay cheap
only while no indexed column changes and the page has room for the new row version.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest

from crm_core.catalogue.models import Category
from crm_core.clock import utcnow
from crm_core.metrics.service import LineFigures, apply_purchase
from crm_core.sql import dialect_of, fetch, transaction
from tests.support.customers import buy, item, new_customer
from tests.support.databases import migrate_down_and_back
from tests.support.staff import new_store

TABLES = ("customer_metrics", "customer_category_spend")


def _postgres_only() -> None:
    if not dialect_of().postgres:
        pytest.skip("heap-only updates and fill factors are PostgreSQL's")


async def _updates(db) -> dict[str, tuple[int, int]]:
    """Rows updated, and of those updated in place, so far by this connection per table."""
    rows = await fetch(
        "SELECT c.relname AS name, pg_stat_get_xact_tuples_updated(c.oid) AS updated, "
        "pg_stat_get_xact_tuples_hot_updated(c.oid) AS in_place "
        "FROM pg_class c WHERE c.relname = ANY($1::text[])",
        [list(TABLES)],
        db,
    )
    return {row["name"]: (row["updated"], row["in_place"]) for row in rows}


async def test_a_later_receipt_rewrites_metrics_and_spend_without_touching_an_index(stack):
    _postgres_only()
    store = await new_store()
    customer, card = await new_customer("InPlace")
    first = utcnow() - timedelta(days=3)
    await buy(store, card, [item("Dairy/Milk")], first)
    await buy(store, card, [item("Dairy/Milk")], first + timedelta(days=1))  # a regular now
    dairy = await Category.get(path="Dairy")
    later = first + timedelta(days=2)  # moves last_purchase_at, as nearly every receipt does
    async with transaction() as db:  # counters are per backend, not flushed mid-transaction
        before = await _updates(db)
        await apply_purchase(
            customer.id,
            later,
            Decimal("4.00"),
            [LineFigures(dairy.id, Decimal("4.00"), Decimal(1))],
            later,
            db,
        )
        after = await _updates(db)
    for table in TABLES:
        updated = after[table][0] - before[table][0]
        in_place = after[table][1] - before[table][1]
        assert updated >= 1 and in_place == updated, (table, updated, in_place)


async def test_metrics_and_spend_pages_keep_room_for_updates(stack):
    _postgres_only()
    rows = await fetch(
        "SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname",
        [list(TABLES)],
    )
    assert [row["reloptions"] for row in rows] == [["fillfactor=75"], ["fillfactor=75"]]


@pytest.mark.db
def test_the_migration_goes_down_and_back(backend, tmp_path):
    migrate_down_and_back(backend, tmp_path, os.environ.get("TEST_DATABASE_URL"), "0008")
