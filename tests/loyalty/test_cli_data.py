"""`loyalty import ...` and `loyalty export segment ...` from a terminal, on a fresh database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loyalty.migrations import upgrade_to_head

LOYALTY = [sys.executable, "-m", "loyalty.cli"]


def run(args: list[str], database: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database, "DEFAULT_PHONE_REGION": "UA"}
    return subprocess.run(
        [*LOYALTY, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    upgrade_to_head(url)
    return url


def test_import_then_export_from_the_terminal(tmp_path, database):
    assert run(["stores", "create", "--code", "KY1", "--name", "Kyiv", "--timezone",
                "Europe/Kyiv", "--currency", "UAH"], database).returncode == 0  # fmt: skip
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "phone;first_name;card_number;city\n"
        "+380501112233;Olena;4000001234567;Lviv\n"
        "+380501112244;Taras;;Kyiv\n"
        "nonsense;Bad;;\n",
        encoding="utf-8",
    )
    imported = run(["import", "customers", str(customers)], database)
    assert imported.returncode == 1  # a rejected row makes the exit status say so
    assert "imported 2" in imported.stdout
    assert "row 4, column phone: not a valid phone number" in imported.stdout

    lines = tmp_path / "lines.csv"
    lines.write_text(
        "store,receipt_id,purchased_at,card_number,sku,name,category,quantity,unit_price,line_total\n"
        "KY1,R1,2026-11-01T10:00:00+02:00,4000001234567,MILK,Milk,Dairy/Milk,2,30.00,60.00\n"
        "KY1,R1,2026-11-01T10:00:00+02:00,4000001234567,BREAD,Bread,Bakery,1,20.00,20.00\n"
        "KY1,R2,2026-11-02T10:00:00+02:00,,MILK,Milk,Dairy/Milk,1,30.00,30.00\n",
        encoding="utf-8",
    )
    first = run(["import", "purchases", str(lines)], database)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "imported 2 (3 lines)" in first.stdout
    again = run(["import", "purchases", str(lines)], database)
    assert "imported 0 (0 lines), unchanged 2" in again.stdout

    missing = run(["export", "segment", "1", "-o", str(tmp_path / "none.csv")], database)
    assert missing.returncode != 0
    assert "no segment 1" in missing.stdout + missing.stderr


def test_missing_columns_are_named(tmp_path, database):
    products = tmp_path / "products.csv"
    products.write_text("sku,title\nA,B\n", encoding="utf-8")
    result = run(["import", "products", str(products)], database)
    assert result.returncode != 0
    assert "missing columns: name" in result.stdout + result.stderr


def test_export_of_a_segment(tmp_path, database):
    """A segment made through the API's service, exported by the CLI and read back."""
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "phone,first_name,city\n+380501110001,Ira,Lviv\n+380501110002,Oles,Kyiv\n", encoding="utf-8"
    )
    assert run(["import", "customers", str(customers)], database).returncode == 0
    script = (
        "import asyncio\n"
        "from crm_core.db import init_db, close_db\n"
        "from crm_core.segments.service import create_segment\n"
        "from crm_core.segments.models import SegmentKind\n"
        "from crm_core.clock import utcnow\n"
        "async def main():\n"
        f"    await init_db({database!r})\n"
        "    await create_segment('Lviv', SegmentKind.STATIC, "
        "{'type': 'profile', 'field': 'city', 'op': 'eq', 'value': 'Lviv'}, utcnow())\n"
        "    await close_db()\n"
        "asyncio.run(main())\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    output = tmp_path / "lviv.csv"
    exported = run(["export", "segment", "1", "-o", str(output), "--columns",
                    "first_name,city,stage"], database)  # fmt: skip
    assert exported.returncode == 0, exported.stdout + exported.stderr
    rows = list(csv.DictReader(output.read_text(encoding="utf-8-sig").splitlines()))
    assert rows == [{"first_name": "Ira", "city": "Lviv", "stage": "registered"}]


CYRILLIC = "phone;first_name;city\n+380501112233;Олена;Львів\n+380501112244;Тарас;Київ\n"


def names(database: str) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(database.removeprefix("sqlite://")) as db:
        return db.execute("SELECT first_name, city FROM customers ORDER BY phone").fetchall()


@pytest.mark.parametrize("encoding", ["cp1251", "utf-16", "utf-16-le", "utf-8-sig", "utf-8"])
def test_a_csv_in_the_encodings_excel_saves_is_read(tmp_path, database, encoding):
    """Excel in Ukraine saves "CSV" as Windows-1251; "Unicode text" is UTF-16."""
    path = tmp_path / "customers.csv"
    path.write_bytes(CYRILLIC.encode(encoding))
    imported = run(["import", "customers", str(path)], database)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "imported 2" in imported.stdout
    assert names(database) == [("Олена", "Львів"), ("Тарас", "Київ")]


def test_the_encoding_can_be_named(tmp_path, database):
    path = tmp_path / "customers.csv"
    path.write_bytes(CYRILLIC.encode("koi8-u"))  # would be read as Windows-1251 otherwise
    imported = run(["import", "customers", str(path), "--encoding", "koi8-u"], database)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert names(database) == [("Олена", "Львів"), ("Тарас", "Київ")]


def test_a_file_that_is_not_text_is_refused_in_words(tmp_path, database):
    path = tmp_path / "customers.csv"
    path.write_bytes(b"phone,first_name\n+380501112233,\x98\xff\x00\x81\n")
    refused = run(["import", "customers", str(path)], database)
    assert refused.returncode == 2
    output = refused.stdout + refused.stderr
    assert "Traceback" not in output
    assert "not text in UTF-8, UTF-16 or Windows-1251" in output
    wrong = run(["import", "customers", str(path), "--encoding", "utf-8"], database)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "not valid utf-8 text (line 2)" in wrong.stdout + wrong.stderr
    unknown = run(["import", "customers", str(path), "--encoding", "martian"], database)
    assert unknown.returncode == 2 and "no text encoding called martian" in unknown.stderr
    assert names(database) == []
