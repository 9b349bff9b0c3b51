"""`loyalty import cards`: a retailer's plastic cards, each row whole or not at all, idempotent."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

from crm_core.cards.models import Card
from crm_core.customers.models import Customer
from tests.support.staff import new_store
from tests.support.telegram_chat import TelegramChat

LOYALTY = str(Path(sys.executable).parent / "loyalty")


async def run_import(stack, path: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        LOYALTY,
        "import",
        "cards",
        str(path),
        env={**os.environ, "DATABASE_URL": stack.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode()


def unique_number() -> str:
    return str(random.randint(10**11, 10**12 - 1))  # 12 digits, any check scheme


def unique_phone() -> str:
    return f"+38099{random.randint(1000000, 9999999)}"


async def test_good_rows_are_imported_bad_rows_reported_and_a_rerun_changes_nothing(
    stack, tmp_path
):
    store = await new_store()
    taken = TelegramChat(stack, random.randint(5 * 10**11, 6 * 10**11))
    taken_phone = unique_phone()
    await taken.register("Зінаїда", taken_phone)
    taken_card = (await Card.filter(customer__phone=taken_phone).first()).number
    good = [
        (unique_number(), unique_phone(), "Марія", store.code),
        (unique_number(), unique_phone(), "Ivan", ""),
    ]
    duplicate_number = good[0][0]
    rows = [
        *good,
        ("12-34", unique_phone(), "Short", ""),  # line 4: too few digits
        (unique_number(), "not a phone", "Олег", ""),  # line 5
        (duplicate_number, unique_phone(), "Again", ""),  # line 6: duplicate in file
        (unique_number(), unique_phone(), "R2D2", ""),  # line 7: bad name
        (unique_number(), unique_phone(), "Петро", "NOPE"),  # line 8: unknown store
        (taken_card, unique_phone(), "Thief", ""),  # line 9: number of another customer
        (unique_number(), taken_phone, "Зінаїда", ""),  # line 10: phone already has a card
    ]
    path = tmp_path / "cards.csv"
    path.write_text(
        "card_number;phone;name;store\n" + "\n".join(";".join(r) for r in rows) + "\n",
        encoding="utf-8",
    )
    customers_before = await Customer.all().count()

    code, output = await run_import(stack, path)

    assert code == 1
    assert "created 2, unchanged 0, bad 7" in output
    for line in range(4, 11):
        assert f"line {line}:" in output
    assert "line 6: the same card number appears earlier in the file (line 2)" in output
    assert await Customer.all().count() == customers_before + 2
    imported = await Card.get(number=good[0][0]).prefetch_related("customer")
    assert imported.customer.phone == good[0][1] and imported.customer.first_name == "Марія"
    assert imported.store_id == store.id and imported.status == "active"
    assert not await Card.filter(number=rows[5][0]).exists()  # no partial row

    code, output = await run_import(stack, path)

    assert "created 0, unchanged 2, bad 7" in output
    assert await Customer.all().count() == customers_before + 2


async def test_a_file_without_the_required_columns_is_refused(stack, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("number,telephone\n123456789,+380991234567\n", encoding="utf-8")
    code, output = await run_import(stack, path)
    assert code != 0
    assert "missing columns: card_number, phone, name" in output


async def import_one(stack, tmp_path, name: str = "Оксана") -> tuple[str, str]:
    number, phone = unique_number(), unique_phone()
    path = tmp_path / "one.csv"
    path.write_text(f"card_number,phone,name\n{number},{phone},{name}\n", encoding="utf-8")
    code, output = await run_import(stack, path)
    assert code == 0, output
    return number, phone
