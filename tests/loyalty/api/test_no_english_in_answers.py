"""No English inside another language's answer: the reasons crm_core gives (voucher,
campaign, profile) are codes the API says in the caller's language, and so are the body
limit and the web chat's own refusals."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.segments import city_segment
from tests.support.staff import bearer, new_key
from tests.support.texts import t

pytestmark = pytest.mark.db

LANGUAGES = ("uk", "pl", "cs", "ru")
# Words that are the same in every language here: formats, protocols, units, JSON literals.
SHARED_WORDS = {"SKU", "cron", "JSON", "true", "false", "UTC", "ISO", "MiB", "KiB", "https"}
# Words that are also Polish, Czech, ... (cognates), not leaks.
SHARED_WORDS |= {"moment", "text", "limit"}


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


@pytest.fixture
async def segment(stack, marketer) -> int:
    city = f"Lang-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    return (await city_segment(stack.client, marketer, city))["id"]


def voucher(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "percent",
        "value": "10",
        "title": "Знижка",
        "valid_from": "2026-12-01T00:00:00+02:00",
        "valid_until": "2026-12-31T00:00:00+02:00",
        **changes,
    }


def campaign(segment_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Тиждень",
        "segment_id": segment_id,
        "messages": {"uk": {"text": "{first_name}, ваш код {voucher_code}"}},
        "default_language": "uk",
        "schedule": {"kind": "recurring", "cron": "0 10 * * mon"},
        "control_percent": 0,
        "voucher": {"kind": "percent", "value": "10", "valid_days": 14, "title": "-10%"},
        **changes,
    }


def words(text: str) -> set[str]:
    """Words of three letters or more outside quotes (quoted parts such as the field path
    “voucher.currency” are names, not English)."""
    unquoted = re.sub(r"[\u00ab\u201e\u201c][^\u00bb\u201c\u201d]*[\u00bb\u201c\u201d]", "", text)
    return {w.lower() for w in re.findall(r"[^\W\d_]{3,}", unquoted)}


def english_words(detail: str, english: str, request: str = "") -> set[str]:
    """Words of the English answer that reappear in another language's answer, except
    those the request brought and those every language shares."""
    shared = {w.lower() for w in SHARED_WORDS} | words(request.replace('"', " "))
    return (words(detail) & words(english)) - shared


REFUSALS = [
    ("/api/v1/vouchers", voucher(valid_until="2026-11-01T00:00:00+02:00"), "ends_before_start"),
    ("/api/v1/vouchers", voucher(value="150"), "percent_out_of_range"),
    ("/api/v1/vouchers", voucher(kind="fixed_amount", value="50"), "amount_without_currency"),
    ("/api/v1/vouchers", voucher(kind="free_product"), "product_without_sku"),
    ("/api/v1/vouchers", voucher(valid_from="yesterday"), "invalid_request"),
    ("/api/v1/campaigns", {"voucher": {"kind": "fixed_amount", "value": "50", "title": "x"}},
     "bad_voucher"),
    ("/api/v1/campaigns", {"voucher": {"kind": "magic", "value": "10", "title": "x"}},
     "bad_voucher"),
    ("/api/v1/campaigns",
     {"voucher": {"kind": "percent", "value": "10", "title": "x", "valid_days": 0}},
     "bad_voucher"),
    ("/api/v1/campaigns", {"messages": {"uk": {"text": "Привіт, {first_name"}}},
     "broken_template"),
    ("/api/v1/campaigns", {"messages": {"uk": {"text": "Привіт } {first_name}"}}},
     "broken_template"),
    ("/api/v1/campaigns", {"schedule": {"kind": "recurring", "cron": "61 * * * *"}}, "bad_cron"),
    ("/api/v1/campaigns", {"schedule": {"kind": "recurring", "cron": "0 10 * *"}}, "bad_cron"),
    ("/api/v1/campaigns", {"schedule": {"kind": "once", "at": "2030-01-01T10:00:00"}},
     "bad_schedule"),
]  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
async def test_typical_refusals_carry_no_english(stack, marketer, segment, language):
    for path, payload, code in REFUSALS:
        sent = campaign(segment, **payload) if path.endswith("campaigns") else payload
        response = await stack.client.post(
            path, json=sent, headers={**marketer, "Accept-Language": language}
        )
        assert response.status_code == 422, response.text
        answer = response.json()
        assert code in (answer["code"], answer.get("problem")), answer
        english = await stack.client.post(
            path, json=sent, headers={**marketer, "Accept-Language": "en"}
        )
        leaked = english_words(answer["detail"], english.json()["detail"], json.dumps(sent))
        assert not leaked, (language, code, answer["detail"])


async def test_a_voucher_that_ends_before_it_starts_is_said_in_ukrainian(stack, marketer):
    response = await stack.client.post(
        "/api/v1/vouchers",
        json=voucher(valid_until="2026-11-01T00:00:00+02:00"),
        headers={**marketer, "Accept-Language": "uk"},
    )
    assert response.status_code == 422
    answer = response.json()
    reason = t("uk", "its end must come after its start")
    assert answer["detail"] == t("uk", "This voucher cannot be issued: {reason}.", reason=reason)
    assert (answer["code"], answer["problem"], answer["field"]) == (
        "voucher_invalid",
        "ends_before_start",
        "valid_until",
    )
    assert "valid_until must be after" not in response.text


async def test_a_campaign_voucher_names_the_field_and_says_why_in_ukrainian(
    stack, marketer, segment
):
    response = await stack.client.post(
        "/api/v1/campaigns",
        json=campaign(segment, voucher={"kind": "fixed_amount", "value": "50", "title": "x"}),
        headers={**marketer, "Accept-Language": "uk"},
    )
    answer = response.json()
    assert answer["path"] == "voucher.currency"
    reason = t(
        "uk",
        "This voucher cannot be honoured: {detail}.",
        detail=t("uk", "a fixed amount needs a positive value and a currency"),
    )
    assert answer["detail"] == t(
        "uk", "The campaign is not valid at \u201c{path}\u201d: {reason}", path="voucher.currency",
        reason=reason,
    )  # fmt: skip


async def test_a_broken_template_points_at_the_unpaired_brace(stack, marketer, segment):
    response = await stack.client.post(
        "/api/v1/campaigns",
        json=campaign(segment, messages={"uk": {"text": "Вітаємо! {first_name, ваш код"}}),
        headers={**marketer, "Accept-Language": "uk"},
    )
    answer = response.json()
    assert answer["problem"] == "broken_template"
    assert "{first_name, ваш код" in answer["detail"]
    assert "expected '}'" not in answer["detail"]


@pytest.mark.parametrize("language", ("uk", *LANGUAGES[1:], "en"))
async def test_a_body_over_the_limit_is_413_in_the_callers_language(stack, language):
    huge = json.dumps({"session_id": "a" * 30, "text": "x" * (1024 * 1024)})
    response = await stack.client.post(
        "/api/v1/webchat/messages",
        content=huge,
        headers={"Content-Type": "application/json", "Accept-Language": language},
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": t(language, "The request body is larger than the limit of {limit}.",
                    limit="1 MiB"),
        "code": "body_too_large",
    }  # fmt: skip
    english = t("en", "The request body is larger than the limit of {limit}.", limit="1 MiB")
    if language != "en":
        assert not english_words(response.json()["detail"], english)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_unknown_chat_session_is_said_in_the_callers_language(stack, language):
    response = await stack.client.post(
        "/api/v1/webchat/messages",
        json={"session_id": "a" * 32, "text": "hi"},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == t(
        language, "Unknown chat session. Reload the page to start again."
    )
    english = t("en", "Unknown chat session. Reload the page to start again.")
    assert not english_words(response.json()["detail"], english)
