"""Imports: whole rows or nothing, every rejected row reported, a second run changes nothing."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest

from crm_core.cards.models import Card
from crm_core.catalogue.models import Product
from crm_core.clock import utcnow
from crm_core.customers.models import Customer
from crm_core.imports.csvfile import CsvFile, MissingColumns
from crm_core.imports.customers import REQUIRED as CUSTOMER_COLUMNS
from crm_core.imports.customers import import_customers
from crm_core.imports.products import REQUIRED as PRODUCT_COLUMNS
from crm_core.imports.products import import_products
from crm_core.imports.purchases import REQUIRED as PURCHASE_COLUMNS
from crm_core.imports.purchases import import_purchases
from crm_core.imports.receipt_rows import OTHER_LINE
from crm_core.metrics.models import CategorySpend, CustomerMetrics
from crm_core.metrics.service import recompute_customers
from crm_core.profiles.models import CustomFieldValue
from crm_core.profiles.service import define_field
from crm_core.purchases.models import Purchase, PurchaseLine
from tests.support.customers import CARD_POLICY, buy, item, new_customer
from tests.support.staff import new_store


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{secrets.token_hex(4)}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def rows(path: Path, required: tuple[str, ...]):
    return CsvFile(path).rows(required)


async def test_products_import_is_idempotent_and_reports_bad_rows(stack, tmp_path):
    tag = secrets.token_hex(3)
    path = write(
        tmp_path,
        "sku;name;category\n"
        f"A-{tag};Milk 1 l;Dairy/Milk\n"
        f"B-{tag};Rye bread;Bakery > Bread\n"
        f";No SKU;Dairy\n"
        f"A-{tag};Milk again;Dairy/Milk\n"
        f"C-{tag};Broken path;Dairy//Milk\n",
    )
    report = await import_products(rows(path, PRODUCT_COLUMNS), utcnow())
    assert (report.rows, report.imported, report.rejected_rows) == (5, 2, 3)
    assert [(r.row, r.column) for r in report.rejections] == [
        (4, "sku"),
        (5, "sku"),
        (6, "category"),
    ]
    bread = await Product.get(sku=f"B-{tag}").select_related("category")
    assert bread.category.path == "Bakery/Bread"
    again = await import_products(rows(path, PRODUCT_COLUMNS), utcnow())
    assert (again.imported, again.unchanged) == (0, 2)


async def test_customers_import_creates_links_and_validates_whole_rows(stack, tmp_path):
    tag = secrets.token_hex(3)
    await define_field(f"pet_{tag}", "Pet", "choice", ["dog", "cat"], utcnow())
    existing, existing_card = await new_customer("Taken")
    phone_a = f"+38050{secrets.randbelow(10**7):07d}"
    phone_b = f"+38063{secrets.randbelow(10**7):07d}"
    phone_c = f"+38066{secrets.randbelow(10**7):07d}"
    path = write(
        tmp_path,
        f"phone,first_name,card_number,city,birth_date,marketing_consent,pet_{tag}\n"
        f"{phone_a},Iryna,4000001234567,Lviv,1985-04-12,yes,dog\n"
        f"{phone_b},Petro,,Kyiv,,no,\n"
        f"not-a-phone,Nobody,,,,,\n"
        f"{phone_c},Half,,Odesa,,,hamster\n"
        f"+380670000000,Thief,{existing_card.number},,,,\n",
    )
    report = await import_customers(
        rows(path, CUSTOMER_COLUMNS), "UA", "uk", "Europe/Kyiv", CARD_POLICY, utcnow()
    )
    assert (report.imported, report.rejected_rows) == (2, 3)
    assert {(r.row, r.column) for r in report.rejections} == {
        (4, "phone"),
        (5, f"pet_{tag}"),
        (6, "card_number"),
    }
    iryna = await Customer.get(phone=phone_a)
    assert iryna.city == "Lviv" and str(iryna.birth_date) == "1985-04-12"
    assert iryna.marketing_consent is True
    assert (await Card.get(customer_id=iryna.id)).number == "4000001234567"
    assert await CustomFieldValue.filter(customer_id=iryna.id, text_value="dog").exists()
    petro = await Customer.get(phone=phone_b)
    assert await Card.filter(customer_id=petro.id, status="active").exists()  # a digital card
    # The row with a bad custom field value left nothing behind.
    assert not await Customer.filter(phone=phone_c).exists()
    again = await import_customers(
        rows(path, CUSTOMER_COLUMNS), "UA", "uk", "Europe/Kyiv", CARD_POLICY, utcnow()
    )
    assert (again.imported, again.unchanged) == (0, 2)
    assert (await Customer.get(id=existing.id)).first_name == "Taken"


async def test_purchases_import_whole_receipts_and_metrics(stack, tmp_path):
    store = await new_store()
    customer, card = await new_customer("Buyer")
    tag = secrets.token_hex(3)
    header = (
        "store,receipt_id,purchased_at,card_number,sku,name,category,"
        "quantity,unit_price,discount,line_total\n"
    )
    s, n = store.code, card.number
    path = write(
        tmp_path,
        header
        + f"{s},R1-{tag},2026-03-01T10:00:00+02:00,{n},M-{tag},Milk,Dairy/Milk,2,30.00,0,60.00\n"
        + f"{s},R1-{tag},2026-03-01T10:00:00+02:00,{n},B-{tag},Bread,Bakery,1,15.50,0.50,15.00\n"
        + f"{s},R2-{tag},2026-03-08 09:30:00,{n},M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n"
        + f"{s},R3-{tag},2026-03-09T09:30:00Z,{n},M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n"
        + f"{s},R3-{tag},2026-03-09T09:30:00Z,{n},X-{tag},Wrong,Dairy/Milk,3,10.00,0,31.00\n"
        + f"{s},R4-{tag},2026-03-10T09:30:00Z,999999999999,M-{tag},Milk,,1,30.00,0,30.00\n"
        + f"NOPE,R5-{tag},2026-03-10T09:30:00Z,,M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n"
        + f"{s},R6-{tag},yesterday,,M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n"
        + f"{s},R7-{tag},2026-03-11T09:30:00Z,,M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n"
        + f"{s},R2-{tag},2026-03-08 09:30:00,{n},M-{tag},Milk,Dairy/Milk,1,30.00,0,30.00\n",
    )
    report = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())
    assert (report.rows, report.imported, report.lines) == (10, 3, 4)
    rejected = {(r.row, r.column, r.reason) for r in report.rejections}
    assert (6, "line_total", "is not quantity x unit_price - discount") in rejected
    assert (5, "receipt_id", "another line of this receipt was rejected") in rejected
    assert {r.row for r in report.rejections} == {5, 6, 7, 8, 9, 11}
    reasons = {r.row: r.reason for r in report.rejections}
    assert reasons[7] == "no card with this number"
    assert reasons[8] == "unknown store code"
    assert reasons[11] == "lines of this receipt are not together in the file"

    r1 = await Purchase.get(store_id=store.id, receipt_id=f"R1-{tag}")
    assert str(r1.total) == "75.00" and str(r1.discount_total) == "0.50"
    assert r1.customer_id == customer.id
    assert await PurchaseLine.filter(purchase_id=r1.id).count() == 2
    r2 = await Purchase.get(store_id=store.id, receipt_id=f"R2-{tag}")
    assert r2.purchased_at.utcoffset().total_seconds() == 0
    assert r2.purchased_at.hour == 7  # 09:30 in the store's Kyiv time (UTC+2 in March)
    anonymous = await Purchase.get(store_id=store.id, receipt_id=f"R7-{tag}")
    assert anonymous.customer_id is None
    assert not await Purchase.filter(store_id=store.id, receipt_id=f"R3-{tag}").exists()

    metrics = await CustomerMetrics.get(customer_id=customer.id)
    assert (metrics.receipts, metrics.spent_minor) == (2, 10500)

    again = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())
    assert (again.imported, again.unchanged, again.lines) == (0, 3, 0)
    assert await Purchase.filter(store_id=store.id).count() == 3
    assert (await CustomerMetrics.get(customer_id=customer.id)).receipts == 2


async def test_a_file_without_the_needed_columns_is_refused(stack, tmp_path):
    path = write(tmp_path, "sku,title\nA,B\n")
    with pytest.raises(MissingColumns) as missing:
        list(rows(path, PRODUCT_COLUMNS))
    assert missing.value.missing == ["name"]


async def test_imported_receipts_add_to_metrics_exactly_as_a_rebuild_would(stack, tmp_path):
    """Imports add to metrics instead of rereading history: the result must be the same."""
    store = await new_store()
    customer, card = await new_customer("Regular")
    now = utcnow()
    await buy(store, card, [item("Baby/Food", "45.00", "2"), item("Bakery", "12.00")],
              now - timedelta(days=40))  # fmt: skip
    tag = secrets.token_hex(3)
    recent = (now - timedelta(days=2)).isoformat()

    def line(receipt: str, at: str, sku: str, category: str, quantity: int, price: str) -> str:
        total = f"{quantity * float(price):.2f}"
        return f"{store.code},{receipt}-{tag},{at},{card.number},{sku}-{tag},{sku},{category}," + (
            f"{quantity},{price},{total}"
        )

    csv_text = "\n".join(
        [
            "store,receipt_id,purchased_at,card_number,sku,name,category,quantity,unit_price,"
            "line_total",
            line("A", "2026-01-05T10:00:00+02:00", "Puree", "Baby/Food", 3, "20.00"),
            line("A", "2026-01-05T10:00:00+02:00", "Toy", "Toys/Soft", 1, "99.90"),
            line("B", recent, "Puree", "Baby/Food", 1, "20.00"),
        ]
    )
    report = await import_purchases(rows(write(tmp_path, csv_text), PURCHASE_COLUMNS), now)
    assert report.imported == 2

    fields = ("receipts", "spent_minor", "items_milli", "first_purchase_at", "last_purchase_at",
              "favourite_category_id", "stage")  # fmt: skip
    added = await CustomerMetrics.get(customer_id=customer.id).values(*fields)
    spend_added = sorted(
        await CategorySpend.filter(customer_id=customer.id).values_list(
            "category_id", "spent_minor", "lines"
        )
    )
    await recompute_customers(now, [customer.id])
    rebuilt = await CustomerMetrics.get(customer_id=customer.id).values(*fields)
    spend_rebuilt = sorted(
        await CategorySpend.filter(customer_id=customer.id).values_list(
            "category_id", "spent_minor", "lines"
        )
    )
    assert added == rebuilt
    assert spend_added == spend_rebuilt
    assert added["receipts"] == 3 and added["spent_minor"] == 9000 + 1200 + 6000 + 9990 + 2000
    assert added["stage"] == "regular"


async def test_every_reason_a_purchase_line_is_refused_is_the_same_on_both_databases(
    stack, tmp_path
):
    """One receipt per rule: the report names the row, the column and the reason exactly
    (PostgreSQL checks lines in SQL, SQLite in Python: both must say the same)."""
    store = await new_store()
    _, card = await new_customer("Checked")
    tag = secrets.token_hex(3)
    s, n = store.code, card.number

    def line(receipt: str, quantity="1", price="10.00", discount="0", total="10.00",
             sku="SKU", category="Dairy", at="2026-03-01T10:00:00Z", card=n) -> str:  # fmt: skip
        sku = f"{sku}-{tag}" if sku else ""
        return (f"{s},{receipt}-{tag},{at},{card},{sku},Item,{category},"
                f"{quantity},{price},{discount},{total}")  # fmt: skip

    cases = [
        ("A", {"sku": ""}, "sku", "required, at most 64 characters"),
        ("B", {"quantity": "abc"}, "quantity", "not a number"),
        ("C", {"quantity": "1e3"}, "quantity", "not a number"),
        ("D", {"quantity": "0", "total": "0"}, "quantity", "must be more than 0"),
        ("E", {"price": "-1", "total": "-1"}, "unit_price", "must not be negative"),
        ("F", {"price": "99999999999", "total": "1"}, "unit_price", "not a number"),
        ("G", {"discount": "x"}, "discount", "not a number"),
        ("H", {"discount": "-1", "total": "11"}, "discount", "must not be negative"),
        ("I", {"total": "ten"}, "line_total", "not a number"),
        ("J", {"total": "10.01"}, "line_total", "is not quantity x unit_price - discount"),
        ("K", {"category": "Dairy//Milk"}, "category",
         "a category path like Dairy/Milk (at most 4 levels)"),
        ("L", {"at": "2026-02-30T10:00:00Z"}, "purchased_at", "not a date and time (ISO 8601)"),
        ("M", {"at": "2999-01-01T10:00:00Z"}, "purchased_at",
         "in the future: more than 10 minutes ahead of the server's clock"),
        ("N", {"card": "2710000000009"}, "card_number", "no card with this number"),  # comes last
    ]  # fmt: skip
    good = [line("OK", quantity='"1,5"', price="10", total="15"), line("OK", discount="", sku="B")]
    header = (
        "store,receipt_id,purchased_at,card_number,sku,name,category,"
        "quantity,unit_price,discount,line_total"
    )
    # Each bad receipt has a good second line, reported as rejected with it.
    body = []
    for receipt, values, _, _ in cases:
        # The second line carries the first's card (lines with another card are refused).
        body += [line(receipt, **values), line(receipt, sku="OTHER", card=values.get("card", n))]
    path = write(tmp_path, "\n".join([header, *good, *body]))
    report = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())

    assert (report.rows, report.imported, report.lines) == (2 + 2 * len(cases), 1, 2)
    expected = []
    for index, (_, _, column, reason) in enumerate(cases):
        first = 4 + 2 * index  # the header is row 1, the good receipt rows 2-3
        expected += [(first, column, reason), (first + 1, "receipt_id", OTHER_LINE)]
    assert [(r.row, r.column, r.reason) for r in report.rejections] == expected
    ok = await Purchase.get(store_id=store.id, receipt_id=f"OK-{tag}")
    assert str(ok.total) == "25.00"
    lines = await PurchaseLine.filter(purchase_id=ok.id).order_by("line_no")
    assert [(str(x.quantity), str(x.line_total)) for x in lines] == [
        ("1.500", "15.00"),
        ("1.000", "10.00"),
    ]


async def test_a_file_written_in_many_batches_imports_as_one(stack, tmp_path, monkeypatch):
    """Batches end between receipts; a receipt seen again in a later batch is refused."""
    from crm_core.imports import purchases, purchases_staged

    monkeypatch.setattr(purchases_staged, "LINES_PER_BATCH", 3)
    monkeypatch.setattr(purchases, "BATCH_RECEIPTS", 2)
    store = await new_store()
    customer, card = await new_customer("Batched")
    tag = secrets.token_hex(3)

    def line(receipt: int, sku: str, total: str = "10.00") -> str:
        return (f"{store.code},B{receipt}-{tag},2026-03-0{receipt}T10:00:00Z,{card.number},"
                f"{sku}-{tag},Item,Dairy,1,10.00,0,{total}")  # fmt: skip

    text = [line(r, s) for r in range(1, 7) for s in ("X", "Y", "Z")]
    text[13] = line(5, "Y", total="9.00")  # receipt 5, second line
    text.append(line(2, "W"))  # receipt 2 again, after others: not together
    header = "store,receipt_id,purchased_at,card_number,sku,name,category,quantity,unit_price,"
    path = write(tmp_path, header + "discount,line_total\n" + "\n".join(text))

    report = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())
    assert (report.rows, report.imported, report.lines) == (19, 5, 15)
    assert [(r.row, r.column) for r in report.rejections] == [
        (14, "receipt_id"), (15, "line_total"), (16, "receipt_id"), (20, "receipt_id")
    ]  # fmt: skip
    assert report.rejections[-1].reason == "lines of this receipt are not together in the file"
    receipts = await Purchase.filter(store_id=store.id).order_by("receipt_id")
    assert [p.receipt_id for p in receipts] == [f"B{r}-{tag}" for r in (1, 2, 3, 4, 6)]
    assert all(str(p.total) == "30.00" for p in receipts)
    metrics = await CustomerMetrics.get(customer_id=customer.id)
    assert (metrics.receipts, metrics.spent_minor, metrics.stage) == (5, 15000, "lost")

    again = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())
    assert (again.imported, again.unchanged, again.rejected_rows) == (0, 5, 4)


@pytest.mark.postgres_only
async def test_concurrent_batches_meeting_the_same_new_category(stack, tmp_path):
    """PostgreSQL writes two batches at once; both meeting a category new to the catalogue
    aborted one of them ("current transaction is aborted") on a first import."""
    from crm_core.imports.purchases_staged import LINES_PER_BATCH

    store = await new_store()
    top = f"New-{secrets.token_hex(3)}"
    lines = ["store,receipt_id,purchased_at,sku,category,quantity,unit_price,line_total"]
    for number in range(LINES_PER_BATCH * 2 // 5 + 10):  # receipts of 5 lines: 3 batches
        for line_no in range(5):
            lines.append(
                f"{store.code},C{number},2026-03-01T10:00:00Z,{top}-{line_no},"
                f"{top}/Sub{line_no},1,1.00,1.00"
            )
    path = write(tmp_path, "\n".join(lines))
    report = await import_purchases(rows(path, PURCHASE_COLUMNS), utcnow())
    assert (report.rejected_rows, report.imported) == (0, LINES_PER_BATCH * 2 // 5 + 10)
