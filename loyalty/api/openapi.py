"""The OpenAPI document says what the answers really are.

FastAPI documents its own list-shaped 422 and nothing else; every error here is
`{"detail", "code"}` (validation errors add `fields`). This adds that shape to every
operation, with the statuses each can give: 401 and 403 where a key is needed, 404 where the
path names something, 422 everywhere (any request can carry a control character), 409, 413
and 429 where routes declare them, and a 4XX catch-all so an operation added later is
documented in the same shape from its first day.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = "Error"
PROBLEM = "FieldProblem"

ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR,
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "A sentence in the caller's language."},
        "code": {"type": "string", "description": "A stable code to act on."},
        "fields": {
            "type": "array",
            "items": {"$ref": f"#/components/schemas/{PROBLEM}"},
            "description": "Request validation: one entry per problem.",
        },
    },
    "additionalProperties": True,
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM,
    "type": "object",
    "required": ["location", "path", "code", "detail"],
    "properties": {
        "location": {"type": "string", "enum": ["body", "query", "path", "header"]},
        "path": {"type": "string", "examples": ["lines[1].quantity"]},
        "code": {"type": "string", "examples": ["greater_than"]},
        "detail": {"type": "string"},
    },
}
DESCRIPTIONS = {
    "400": "Not readable (webhooks: not a platform payload)",
    "401": "No key, or an unknown or revoked key",
    "403": "The key's role may not do this",
    "404": "Nothing with this id or code",
    "409": "Conflicts with the current state",
    "410": "Erased (or merged into another customer): `erased_at` says when",
    "413": "The body is larger than the limit",
    "422": "Not valid: `fields` names every problem",
    "429": "Too many requests: wait for Retry-After",
    "4XX": "Refused: detail says why",
    "500": "A fault on our side; the connection is closed after it",
}
# For routes that can answer 409 (declare it: `responses=CONFLICT`).
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": DESCRIPTIONS["409"]}}
# For routes about one customer, who may have been erased (`responses=GONE`).
GONE: dict[int | str, dict[str, Any]] = {410: {"description": DESCRIPTIONS["410"]}}


def files(*media_types: str, description: str = "A file") -> dict[int | str, dict[str, Any]]:
    """For routes answering a file: its media types, so the document says what comes back."""
    return {200: {"description": description, "content": {media: {} for media in media_types}}}


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _error_response(status: str) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS.get(status, "Refused"),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["422", "4XX", "500"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if "requestBody" in operation:
        statuses.append("413")
    return statuses


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a generated document in place: the error shape on every operation."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas[ERROR] = ERROR_SCHEMA
    schemas[PROBLEM] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            declared = [s for s in responses if s.startswith(("4", "5"))]
            for status in {*_statuses(path, operation), *declared}:
                responses[status] = _error_response(status)
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
