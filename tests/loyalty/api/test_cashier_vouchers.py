"""Vouchers at the till: exactly why one does not apply, and redemption exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.vouchers.models import VoucherKind
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import basket, customer_with_card, line, open_till, receipt_id


def validate_path(code: str) -> str:
    return f"/api/v1/pos/vouchers/{code}/validate"


def redeem_path(code: str) -> str:
    return f"/api/v1/pos/vouchers/{code}/redeem"


async def verdict(till, code: str, body: dict) -> dict:
    response = await till.post(validate_path(code), body, headers={"Accept-Language": "uk"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_voucher_that_applies_says_how_much(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, value="50.00")
    answer = await verdict(till, voucher.code, basket([line(price="120.00")], card=card.number))
    assert answer["applies"] is True and answer["discount"] == "50.00" and answer["reason"] is None


@pytest.mark.parametrize(
    ("setup", "reason_code", "message"),
    [
        (
            {"starts_in": timedelta(days=-10), "valid_for": timedelta(days=1)},
            "expired",
            "This voucher has expired.",
        ),
        ({"starts_in": timedelta(days=2)}, "not_yet_valid", "This voucher is not valid yet."),
        (
            {"min_basket": "500.00"},
            "basket_too_small",
            "The basket is too small: this voucher needs at least {minimum}.",
        ),
        (
            {"excluded_categories": ("Dairy",)},
            "category_excluded",
            "No item in the basket is in a category this voucher covers.",
        ),
        (
            {"allowed_categories": ("Bakery",)},
            "category_excluded",
            "No item in the basket is in a category this voucher covers.",
        ),
        (
            {"kind": VoucherKind.FREE_PRODUCT, "free_product_sku": "COFFEE-1", "value": "1"},
            "product_missing",
            "The free product of this voucher is not in the basket.",
        ),
        (
            {"currency": "EUR"},
            "wrong_currency",
            "This voucher is for another currency ({currency}).",
        ),
    ],
)
async def test_validation_explains_exactly_why_not(stack, setup, reason_code, message):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, **setup)
    answer = await verdict(
        till, voucher.code, basket([line("MILK-1L", "120.00")], card=card.number)
    )
    assert answer["applies"] is False and answer["reason_code"] == reason_code
    values = {"minimum": "500.00 UAH", "currency": "EUR"}
    expected = t("uk", message, **{k: v for k, v in values.items() if "{" + k + "}" in message})
    assert answer["reason"] == expected


async def test_someone_elses_voucher_and_a_personal_voucher_without_a_card(stack):
    till = await open_till(stack)
    _owner, owner_card = await customer_with_card(stack)
    _other, other_card = await customer_with_card(stack)
    voucher = await new_voucher(owner_card.customer_id)
    wrong = await verdict(till, voucher.code, basket([line(price="99.00")], card=other_card.number))
    assert wrong["reason_code"] == "not_this_customer"
    anonymous = await verdict(till, voucher.code, basket([line(price="99.00")]))
    assert anonymous["reason_code"] == "no_customer"


async def test_a_used_voucher_says_so(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = basket([line(price="99.00")])
    assert (
        await till.post(redeem_path(voucher.code), {**body, "receipt_id": receipt_id()})
    ).status_code == 200
    assert (await verdict(till, voucher.code, body))["reason_code"] == "used"


async def test_percent_discounts_count_only_eligible_lines_rounded_half_up(stack):
    till = await open_till(stack)
    voucher = await new_voucher(
        None,
        kind=VoucherKind.PERCENT,
        value="15",
        currency=None,
        allowed_categories=("Dairy",),
        excluded_categories=("Dairy/Cheese",),
    )
    lines = [
        line("MILK", "10.10", category=("Dairy", "Milk")),
        line("BRIE", "99.00", category=("Dairy", "Cheese")),
        line("BREAD", "20.00", category=("Bakery",)),
        line("MILKSHAKE", "50.00", category=("DairyDrinks",)),
    ]
    answer = await verdict(till, voucher.code, basket(lines))
    assert answer["applies"] is True and answer["discount"] == "1.52"  # 15% of 10.10 = 1.515


async def test_a_free_product_voucher_gives_one_unit(stack):
    till = await open_till(stack)
    voucher = await new_voucher(
        None, kind=VoucherKind.FREE_PRODUCT, value="1", free_product_sku="COFFEE-1", currency=None
    )
    answer = await verdict(till, voucher.code, basket([line("COFFEE-1", "45.00", "2")]))
    assert answer["applies"] is True and answer["discount"] == "45.00"


async def test_redeem_once_then_a_retry_for_that_receipt_is_the_same_success(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    body = {**basket([line(price="80.00")], card=card.number), "receipt_id": receipt_id()}

    first = await till.post(redeem_path(voucher.code), body)
    retry = await till.post(redeem_path(voucher.code), body)
    another = await till.post(redeem_path(voucher.code), {**body, "receipt_id": receipt_id()})

    assert first.status_code == 200 and first.json()["replay"] is False
    assert retry.status_code == 200 and retry.json() == {**first.json(), "replay": True}
    assert another.status_code == 409 and another.json()["code"] == "voucher_used"


async def test_a_bearer_voucher_needs_no_card(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = {**basket([line(price="80.00")]), "receipt_id": receipt_id()}
    assert (await till.post(redeem_path(voucher.code), body)).status_code == 200


async def test_unknown_and_mistyped_codes(stack):
    till = await open_till(stack)
    body = basket([line()])
    assert (await till.post(validate_path("23456789A"), body)).status_code in {404, 422}
    assert (await till.post(validate_path("not-a-code!"), body)).status_code == 422
