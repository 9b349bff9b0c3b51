"""Receipts: recorded once however often a flaky till retries, exact to the cent, refundable."""

from __future__ import annotations

import secrets
from decimal import Decimal

from crm_core.catalogue.models import Category, Product
from crm_core.purchases.models import Purchase, PurchaseLine, Refund
from crm_core.vouchers.models import Voucher, VoucherKind, VoucherRedemption
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import basket, customer_with_card, line, open_till, receipt, receipt_id

PURCHASES = "/api/v1/pos/purchases"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def refund_path(purchase_id: int) -> str:
    return f"{PURCHASES}/{purchase_id}/refund"


async def record(till, lines, **extra) -> dict:
    response = await till.post(PURCHASES, receipt(lines, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_receipt_with_a_card_is_recorded(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Ірена")
    body = receipt(
        [
            line("RYE-BREAD", "33.33", "3", ("Bakery", "Bread")),
            line("MILK-1L", "42.50", discount="2.50"),
        ],
        card=card.number,
    )
    body["payments"] = [
        {"method": "card", "amount": "100.00"},
        {"method": "cash", "amount": "39.99"},
    ]

    response = await till.post(PURCHASES, body)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["store"] == till.store.code and answer["till"] == "T1"
    assert answer["receipt_id"] == body["receipt_id"]
    assert answer["total"] == "139.99" and answer["refunded_total"] == "0.00"
    assert answer["currency"] == "UAH" and answer["status"] == "completed"
    assert answer["customer_first_name"] == "Ірена"
    assert answer["vouchers"] == [] and answer["replay"] is False
    assert [(x["line_no"], x["line_total"]) for x in answer["lines"]] == [
        (1, "99.99"),
        (2, "40.00"),
    ]
    purchase = await Purchase.get(id=answer["id"])
    assert purchase.customer_id == card.customer_id and purchase.card_id == card.id
    assert purchase.total == Decimal("139.99") and purchase.discount_total == Decimal("2.50")
    assert purchase.payments == body["payments"]
    stored = await PurchaseLine.filter(purchase_id=purchase.id).order_by("line_no")
    assert [(x.quantity, x.unit_price, x.line_total) for x in stored] == [
        (Decimal("3"), Decimal("33.33"), Decimal("99.99")),
        (Decimal("1"), Decimal("42.50"), Decimal("40.00")),
    ]


async def test_unknown_products_and_categories_join_the_catalogue_with_their_parents(stack):
    till = await open_till(stack)
    sku, top = unique("SKU"), unique("Grocery")

    await record(till, [line(sku, "19.90", category=(top, "Bread", "Rye"), name="Rye loaf")])

    product = await Product.get(sku=sku).prefetch_related("category")
    assert product.name == "Rye loaf"
    assert product.category.path == f"{top}/Bread/Rye" and product.category.name == "Rye"
    middle = await Category.get(path=f"{top}/Bread")
    root = await Category.get(path=top)
    assert product.category.parent_id == middle.id
    assert middle.parent_id == root.id and middle.name == "Bread"
    assert root.parent_id is None and root.name == top


async def test_weights_and_many_units_add_up_exactly(stack):
    till = await open_till(stack)
    lines = [
        line("APPLES", "19.99", "0.750"),  # 14.9925
        line("WATER", "33.33", "3"),  # 99.99
        line("NUTS", "0.10", "0.333"),  # 0.0333
    ]
    assert [x["line_total"] for x in lines] == ["14.99", "99.99", "0.03"]

    answer = await record(till, lines)

    assert answer["total"] == "115.01"
    assert (await Purchase.get(id=answer["id"])).total == Decimal("115.01")


async def test_a_half_cent_may_be_rounded_up_as_tills_do(stack):
    till = await open_till(stack)
    weighed = line("CHEESE", "12.25", "0.5")  # 6.125
    half_up = {**weighed, "line_total": "6.13"}
    half_even = {**weighed, "line_total": "6.12"}
    too_much = {**weighed, "line_total": "6.14"}

    assert (await till.post(PURCHASES, receipt([half_up]))).status_code == 201
    assert (await till.post(PURCHASES, receipt([half_even]))).status_code == 201
    refused = await till.post(PURCHASES, receipt([too_much]))
    assert refused.status_code == 422 and refused.json()["expected"] == "6.13"


async def test_the_same_receipt_sent_again_is_one_purchase_with_the_same_answer(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    body = receipt([line(), line("BREAD", "19.90", category=("Bakery",))], card=card.number)

    first = await till.post(PURCHASES, body)
    again = await till.post(PURCHASES, body)

    assert first.status_code == again.status_code == 201
    assert first.json()["replay"] is False
    assert again.json() == {**first.json(), "replay": True}
    assert await Purchase.filter(store_id=till.store.id, receipt_id=body["receipt_id"]).count() == 1


async def test_the_same_receipt_id_in_another_store_is_another_purchase(stack):
    first, second = await open_till(stack), await open_till(stack)
    body = receipt([line()])
    one = await first.post(PURCHASES, body)
    other = await second.post(PURCHASES, body)
    assert one.status_code == other.status_code == 201
    assert one.json()["id"] != other.json()["id"] and other.json()["replay"] is False


async def test_a_receipt_id_reused_with_other_content_is_409(stack):
    till = await open_till(stack)
    body = receipt([line()])
    original = await till.post(PURCHASES, body)
    changed = {**receipt([line(price="10.00")]), "receipt_id": body["receipt_id"]}

    response = await till.post(PURCHASES, changed, headers={"Accept-Language": "uk"})

    assert response.status_code == 409
    assert response.json()["code"] == "receipt_reused"
    assert response.json()["detail"] == t(
        "uk",
        "Receipt {receipt_id} was already recorded with different content.",
        receipt_id=body["receipt_id"],
    )
    stored = await Purchase.get(store_id=till.store.id, receipt_id=body["receipt_id"])
    assert stored.id == original.json()["id"] and stored.total == Decimal("42.50")


async def test_totals_that_do_not_add_up_are_422_with_the_reason_and_nothing_is_written(stack):
    till = await open_till(stack)
    sku = unique("SKU")
    good = receipt([line(sku, "10.00", "3", category=(unique("Shelf"),))])
    wrong_line = {**good, "lines": [{**good["lines"][0], "line_total": "29.99"}]}
    wrong_total = {**good, "total": "31.00", "payments": [{"method": "cash", "amount": "31.00"}]}
    wrong_payments = {
        **good,
        "payments": [{"method": "cash", "amount": "20.00"}, {"method": "card", "amount": "9.99"}],
    }
    cases = [
        (
            wrong_line,
            "line_total_mismatch",
            "Line {line} does not add up: expected {expected}, got {given}.",
            {"line": "1", "expected": "30.00", "given": "29.99"},
            {"expected": "30,00\u00a0грн", "given": "29,99\u00a0грн"},
        ),
        (
            wrong_total,
            "total_mismatch",
            "The receipt total does not add up: the lines give {expected}, got {given}.",
            {"expected": "30.00", "given": "31.00"},
            {"expected": "30,00\u00a0грн", "given": "31,00\u00a0грн"},
        ),
        (
            wrong_payments,
            "payments_mismatch",
            "The payments do not add up to the total: expected {expected}, got {given}.",
            {"expected": "30.00", "given": "29.99"},
            {"expected": "30,00\u00a0грн", "given": "29,99\u00a0грн"},
        ),
    ]
    # The sentence writes amounts as Ukrainian does; the answer's fields keep plain decimals.
    for body, code, message, values, shown in cases:
        response = await till.post(PURCHASES, body, headers={"Accept-Language": "uk"})
        assert response.status_code == 422, code
        detail = t("uk", message, **{**values, **shown})
        assert response.json() == {"code": code, "detail": detail, **values}

    assert not await Purchase.filter(receipt_id=good["receipt_id"]).exists()
    assert not await Product.filter(sku=sku).exists()


async def test_a_voucher_listed_twice_is_422(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = receipt([line(price="99.00")], vouchers=[voucher.code, voucher.code.lower()])
    response = await till.post(PURCHASES, body)
    assert response.status_code == 422 and response.json()["code"] == "duplicate_voucher"
    assert (await Voucher.get(id=voucher.id)).uses_count == 0


async def test_an_anonymous_receipt_is_recorded(stack):
    till = await open_till(stack)
    answer = await record(till, [line()])
    assert answer["customer_first_name"] is None
    purchase = await Purchase.get(id=answer["id"])
    assert purchase.customer_id is None and purchase.card_id is None


async def test_a_purchase_time_without_a_timezone_is_422(stack):
    till = await open_till(stack)
    body = {**receipt([line()]), "purchased_at": "2026-11-22T10:15:00"}
    response = await till.post(PURCHASES, body)
    assert response.status_code == 422
    assert "timezone" in response.text
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_malformed_receipts_are_422(stack):
    till = await open_till(stack)
    for broken in [
        {"lines": []},
        {"payments": []},
        {"total": "1.005"},
        {"lines": [{**line(), "quantity": "0"}]},
        {"lines": [{**line(), "unit_price": "-1.00"}]},
        {"lines": [{**line(), "category_path": ["Dairy/Milk"]}]},
    ]:
        body = {**receipt([line()]), **broken}
        assert (await till.post(PURCHASES, body)).status_code == 422, broken
        assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_a_receipt_with_a_card_that_cannot_be_used_is_refused_whole(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    mistyped = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
    for number, status, code in [
        (mistyped, 422, "card_mistyped"),
        ("4111111111111111", 404, "card_not_found"),
    ]:
        body = receipt([line()], card=number)
        response = await till.post(PURCHASES, body)
        assert response.status_code == status and response.json()["code"] == code
        assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_vouchers_applied_on_a_receipt_are_redeemed_with_it(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    personal = await new_voucher(card.customer_id)
    bearer = await new_voucher(None, kind=VoucherKind.PERCENT, value="10", currency=None)
    body = receipt(
        [line(price="100.00", discount="60.00")],
        card=card.number,
        vouchers=[personal.code.lower(), bearer.code],
    )

    response = await till.post(PURCHASES, body)

    assert response.status_code == 201, response.text
    assert response.json()["vouchers"] == sorted([personal.code, bearer.code])
    for voucher in [personal, bearer]:
        assert (await Voucher.get(id=voucher.id)).uses_count == 1
        redemption = await VoucherRedemption.get(voucher_id=voucher.id)
        assert redemption.receipt_id == body["receipt_id"] and redemption.store_id == till.store.id
        assert redemption.customer_id == card.customer_id
    again = await till.post(PURCHASES, body)
    assert again.json() == {**response.json(), "replay": True}
    assert (await Voucher.get(id=personal.id)).uses_count == 1


async def test_a_voucher_that_does_not_apply_refuses_the_whole_receipt(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    fine = await new_voucher(card.customer_id)
    too_big = await new_voucher(card.customer_id, min_basket="1000.00")
    body = receipt([line(price="99.00")], card=card.number, vouchers=[fine.code, too_big.code])

    response = await till.post(PURCHASES, body, headers={"Accept-Language": "uk"})

    assert response.status_code == 409
    assert response.json()["code"] == "voucher_basket_too_small"
    assert response.json()["detail"] == t(
        "uk",
        "The basket is too small: this voucher needs at least {minimum}.",
        minimum="1\u00a0000,00\u00a0грн",  # the amount as uk writes it
    )
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()
    for voucher in [fine, too_big]:  # the one that did apply was rolled back too
        assert (await Voucher.get(id=voucher.id)).uses_count == 0
        assert not await VoucherRedemption.filter(voucher_id=voucher.id).exists()


async def test_an_unknown_voucher_refuses_the_whole_receipt(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    await Voucher.filter(id=voucher.id).delete()
    body = receipt([line()], vouchers=[voucher.code])
    response = await till.post(PURCHASES, body)
    assert response.status_code == 404 and response.json()["code"] == "voucher_not_found"
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_a_partial_refund_is_proportional(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3"), line("B", "10.00")])

    response = await till.post(
        refund_path(purchase["id"]),
        {"refund_id": "F-1", "lines": [{"line_no": 1, "quantity": "2"}]},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "purchase_id": purchase["id"],
        "refund_id": "F-1",
        "amount": "66.66",
        "status": "partially_refunded",
        "refunded_total": "66.66",
        "vouchers_returned": [],
        "replay": False,
    }
    lines = await PurchaseLine.filter(purchase_id=purchase["id"]).order_by("line_no")
    assert [x.refunded_quantity for x in lines] == [Decimal("2"), Decimal("0")]


async def test_refunding_a_line_unit_by_unit_gives_back_exactly_its_total(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.34", "3", discount="0.02")])  # 100.00
    amounts = []
    for number in range(3):
        response = await till.post(
            refund_path(purchase["id"]),
            {"refund_id": f"F-{number}", "lines": [{"line_no": 1, "quantity": "1"}]},
        )
        amounts.append(response.json()["amount"])
    assert amounts == ["33.33", "33.34", "33.33"]
    stored = await Purchase.get(id=purchase["id"])
    assert stored.refunded_total == Decimal("100.00") and stored.status == "refunded"


async def test_a_whole_refund_refunds_what_is_left(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3"), line("B", "10.00")])
    path = refund_path(purchase["id"])
    await till.post(path, {"refund_id": "PART", "lines": [{"line_no": 1, "quantity": "1"}]})

    rest = await till.post(path, {"refund_id": "REST"})

    assert rest.status_code == 200
    assert rest.json()["amount"] == "76.66" and rest.json()["status"] == "refunded"
    assert rest.json()["refunded_total"] == "109.99"
    more = await till.post(path, {"refund_id": "MORE"})
    assert more.status_code == 409 and more.json()["code"] == "nothing_to_refund"


async def test_a_retried_refund_is_not_refunded_twice(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3")])
    path = refund_path(purchase["id"])
    refund = {"refund_id": "F-1", "lines": [{"line_no": 1, "quantity": "1"}]}

    first = await till.post(path, refund)
    again = await till.post(path, refund)

    assert again.status_code == 200
    assert again.json() == {**first.json(), "replay": True}
    assert (await Purchase.get(id=purchase["id"])).refunded_total == Decimal("33.33")
    assert await Refund.filter(purchase_id=purchase["id"]).count() == 1


async def test_the_same_refund_id_with_other_lines_is_409(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3"), line("B", "10.00")])
    path = refund_path(purchase["id"])
    await till.post(path, {"refund_id": "F-1", "lines": [{"line_no": 1, "quantity": "1"}]})

    for other in [
        {"refund_id": "F-1", "lines": [{"line_no": 2, "quantity": "1"}]},
        {"refund_id": "F-1", "lines": [{"line_no": 1, "quantity": "2"}]},
        {"refund_id": "F-1"},
    ]:
        response = await till.post(path, other)
        assert response.status_code == 409, other
        assert response.json()["code"] == "refund_id_reused"
    assert (await Purchase.get(id=purchase["id"])).refunded_total == Decimal("33.33")


async def test_refunding_more_than_is_left_is_422_and_changes_nothing(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "10.00", "2"), line("B", "5.00")])
    path = refund_path(purchase["id"])
    await till.post(path, {"refund_id": "X0", "lines": [{"line_no": 1, "quantity": "1"}]})

    too_much = await till.post(
        path,
        {
            "refund_id": "X1",
            "lines": [{"line_no": 2, "quantity": "1"}, {"line_no": 1, "quantity": "2"}],
        },
    )
    no_line = await till.post(path, {"refund_id": "X2", "lines": [{"line_no": 7, "quantity": "1"}]})

    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_exceeds_line"
    assert too_much.json()["line"] == "1" and Decimal(too_much.json()["left"]) == 1
    assert no_line.status_code == 422 and no_line.json()["code"] == "unknown_line"
    lines = await PurchaseLine.filter(purchase_id=purchase["id"]).order_by("line_no")
    assert [x.refunded_quantity for x in lines] == [Decimal("1"), Decimal("0")]
    assert (await Purchase.get(id=purchase["id"])).refunded_total == Decimal("10.00")
    assert await Refund.filter(purchase_id=purchase["id"]).count() == 1


async def test_an_unknown_purchase_or_another_stores_purchase_is_404(stack):
    till = await open_till(stack)
    purchase = await record(till, [line()])
    other_store = await open_till(stack)

    elsewhere = await other_store.post(refund_path(purchase["id"]), {"refund_id": "X"})
    unknown = await till.post(refund_path(999_999_999), {"refund_id": "X"})

    for response in [elsewhere, unknown]:
        assert response.status_code == 404 and response.json()["code"] == "purchase_not_found"
    assert (await Purchase.get(id=purchase["id"])).status == "completed"


async def test_a_full_refund_gives_the_voucher_back_for_another_receipt(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    purchase = await record(
        till, [line(price="100.00", discount="50.00")], card=card.number, vouchers=[voucher.code]
    )
    assert purchase["vouchers"] == [voucher.code]

    refund = await till.post(refund_path(purchase["id"]), {"refund_id": "ALL"})

    assert refund.json()["vouchers_returned"] == [voucher.code]
    assert refund.json()["status"] == "refunded" and refund.json()["amount"] == "50.00"
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
    scan = await till.scan(card.number)
    assert voucher.code in [v["code"] for v in scan.json()["vouchers"]]
    again = await till.post(
        f"/api/v1/pos/vouchers/{voucher.code}/redeem",
        {**basket([line(price="100.00")], card=card.number), "receipt_id": receipt_id()},
    )
    assert again.status_code == 200 and again.json()["replay"] is False
    assert (await Voucher.get(id=voucher.id)).uses_count == 1


async def test_a_retried_refund_says_again_which_vouchers_came_back(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    purchase = await record(till, [line(price="100.00")], card=card.number, vouchers=[voucher.code])

    first = await till.post(refund_path(purchase["id"]), {"refund_id": "ALL"})
    again = await till.post(refund_path(purchase["id"]), {"refund_id": "ALL"})

    assert again.json() == {**first.json(), "replay": True}
    assert again.json()["vouchers_returned"] == [voucher.code]
    assert (await Voucher.get(id=voucher.id)).uses_count == 0


async def test_the_voucher_of_a_refunded_receipt_is_not_redeemed_again_on_that_receipt(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = receipt([line(price="100.00")], vouchers=[voucher.code])
    purchase = (await till.post(PURCHASES, body)).json()
    await till.post(refund_path(purchase["id"]), {"refund_id": "ALL"})

    late = await till.post(
        f"/api/v1/pos/vouchers/{voucher.code}/redeem",
        {**basket(body["lines"]), "receipt_id": body["receipt_id"]},
    )

    assert late.status_code == 409 and late.json()["code"] == "redemption_cancelled"
    assert (await Voucher.get(id=voucher.id)).uses_count == 0


async def test_a_partial_refund_gives_the_voucher_back_only_below_its_minimum_basket(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, min_basket="150.00")
    lines = [line("A", "100.00"), line("B", "25.00", "2"), line("C", "5.00")]  # 155.00
    purchase = await record(till, lines, card=card.number, vouchers=[voucher.code])
    path = refund_path(purchase["id"])

    small = await till.post(path, {"refund_id": "C", "lines": [{"line_no": 3, "quantity": "1"}]})

    assert small.json()["vouchers_returned"] == []  # 150.00 left: still earns it
    assert (await Voucher.get(id=voucher.id)).uses_count == 1

    big = await till.post(path, {"refund_id": "B", "lines": [{"line_no": 2, "quantity": "1"}]})

    assert big.json()["vouchers_returned"] == [voucher.code]  # 125.00 left: below 150.00
    assert big.json()["status"] == "partially_refunded"
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
    redemption = await VoucherRedemption.get(voucher_id=voucher.id)
    assert redemption.cancelled_at is not None


async def test_refunding_the_free_product_gives_its_voucher_back(stack):
    till = await open_till(stack)
    sku = unique("COFFEE")
    voucher = await new_voucher(
        None, kind=VoucherKind.FREE_PRODUCT, value="1", free_product_sku=sku, currency=None
    )
    lines = [line(sku, "45.00", discount="45.00"), line("CAKE", "60.00")]
    purchase = await record(till, lines, vouchers=[voucher.code])
    path = refund_path(purchase["id"])

    cake = await till.post(path, {"refund_id": "K", "lines": [{"line_no": 2, "quantity": "1"}]})
    coffee = await till.post(path, {"refund_id": "C", "lines": [{"line_no": 1, "quantity": "1"}]})

    assert cake.json()["vouchers_returned"] == []
    assert coffee.json()["vouchers_returned"] == [voucher.code]
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
