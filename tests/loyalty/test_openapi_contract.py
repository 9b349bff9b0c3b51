"""A bounded property-based run of the whole OpenAPI document (Schemathesis), as a marketer
and as a cashier: any 5xx, or any answer whose status, media type or body the document does
not describe, fails the run.

Fixed seed and a few examples per operation (positive and negative), so it takes about a
minute in `make test` and fails the same way every time. The marketer's key runs every
operation; the cashier's runs the till's (on the marketer's routes it only meets 403, which
the marketer's run already checks is documented). FUZZ_EXAMPLES=50 runs a longer search.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key, new_store

pytestmark = pytest.mark.db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))  # per operation and generation mode
SEED = 20261202
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CASHIER_PATHS = ("/api/v1/pos/",)


def fuzz(
    document: dict[str, Any], base_url: str, headers: dict[str, str], prefixes: tuple[str, ...]
) -> list[str]:
    """Operations whose path starts with one of `prefixes`; one line per failing one."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(prefixes):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _first_failure(operation, mode, base_url, headers)
            if failure:
                failures.append(failure)
    return failures


def _first_failure(operation, mode, base_url: str, headers: dict[str, str]) -> str | None:
    name = f"{operation.method.upper()} {operation.path} [{mode.value}]"
    seen: list[str] = []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        # Our key wins over whatever the generator put in Authorization.
        response = case.call(base_url=base_url, headers={**(case.headers or {}), **headers})
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as error:
            seen.append(f"{name} -> {response.status_code}: {_first_line(error)}")
            raise

    try:
        check()
    except Unsatisfiable:
        return None  # nothing to make invalid (no parameters, no body)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return seen[-1] if seen else f"{name}: {_first_line(error)}"
    return None


def _first_line(error: BaseException) -> str:
    inner = getattr(error, "exceptions", None)
    if inner:
        return "; ".join(_first_line(e) for e in inner)
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


async def test_the_whole_document_holds_as_marketer_and_as_cashier(stack):
    await new_customer("Anna", city="Kyiv")
    marketer = bearer(await new_key(Role.MARKETER))
    cashier = bearer(await new_key(Role.CASHIER, await new_store()))
    document = (await stack.client.get("/openapi.json")).json()
    base = stack.server.base_url
    failures = await asyncio.to_thread(fuzz, document, base, marketer, ("/",))
    failures += await asyncio.to_thread(fuzz, document, base, cashier, CASHIER_PATHS)
    assert not failures, "\n".join(failures)


async def test_the_run_catches_an_answer_the_document_does_not_describe(stack):
    """The harness is not vacuous: with the customer list's answer documented wrongly, the
    run reports that operation."""
    marketer = bearer(await new_key(Role.MARKETER))
    document = (await stack.client.get("/openapi.json")).json()
    path = "/api/v1/customers"
    listing = document["paths"][path]["get"]
    listing["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "object",
        "required": ["no_such_key"],
    }
    document["paths"] = {path: {"get": listing}}
    failures = await asyncio.to_thread(fuzz, document, stack.server.base_url, marketer, ("/",))
    assert len(failures) == 1 and failures[0].startswith(f"GET {path} [positive] -> 200")
