"""Receipts and category spend name existing rows: checked per statement (migration 0010)."""

from __future__ import annotations

import os
import secrets

import pytest

from crm_core.catalogue.service import ensure_categories
from crm_core.clock import utcnow
from crm_core.metrics.models import CategorySpend
from crm_core.purchases.models import Purchase
from crm_core.sql import execute
from crm_core.stores.models import Store
from tests.support.customers import buy, item, new_customer
from tests.support.databases import migrate_down_and_back
from tests.support.staff import new_store

MISSING = 10**9


def _receipt_sql(store_id: int, customer_id: int | None, card_id: int | None) -> str:
    at = utcnow().isoformat(sep=" ")
    return (
        "INSERT INTO purchases (store_id, till, receipt_id, purchased_at, customer_id, "
        "card_id, currency, total, discount_total, refunded_total, payments, status, "
        f"fingerprint, created_at) VALUES ({store_id}, 'T1', 'R-{secrets.token_hex(4)}', "
        f"'{at}', {customer_id or 'NULL'}, {card_id or 'NULL'}, 'UAH', 1, 0, 0, '[]', "
        f"'completed', 'f', '{at}')"
    )


async def _receipt():
    store = await new_store()
    customer, card = await new_customer("Referenced receipt")
    recorded = await buy(store, card, [item("Dairy/Milk")], utcnow())
    return store, customer, card, await Purchase.get(id=recorded.purchase.id)


@pytest.mark.parametrize("column", ["store_id", "customer_id", "card_id"])
async def test_a_receipt_naming_a_missing_row_is_refused(stack, column):
    store, customer, card, purchase = await _receipt()
    values = {"store_id": store.id, "customer_id": customer.id, "card_id": card.id}
    original, values[column] = values[column], MISSING
    before = await Purchase.all().count()
    with pytest.raises(Exception, match="purchases: no such"):
        await execute(_receipt_sql(**values))
    assert await Purchase.all().count() == before
    with pytest.raises(Exception, match="purchases: no such"):
        await execute(f"UPDATE purchases SET {column} = {MISSING} WHERE id = {purchase.id}")
    assert await Purchase.filter(id=purchase.id).values_list(column, flat=True) == [original]


async def test_a_receipt_without_customer_or_card_is_still_accepted(stack):
    store = await new_store()
    await execute(_receipt_sql(store.id, None, None))
    assert await Purchase.filter(store_id=store.id, customer_id=None).count() == 1


async def test_a_store_customer_or_card_named_by_receipts_cannot_be_deleted(stack):
    store, customer, card, purchase = await _receipt()
    with pytest.raises(Exception, match=r"still named by purchases\.store_id"):
        await execute(f"DELETE FROM stores WHERE id = {store.id}")
    assert await Store.filter(id=store.id).exists()
    with pytest.raises(Exception, match=r"still named by purchases\.card_id"):
        await execute(f"DELETE FROM cards WHERE id = {card.id}")
    await execute(f"DELETE FROM purchase_lines WHERE purchase_id = {purchase.id}")
    await execute(f"UPDATE purchases SET card_id = NULL WHERE id = {purchase.id}")
    with pytest.raises(Exception, match=r"still named by purchases\.customer_id"):
        await execute(f"DELETE FROM customers WHERE id = {customer.id}")
    unused = await new_store()
    await execute(f"DELETE FROM stores WHERE id = {unused.id}")  # nothing names it
    assert not await Store.filter(id=unused.id).exists()


@pytest.mark.parametrize("column", ["customer_id", "category_id"])
async def test_spend_naming_a_missing_row_is_refused(stack, column):
    customer, _ = await new_customer("Spender")
    category = (await ensure_categories([f"Spend{secrets.token_hex(3)}"])).popitem()[1]
    values = {"customer_id": customer.id, "category_id": category.id}
    values[column] = MISSING
    with pytest.raises(Exception, match="customer_category_spend: no such"):
        await execute(
            "INSERT INTO customer_category_spend (customer_id, category_id, spent_minor, lines) "
            f"VALUES ({values['customer_id']}, {values['category_id']}, 100, 1)"
        )
    assert not await CategorySpend.filter(**{column: MISSING}).exists()
    row = await CategorySpend.create(customer=customer, category=category, spent_minor=100, lines=1)
    with pytest.raises(Exception, match="customer_category_spend: no such"):
        await execute(
            f"UPDATE customer_category_spend SET {column} = {MISSING} WHERE id = {row.id}"
        )
    await execute(f"UPDATE customer_category_spend SET lines = 2 WHERE id = {row.id}")
    assert (await CategorySpend.get(id=row.id)).lines == 2


async def test_deleting_a_customer_or_category_deletes_its_spend(stack):
    customer, _ = await new_customer("Leaving")
    paths = [f"Gone{secrets.token_hex(3)}", f"Kept{secrets.token_hex(3)}"]
    categories = await ensure_categories(paths)
    gone, kept = (categories[path] for path in paths)
    other, _ = await new_customer("Staying")
    for who in (customer, other):
        for category in (gone, kept):
            await CategorySpend.create(customer=who, category=category, spent_minor=100, lines=1)
    await execute(f"DELETE FROM categories WHERE id = {gone.id}")
    assert not await CategorySpend.filter(category_id=gone.id).exists()
    await execute(f"DELETE FROM customers WHERE id = {customer.id}")
    assert not await CategorySpend.filter(customer_id=customer.id).exists()
    assert await CategorySpend.filter(customer_id=other.id).count() == 1


@pytest.mark.db
def test_the_migration_goes_down_to_foreign_keys_and_back(backend, tmp_path):
    migrate_down_and_back(backend, tmp_path, os.environ.get("TEST_DATABASE_URL"), "0009")
