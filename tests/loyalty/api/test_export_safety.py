"""Exports stay well-formed and harmless whatever is stored: control characters from rows
written before the input rules existed, and text a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json
import secrets
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from crm_core.customers.models import Customer
from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key

# Stored as an old row would be: straight into the database, past today's input checks.
STORED = {
    "bell": "Ivan\u0007\u001b",
    "equals": "=1+2",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(A1:A2)",
    "tab": "\t=1+2",
    "return": "\r=1+2",
}
COLUMNS = "customer_id,first_name,phone,registered_at"


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def segment(stack, marketer) -> tuple[int, dict[int, str]]:
    """A segment whose members' names are the stored values above: {customer id: key}."""
    city = f"City-{secrets.token_hex(4)}"
    keys: dict[int, str] = {}
    for key in STORED:
        customer, _ = await new_customer("Placeholder", city=city)
        keys[customer.id] = key
    made = await stack.client.post(
        "/api/v1/segments",
        json={
            "name": f"stored {city}",
            "rule": {"type": "profile", "field": "city", "op": "eq", "value": city},
        },
        headers=marketer,
    )
    assert made.status_code in (200, 201), made.text
    for customer_id, key in keys.items():
        await Customer.filter(id=customer_id).update(first_name=STORED[key])
    return made.json()["id"], keys


async def exported(stack, marketer, segment_id: int, fmt: str) -> bytes:
    answer = await stack.client.get(
        f"/api/v1/segments/{segment_id}/export",
        params={"format": fmt, "columns": COLUMNS},
        headers=marketer,
    )
    assert answer.status_code == 200, answer.text
    assert answer.content, f"the {fmt} export is empty"
    return answer.content


async def test_csv_cells_a_spreadsheet_would_run_are_escaped(stack, marketer, segment):
    segment_id, keys = segment
    text = (await exported(stack, marketer, segment_id, "csv")).decode("utf-8-sig")
    rows = {int(row["customer_id"]): row for row in csv.DictReader(io.StringIO(text))}
    names = {keys[customer_id]: row["first_name"] for customer_id, row in rows.items()}
    assert names["bell"] == "Ivan\ufffd\ufffd"
    for key in ("equals", "plus", "minus", "at", "tab", "return"):
        assert names[key] == "'" + STORED[key], key
    # A phone number is text too: "+380..." would be read as a number and lose its "+".
    assert all(row["phone"].startswith("'+380") for row in rows.values())


async def test_xlsx_holds_the_text_as_text_without_an_apostrophe(stack, marketer, segment):
    segment_id, keys = segment
    workbook = load_workbook(io.BytesIO(await exported(stack, marketer, segment_id, "xlsx")))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    assert header == ["customer_id", "first_name", "phone", "registered_at (UTC)"]
    names = {}
    for row in sheet.iter_rows(min_row=2):
        assert row[1].data_type == "s", row[1].value  # never a formula
        assert row[2].data_type == "s" and row[2].value.startswith("+380")
        names[keys[row[0].value]] = row[1].value
    assert names["bell"] == "Ivan\ufffd\ufffd"
    for key in ("equals", "plus", "minus", "at"):
        assert names[key] == STORED[key], key


async def test_xml_and_json_stay_well_formed(stack, marketer, segment):
    segment_id, keys = segment
    root = ET.fromstring(await exported(stack, marketer, segment_id, "xml"))  # noqa: S314
    names = {keys[int(c.findtext("customer_id"))]: c.findtext("first_name") for c in root}
    assert names["bell"] == "Ivan\ufffd\ufffd"
    assert names["equals"] == "=1+2"
    rows = json.loads(await exported(stack, marketer, segment_id, "json"))
    names = {keys[row["customer_id"]]: row["first_name"] for row in rows}
    assert names["bell"] == "Ivan\ufffd\ufffd"
    assert names["plus"] == STORED["plus"]


async def test_xlsx_money_and_times_are_numbers_with_formats(stack, marketer, segment):
    """Excel writes a formatted number as its reader's language does (1 234,50 or 1,234.50)."""
    segment_id, _keys = segment
    answer = await stack.client.get(
        f"/api/v1/segments/{segment_id}/export",
        params={"format": "xlsx", "columns": "customer_id,total_spent,registered_at"},
        headers=marketer,
    )
    sheet = load_workbook(io.BytesIO(answer.content)).active
    for row in sheet.iter_rows(min_row=2):
        assert row[1].data_type == "n" and row[1].number_format == "#,##0.00"
        assert row[2].is_date and row[2].number_format == "yyyy-mm-dd hh:mm"
