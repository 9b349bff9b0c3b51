"""CSV imports over HTTP: the body is the file, the answer is the report."""

from __future__ import annotations

import secrets

from crm_core.catalogue.models import Product
from crm_core.staff.models import Role
from tests.support.staff import bearer, new_key
from tests.support.texts import t


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
        {"row": 3, "column": "sku", "reason": t("uk", "required, at most 64 characters")}
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


async def test_a_windows_1251_file_is_read_and_a_binary_one_refused_in_words(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    sku = f"SKU-{secrets.token_hex(4)}"
    body = f"sku;name\n{sku};Молоко 2,5%\n".encode("cp1251")
    answer = await stack.client.post("/api/v1/imports/products", content=body, headers=marketer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 1 and answer.json()["encoding"] == "cp1251"
    assert (await Product.get(sku=sku)).name == "Молоко 2,5%"

    named = await stack.client.post(
        "/api/v1/imports/products",
        params={"encoding": "utf-16"},
        content=f"sku,name\n{sku}-2,Хліб\n".encode("utf-16"),
        headers=marketer,
    )
    assert named.status_code == 200 and named.json()["imported"] == 1, named.text

    binary = await stack.client.post(
        "/api/v1/imports/products",
        content=b"sku,name\nA,\x98\xff\x00\x81\n",
        headers={**marketer, "Accept-Language": "en"},
    )
    assert binary.status_code == 422
    assert binary.json()["code"] == "unreadable_text"
    assert binary.json()["detail"] == t(
        "en",
        "The file is not text in UTF-8, UTF-16 or Windows-1251. Save it as CSV (UTF-8), or "
        "name its encoding with the encoding parameter.",
    )
    wrong = await stack.client.post(
        "/api/v1/imports/products",
        params={"encoding": "utf-8"},
        content=b"sku,name\nA,\x98\xff\n",
        headers={**marketer, "Accept-Language": "en"},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "unreadable_text"
    assert wrong.json()["detail"] == t(
        "en", "The file is not valid {encoding} text (line {line}).", encoding="utf-8", line=2
    )
    unknown = await stack.client.post(
        "/api/v1/imports/products",
        params={"encoding": "martian"},
        content=b"sku,name\nA,B\n",
        headers=marketer,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_encoding"
