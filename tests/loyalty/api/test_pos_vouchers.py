"""Vouchers at the till: exactly why one does not apply, and redemption exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_core.vouchers.codes import new_voucher_code
from crm_core.vouchers.models import Voucher, VoucherKind, VoucherRedemption, VoucherStatus
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import basket, customer_with_card, line, open_till, receipt_id

MILK = ("Dairy", "Milk")


def validate_path(code: str) -> str:
    return f"/api/v1/pos/vouchers/{code}/validate"


def redeem_path(code: str) -> str:
    return f"/api/v1/pos/vouchers/{code}/redeem"


async def verdict(till, code: str, body: dict, language: str = "uk") -> dict:
    response = await till.post(validate_path(code), body, headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    return response.json()


async def refusal(till, code: str, body: dict, language: str = "uk") -> tuple[str, str]:
    answer = await verdict(till, code, body, language)
    assert answer["applies"] is False and answer["discount"] == "0.00", answer
    return answer["reason_code"], answer["reason"]


async def test_a_voucher_that_applies_says_how_much_and_is_not_used_by_asking(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, value="50.00")

    answer = await verdict(till, voucher.code, basket([line(price="120.00")], card=card.number))

    assert answer["applies"] is True and answer["discount"] == "50.00"
    assert answer["reason"] is None and answer["reason_code"] is None
    assert answer["code"] == voucher.code and answer["voucher"]["code"] == voucher.code
    assert (await Voucher.get(id=voucher.id)).uses_count == 0


@pytest.mark.parametrize(
    ("setup", "reason_code", "message", "values"),
    [
        pytest.param(
            {"starts_in": timedelta(days=-10), "valid_for": timedelta(days=1)},
            "expired",
            "This voucher has expired.",
            {},
            id="expired",
        ),
        pytest.param(
            {"starts_in": timedelta(days=2)},
            "not_yet_valid",
            "This voucher is not valid yet.",
            {},
            id="not-yet-valid",
        ),
        pytest.param(
            {"min_basket": "120.01"},
            "basket_too_small",
            "The basket is too small: this voucher needs at least {minimum}.",
            {"minimum": {"uk": "120,01\u00a0грн", "en": "UAH\u00a0120.01"}},
            id="basket-too-small",
        ),
        pytest.param(
            {"excluded_categories": ("Dairy",)},
            "category_excluded",
            "No item in the basket is in a category this voucher covers.",
            {},
            id="parent-category-excluded",
        ),
        pytest.param(
            {"allowed_categories": ("Bakery", "Dairy/Cheese", "Dairy/Mil")},
            "category_excluded",
            "No item in the basket is in a category this voucher covers.",
            {},
            id="not-in-allowed-categories",
        ),
        pytest.param(
            {"kind": VoucherKind.FREE_PRODUCT, "free_product_sku": "COFFEE-1", "value": "1"},
            "product_missing",
            "The free product of this voucher is not in the basket.",
            {},
            id="free-product-missing",
        ),
        pytest.param(
            {"currency": "EUR"},
            "wrong_currency",
            "This voucher is for another currency ({currency}).",
            {"currency": "EUR"},
            id="wrong-currency",
        ),
    ],
)
async def test_validation_explains_exactly_why_not(stack, setup, reason_code, message, values):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, **setup)
    body = basket([line("MILK-1L", "120.00", category=MILK)], card=card.number)

    for language in ["uk", "en"]:
        said = {k: v[language] if isinstance(v, dict) else v for k, v in values.items()}
        assert await refusal(till, voucher.code, body, language) == (
            reason_code,
            t(language, message, **said),
        )


async def test_a_used_voucher_says_so(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = basket([line(price="99.00")])
    redeemed = await till.post(redeem_path(voucher.code), {**body, "receipt_id": receipt_id()})
    assert redeemed.status_code == 200

    assert await refusal(till, voucher.code, body) == (
        "used",
        t("uk", "This voucher has already been used."),
    )


async def test_a_cancelled_voucher_says_so(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    await Voucher.filter(id=voucher.id).update(status=VoucherStatus.CANCELLED)
    reason_code, _ = await refusal(till, voucher.code, basket([line()]))
    assert reason_code == "cancelled"


async def test_someone_elses_voucher_and_a_personal_voucher_without_a_card(stack):
    till = await open_till(stack)
    _owner, owner_card = await customer_with_card(stack)
    _other, other_card = await customer_with_card(stack)
    voucher = await new_voucher(owner_card.customer_id)
    lines = [line(price="99.00")]

    assert await refusal(till, voucher.code, basket(lines, card=other_card.number)) == (
        "not_this_customer",
        t("uk", "This voucher belongs to another customer."),
    )
    assert await refusal(till, voucher.code, basket(lines)) == (
        "no_customer",
        t("uk", "This voucher is personal: scan the customer's card first."),
    )
    owners = await verdict(till, voucher.code, basket(lines, card=owner_card.number))
    assert owners["applies"] is True


async def test_a_basket_exactly_at_the_minimum_is_enough(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None, min_basket="120.00")
    answer = await verdict(till, voucher.code, basket([line(price="120.00")]))
    assert answer["applies"] is True


async def test_a_category_covers_its_subcategories_and_nothing_else(stack):
    till = await open_till(stack)
    dairy_only = await new_voucher(None, allowed_categories=("Dairy",))
    no_dairy = await new_voucher(None, excluded_categories=("Dairy",))
    milk = line("MILK", "30.00", category=("Dairy", "Milk", "Organic"))
    shake = line("SHAKE", "40.00", category=("DairyDrinks",))
    loose = line("LOOSE", "20.00", category=())

    assert (await verdict(till, dairy_only.code, basket([milk])))["discount"] == "30.00"
    assert (await verdict(till, dairy_only.code, basket([shake, loose])))[
        "reason_code"
    ] == "category_excluded"
    assert (await verdict(till, no_dairy.code, basket([milk])))["reason_code"] == (
        "category_excluded"
    )
    assert (await verdict(till, no_dairy.code, basket([milk, shake, loose])))["discount"] == (
        "50.00"  # 40.00 + 20.00 are eligible, the voucher is worth 50.00
    )


async def test_percent_discounts_count_only_eligible_lines_rounded_half_up(stack):
    till = await open_till(stack)
    voucher = await new_voucher(
        None,
        kind=VoucherKind.PERCENT,
        value="5",
        currency=None,
        allowed_categories=("Dairy",),
        excluded_categories=("Dairy/Cheese",),
    )
    lines = [
        line("MILK", "15.25", "2", category=("Dairy", "Milk")),  # 30.50: eligible
        line("BRIE", "99.00", category=("Dairy", "Cheese", "Soft")),  # excluded
        line("BREAD", "20.00", category=("Bakery",)),  # not allowed
        line("SHAKE", "50.00", category=("DairyDrinks",)),  # not under Dairy
    ]

    answer = await verdict(till, voucher.code, basket(lines))

    assert answer["applies"] is True
    assert answer["discount"] == "1.53"  # 5% of 30.50 = 1.525: half up, not to even (1.52)


async def test_a_fixed_amount_is_capped_at_what_it_covers(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None, value="50.00", allowed_categories=("Dairy",))
    lines = [line("MILK", "12.34", category=MILK), line("BREAD", "99.00", category=("Bakery",))]
    assert (await verdict(till, voucher.code, basket(lines)))["discount"] == "12.34"


async def test_a_free_product_voucher_gives_one_unit_of_it(stack):
    till = await open_till(stack)
    voucher = await new_voucher(
        None,
        kind=VoucherKind.FREE_PRODUCT,
        value="1",
        free_product_sku="COFFEE-1",
        currency=None,
        excluded_categories=("Alcohol",),
    )
    coffee = line("COFFEE-1", "45.00", "2", category=("Drinks", "Coffee"))
    liqueur_coffee = line("COFFEE-1", "45.00", category=("Alcohol",))

    assert (await verdict(till, voucher.code, basket([coffee])))["discount"] == "45.00"
    assert (await verdict(till, voucher.code, basket([liqueur_coffee])))["reason_code"] == (
        "product_missing"
    )


async def test_unknown_mistyped_and_unreadable_codes(stack):
    till = await open_till(stack)
    body = basket([line()])
    voucher = await new_voucher(None)
    mistyped = voucher.code[:-1] + ("2" if voucher.code[-1] != "2" else "3")

    unknown = await till.post(validate_path(new_voucher_code()), body)
    typo = await till.post(validate_path(mistyped), body)
    garbage = await till.post(validate_path("not-a-code!"), body)

    assert unknown.status_code == 404 and unknown.json()["code"] == "voucher_not_found"
    assert typo.status_code == 422 and typo.json()["code"] == "voucher_mistyped"
    assert garbage.status_code == 422 and garbage.json()["code"] == "code_unreadable"


async def test_redeem_once_then_a_retry_for_that_receipt_is_the_same_success(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    body = {**basket([line(price="80.00")], card=card.number), "receipt_id": receipt_id()}

    first = await till.post(redeem_path(voucher.code), body)
    retry = await till.post(redeem_path(voucher.code.lower()), body)

    assert first.status_code == 200, first.text
    assert first.json()["code"] == voucher.code and first.json()["receipt_id"] == body["receipt_id"]
    assert first.json()["discount"] == "50.00" and first.json()["replay"] is False
    assert retry.status_code == 200
    assert retry.json() == {**first.json(), "replay": True}
    assert datetime.fromisoformat(retry.json()["redeemed_at"]) == datetime.fromisoformat(
        first.json()["redeemed_at"]
    )
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    (redemption,) = await VoucherRedemption.filter(voucher_id=voucher.id)
    assert redemption.customer_id == card.customer_id and redemption.till == "T1"


async def test_redeeming_on_another_receipt_is_409_used(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = {**basket([line(price="80.00")]), "receipt_id": receipt_id()}
    assert (await till.post(redeem_path(voucher.code), body)).status_code == 200

    another = await till.post(
        redeem_path(voucher.code),
        {**body, "receipt_id": receipt_id()},
        headers={"Accept-Language": "uk"},
    )

    assert another.status_code == 409
    assert another.json() == {
        "code": "voucher_used",
        "detail": t("uk", "This voucher has already been used."),
    }
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1


async def test_a_refused_redemption_says_why_and_takes_nothing(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None, min_basket="500.00")
    body = {**basket([line(price="80.00")]), "receipt_id": receipt_id()}

    response = await till.post(redeem_path(voucher.code), body, headers={"Accept-Language": "en"})

    assert response.status_code == 409
    assert response.json() == {
        "code": "voucher_basket_too_small",
        "detail": t(
            "en",
            "The basket is too small: this voucher needs at least {minimum}.",
            minimum="UAH\u00a0500.00",
        ),
        "minimum": "500.00",
        "currency": "UAH",
    }
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
    assert not await VoucherRedemption.filter(voucher_id=voucher.id).exists()


async def test_a_bearer_voucher_needs_no_card(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = {**basket([line(price="80.00")]), "receipt_id": receipt_id()}

    response = await till.post(redeem_path(voucher.code), body)

    assert response.status_code == 200 and response.json()["discount"] == "50.00"
    assert (await VoucherRedemption.get(voucher_id=voucher.id)).customer_id is None


async def test_a_voucher_for_several_uses_is_honoured_that_many_times(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None, uses_allowed=2)
    lines = [line(price="80.00")]
    statuses = [
        (
            await till.post(
                redeem_path(voucher.code), {**basket(lines), "receipt_id": receipt_id()}
            )
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 409]
    assert (await Voucher.get(id=voucher.id)).uses_count == 2


async def test_a_basket_given_by_its_total_alone_is_checked_against_the_total(stack):
    """A till that sends no lines: vouchers without a category condition apply to the total."""
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    fixed = await new_voucher(card.customer_id, value="50.00")
    percent = await new_voucher(None, kind=VoucherKind.PERCENT, value="10", currency=None)
    not_tobacco = await new_voucher(None, value="20.00", excluded_categories=("Tobacco",))
    dairy_only = await new_voucher(None, allowed_categories=("Dairy",))
    minimum = await new_voucher(None, min_basket="300.00")
    total_only = {"total": "250.00", "lines": []}

    answer = await verdict(till, fixed.code, {**total_only, "card": card.number})
    assert (answer["applies"], answer["discount"]) == (True, "50.00")
    assert (await verdict(till, percent.code, total_only))["discount"] == "25.00"
    assert (await verdict(till, not_tobacco.code, total_only))["discount"] == "20.00"
    needed = "This voucher covers only some categories: say which categories are in the basket."
    assert await refusal(till, dairy_only.code, total_only, "en") == (
        "categories_needed",
        t("en", needed),
    )
    assert (await refusal(till, minimum.code, total_only))[0] == "basket_too_small"
    # Redeeming with the total alone works the same way.
    body = {**total_only, "card": card.number, "receipt_id": receipt_id()}
    redeemed = await till.post(redeem_path(fixed.code), body)
    assert redeemed.status_code == 200 and redeemed.json()["discount"] == "50.00"
