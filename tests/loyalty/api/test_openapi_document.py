"""The OpenAPI document describes the errors the API really gives (issue 12 D40)."""

from __future__ import annotations

from loyalty.app import create_app
from loyalty.settings import Settings

METHODS = {"get", "post", "put", "patch", "delete"}


def document() -> dict:
    return create_app(Settings(_env_file=None, database_url="sqlite://:memory:")).openapi()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def error_ref(operation: dict, status: str) -> str:
    content = operation["responses"][status]["content"]["application/json"]
    return content["schema"]["$ref"]


def test_every_operation_documents_the_error_shape_for_422():
    schema = document()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "code"]
    for path, method, operation in operations(schema):
        assert error_ref(operation, "422") == "#/components/schemas/Error", (path, method)
        assert error_ref(operation, "4XX") == "#/components/schemas/Error", (path, method)


def test_keys_paths_and_conflicts_are_documented():
    schema = document()
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)
    assert "409" in schema["paths"]["/api/v1/pos/purchases"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/v1/segments/{segment_id}"]["delete"]["responses"]


def test_admin_till_calls_have_a_store_field():
    schemas = document()["components"]["schemas"]
    for name in ("BasketIn", "RedeemIn", "RefundIn"):
        assert "store" in schemas[name]["properties"], name


def test_files_are_documented_with_their_media_types():
    paths = document()["paths"]
    export = paths["/api/v1/segments/{segment_id}/export"]["get"]["responses"]["200"]["content"]
    assert {"text/csv; charset=utf-8", "application/xml; charset=utf-8"} <= set(export)
    results = paths["/api/v1/campaigns/{campaign_id}/results.csv"]["get"]["responses"]["200"]
    assert "text/csv; charset=utf-8" in results["content"]
