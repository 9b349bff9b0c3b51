"""An import's rejected rows give their reasons in the caller's language, and every reason
crm_core can give has its translation (a new one without it fails here)."""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import pytest

from crm_core.imports import receipt_rows
from crm_core.staff.models import Role
from loyalty.api.import_texts import REASONS, reason_text
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t

ROOT = Path(__file__).resolve().parents[3]


def literal_reasons() -> set[str]:
    """Reason phrases written inline: `_Bad(column, "...")`, `report.reject(row, column, "...")`,
    and the phrase constants of receipt_rows."""
    found: set[str] = set()
    for name in ("customers.py", "products.py"):
        tree = ast.parse((ROOT / "crm_core" / "imports" / name).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            last = node.args[-1] if node.args else None
            if callee in ("_Bad", "reject") and isinstance(last, ast.Constant):
                found.add(last.value)
    phrases = ("UNKNOWN_STORE", "BAD_RECEIPT_ID", "NOT_TOGETHER", "NOT_A_TIME", "IN_FUTURE",
               "CARD_DIFFERS", "CHANGED", "BAD_SKU", "NOT_A_NUMBER", "NOT_POSITIVE", "NEGATIVE",
               "TOTAL_MISMATCH", "BAD_CATEGORY", "NO_CARD", "OTHER_LINE")  # fmt: skip
    return found | {getattr(receipt_rows, phrase) for phrase in phrases}


@pytest.mark.parametrize("language", ["uk", "pl", "cs", "ru"])
def test_every_reason_crm_core_gives_is_translated(language):
    reasons = literal_reasons()
    assert len(reasons) > 20
    assert reasons <= set(REASONS), reasons - set(REASONS)
    for reason in reasons:
        assert reason_text(reason, language) != reason, (language, reason)
    assert reason_text("expected number", language) == t(
        language, "expected {values}", values=t(language, "a number")
    )


@pytest.mark.db
async def test_a_products_import_reports_in_ukrainian(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    tag = secrets.token_hex(3)
    body = f"sku,name\nP-{tag},Pear\nP-{tag},Pear again\n,Nameless\nQ-{tag},\n".encode()
    answer = await stack.client.post(
        "/api/v1/imports/products",
        content=body,
        headers={**marketer, "Content-Type": "text/csv", "Accept-Language": "uk"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejections"] == [
        {"row": 3, "column": "sku", "reason": t("uk", "the same SKU appears earlier in the file")},
        {"row": 4, "column": "sku", "reason": t("uk", "required, at most 64 characters")},
        {"row": 5, "column": "name", "reason": t("uk", "required, at most 255 characters")},
    ]


@pytest.mark.db
async def test_a_purchases_import_reports_in_polish(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    store = await new_store()
    body = (
        "store,receipt_id,purchased_at,sku,quantity,unit_price,line_total\n"
        f"NOPE-{secrets.token_hex(3)},R-1,2026-01-05T10:00:00+02:00,A,1,1.00,1.00\n"
        f"{store.code},R-2,yesterday,A,1,1.00,1.00\n"
        f"{store.code},R-3,2026-01-05T10:00:00+02:00,A,x,1.00,1.00\n"
    ).encode()
    answer = await stack.client.post(
        "/api/v1/imports/purchases", content=body, headers={**marketer, "Accept-Language": "pl"}
    )
    assert answer.status_code == 200, answer.text
    said = {r["row"]: r["reason"] for r in answer.json()["rejections"]}
    assert said == {
        2: t("pl", "unknown store code"),
        3: t("pl", "not a date and time (ISO 8601)"),
        4: t("pl", "not a number"),
    }
