"""Receipt lines name existing rows: checked per statement by triggers (migration 0008)."""

from __future__ import annotations

import os
import secrets

import pytest

from crm_core.catalogue.models import Product
from crm_core.clock import utcnow
from crm_core.purchases.models import Purchase, PurchaseLine
from crm_core.sql import execute
from tests.support.customers import buy, item, new_customer
from tests.support.databases import migrate_down_and_back
from tests.support.staff import new_store

LINE = (
    "INSERT INTO purchase_lines (purchase_id, line_no, product_id, category_id, quantity, "
    "unit_price, discount, line_total, refunded_quantity, customer_id, purchased_at) "
)


async def _receipt():
    store = await new_store()
    customer, card = await new_customer("Referenced")
    sku = f"REF-{secrets.token_hex(4)}"
    recorded = await buy(store, card, [item("Dairy/Milk", sku=sku)], utcnow())
    line = await PurchaseLine.get(purchase_id=recorded.purchase.id)
    return customer, line


@pytest.mark.parametrize(
    ("column", "value"),
    [("purchase_id", 10**12), ("product_id", 10**9), ("category_id", 10**9),
     ("customer_id", 10**12)],
)  # fmt: skip
async def test_a_line_naming_a_missing_row_is_refused(stack, column, value):
    _, line = await _receipt()
    values = {
        "purchase_id": line.purchase_id, "product_id": line.product_id,
        "category_id": line.category_id, "customer_id": line.customer_id,
    }  # fmt: skip
    original, values[column] = values[column], value
    with pytest.raises(Exception, match="no such"):
        await execute(
            LINE + f"VALUES ({values['purchase_id']}, 2, {values['product_id']}, "
            f"{values['category_id']}, 1, 1, 0, 1, 0, {values['customer_id']}, NULL)"
        )
    assert await PurchaseLine.filter(purchase_id=line.purchase_id).count() == 1
    with pytest.raises(Exception, match="no such"):
        await execute(f"UPDATE purchase_lines SET {column} = {value} WHERE id = {line.id}")
    assert await PurchaseLine.filter(id=line.id).values_list(column, flat=True) == [original]


async def test_deleting_a_receipt_deletes_its_lines(stack):
    _, line = await _receipt()
    await Purchase.filter(id=line.purchase_id).delete()
    assert not await PurchaseLine.filter(id=line.id).exists()


async def test_a_product_or_customer_named_by_lines_cannot_be_deleted(stack):
    customer, line = await _receipt()
    with pytest.raises(Exception, match="still named by purchase_lines"):
        await Product.filter(id=line.product_id).delete()
    assert await Product.filter(id=line.product_id).exists()
    await execute(f"UPDATE purchases SET customer_id = NULL WHERE id = {line.purchase_id}")
    with pytest.raises(Exception, match="still named by purchase_lines"):
        await execute(f"DELETE FROM customers WHERE id = {customer.id}")
    unused = await Product.create(sku=f"FREE-{secrets.token_hex(4)}", name="x", created_at=utcnow())
    await unused.delete()  # nothing names it


@pytest.mark.db
def test_the_migration_goes_down_to_foreign_keys_and_back(backend, tmp_path):
    migrate_down_and_back(backend, tmp_path, os.environ.get("TEST_DATABASE_URL"), "0007")
