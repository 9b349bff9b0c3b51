"""CSV imports over HTTP: the body is the file, the answer is the report."""

from __future__ import annotations

import secrets

from crm_core.catalogue.models import Product
from crm_core.staff.models import Role
from tests.support.staff import bearer, new_key


async def test_a_products_file_is_imported_and_reported(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    tag = secrets.token_hex(3)
    body = f"sku,name,category\nP-{tag},Pear,Fruit/Pears\n,Nameless,Fruit\n".encode()
    answer = await stack.client.post(
        "/api/v1/imports/products",
        content=body,
        headers={**marketer, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows"], report["imported"], report["rejected_rows"]) == (2, 1, 1)
    assert report["rejections"] == [
        {"row": 3, "column": "sku", "reason": "required, at most 64 characters"}
    ]
    assert await Product.filter(sku=f"P-{tag}").exists()


async def test_a_file_larger_than_a_normal_request_is_accepted(stack):
    """Imports stream to disk: the 1 MiB limit of other requests does not apply."""
    marketer = bearer(await new_key(Role.MARKETER))
    tag = secrets.token_hex(3)
    rows = "".join(
        f"L-{tag}-{i},Long product name number {i:07d},Big/Catalogue\n" for i in range(40_000)
    )
    body = ("sku,name,category\n" + rows).encode()
    assert len(body) > 1024 * 1024
    answer = await stack.client.post(
        "/api/v1/imports/products", content=body, headers={**marketer, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 40_000


async def test_missing_columns_and_empty_bodies_are_refused(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    missing = await stack.client.post(
        "/api/v1/imports/purchases", content=b"store,sku\nA,B\n", headers=marketer
    )
    assert missing.status_code == 422 and missing.json()["code"] == "missing_columns"
    assert "receipt_id" in missing.json()["detail"]
    empty = await stack.client.post("/api/v1/imports/customers", content=b"", headers=marketer)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_file"
    cashier = await stack.client.post("/api/v1/imports/products", content=b"sku,name\n", headers={})
    assert cashier.status_code == 401
