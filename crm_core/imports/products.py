"""Importing the catalogue: sku, name, category path. Idempotent on the SKU."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crm_core.catalogue.service import ensure_categories
from crm_core.imports.csvfile import forbidden_cell
from crm_core.imports.receipt_rows import Bad, category_path
from crm_core.imports.report import ImportReport
from crm_core.sql import Params, dialect_of, execute, fetch, transaction

REQUIRED = ("sku", "name")
BATCH = 2_000


async def import_products(
    rows: Iterable[tuple[int, dict[str, str]]], now: datetime
) -> ImportReport:
    """New SKUs are added; a known SKU gets the file's name and category (the same file again
    changes nothing); a SKU twice in one file is reported on its second row."""
    report = ImportReport("products")
    seen: set[str] = set()
    batch: list[tuple[int, str, str, str | None]] = []
    for row, values in rows:
        report.rows += 1
        if bad := forbidden_cell(values):
            report.reject(row, *bad)
            continue
        sku, name = values["sku"], values["name"]
        if not sku or len(sku) > 64:
            report.reject(row, "sku", "required, at most 64 characters")
            continue
        if sku in seen:
            report.reject(row, "sku", "the same SKU appears earlier in the file")
            continue
        if not name or len(name) > 255:
            report.reject(row, "name", "required, at most 255 characters")
            continue
        try:
            category = category_path(values.get("category", ""))
        except Bad as problem:
            report.reject(row, problem.column, problem.reason)
            continue
        seen.add(sku)
        batch.append((row, sku, name, category))
        if len(batch) >= BATCH:
            await _write(batch, now, report)
            batch = []
    if batch:
        await _write(batch, now, report)
    return report


async def _write(
    batch: list[tuple[int, str, str, str | None]], now: datetime, report: ImportReport
) -> None:
    async with transaction() as db:
        categories = await ensure_categories({c for *_, c in batch if c}, db)
        dialect = dialect_of(db)
        params = Params(dialect)
        existing = {
            row["sku"]: (row["name"], row["category_id"])
            for row in await fetch(
                "SELECT sku, name, category_id FROM products WHERE sku IN "
                f"{params.many([sku for _, sku, _, _ in batch])}",
                params.values,
                db,
            )
        }
        changed = []
        for _, sku, name, category in batch:
            category_id = categories[category].id if category else None
            if existing.get(sku) == (name, category_id):
                report.unchanged += 1
                continue
            changed.append((sku, name, category_id))
        if not changed:
            return
        params = Params(dialect)
        values = ", ".join(
            f"({params(sku)}, {params(name)}, {params(category_id)}, {params(now)})"
            for sku, name, category_id in changed
        )
        await execute(
            f"INSERT INTO products (sku, name, category_id, created_at) VALUES {values} "
            "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, "
            "category_id = excluded.category_id",
            params.values,
            db,
        )
        report.imported += len(changed)
