"""Receipts: recorded once however often a flaky till retries, exact to the cent, refundable."""

from __future__ import annotations

from crm_core.catalogue.models import Category, Product
from crm_core.purchases.models import Purchase, PurchaseLine
from crm_core.vouchers.models import Voucher
from tests.support.staff import new_voucher
from tests.support.till import basket, customer_with_card, line, open_till, receipt, receipt_id

PURCHASES = "/api/v1/pos/purchases"


async def test_a_receipt_with_a_card_is_recorded_and_new_products_join_the_catalogue(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Ірена")
    sku = f"SKU-{receipt_id()}"
    body = receipt(
        [line(sku, "33.33", "3", ("Bakery", "Bread", "Rye")), line("MILK-1L", "42.50")],
        card=card.number,
    )

    response = await till.post(PURCHASES, body)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["total"] == "142.49" and answer["currency"] == "UAH"
    assert answer["customer_first_name"] == "Ірена" and answer["replay"] is False
    purchase = await Purchase.get(id=answer["id"])
    assert purchase.customer_id == card.customer_id and purchase.card_id == card.id
    assert str(purchase.total) == "142.49"
    product = await Product.get(sku=sku).prefetch_related("category")
    assert product.category.path == "Bakery/Bread/Rye"
    assert await Category.filter(path__in=["Bakery", "Bakery/Bread"]).count() == 2
    assert await PurchaseLine.filter(purchase_id=purchase.id).count() == 2


async def test_the_same_receipt_sent_twice_is_one_purchase_with_the_same_answer(stack):
    till = await open_till(stack)
    body = receipt([line()])
    first = await till.post(PURCHASES, body)
    again = await till.post(PURCHASES, body)
    assert again.status_code == 201
    assert again.json() == {**first.json(), "replay": True}
    assert await Purchase.filter(store_id=till.store.id, receipt_id=body["receipt_id"]).count() == 1


async def test_a_receipt_id_reused_with_other_content_is_409(stack):
    till = await open_till(stack)
    body = receipt([line()])
    await till.post(PURCHASES, body)
    changed = {**receipt([line(price="10.00")]), "receipt_id": body["receipt_id"]}
    response = await till.post(PURCHASES, changed)
    assert response.status_code == 409 and response.json()["code"] == "receipt_reused"


async def test_totals_that_do_not_add_up_are_422_and_nothing_is_written(stack):
    till = await open_till(stack)
    good = receipt([line(price="10.00", quantity="3")])
    wrong_line = {**good, "lines": [{**good["lines"][0], "line_total": "29.99"}]}
    wrong_total = {**good, "total": "31.00", "payments": [{"method": "cash", "amount": "31.00"}]}
    wrong_payments = {**good, "payments": [{"method": "cash", "amount": "20.00"}]}
    for body, code in [
        (wrong_line, "line_total_mismatch"),
        (wrong_total, "total_mismatch"),
        (wrong_payments, "payments_mismatch"),
    ]:
        response = await till.post(PURCHASES, body)
        assert response.status_code == 422, code
        assert response.json()["code"] == code and response.json()["detail"]
    assert not await Purchase.filter(receipt_id=good["receipt_id"]).exists()


async def test_malformed_receipts_are_422(stack):
    till = await open_till(stack)
    naive_time = {**receipt([line()]), "purchased_at": "2026-11-22T10:15:00"}
    no_lines = {**receipt([line()]), "lines": []}
    float_cents = receipt([line(price="1.005")])
    for body in [naive_time, no_lines, float_cents]:
        assert (await till.post(PURCHASES, body)).status_code == 422


async def test_anonymous_receipts_count_too(stack):
    till = await open_till(stack)
    response = await till.post(PURCHASES, receipt([line()]))
    assert response.status_code == 201
    assert (await Purchase.get(id=response.json()["id"])).customer_id is None


async def test_a_receipt_with_an_unusable_card_is_refused_whole(stack):
    till = await open_till(stack)
    body = receipt([line()], card="2710000000002")
    response = await till.post(PURCHASES, body)
    assert response.status_code in {404, 422}
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()


async def test_vouchers_applied_on_a_receipt_are_redeemed_with_it(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    body = receipt(
        [line(price="100.00", discount="50.00")], card=card.number, vouchers=[voucher.code]
    )
    response = await till.post(PURCHASES, body)
    assert response.status_code == 201, response.text
    assert response.json()["vouchers"] == [voucher.code]
    assert (await Voucher.get(id=voucher.id)).uses_count == 1


async def test_a_voucher_that_does_not_apply_refuses_the_whole_receipt(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, min_basket="1000.00")
    body = receipt([line()], card=card.number, vouchers=[voucher.code])
    response = await till.post(PURCHASES, body)
    assert response.status_code == 409 and response.json()["code"] == "voucher_basket_too_small"
    assert not await Purchase.filter(receipt_id=body["receipt_id"]).exists()
    assert (await Voucher.get(id=voucher.id)).uses_count == 0


async def record(till, lines, **extra) -> dict:
    response = await till.post(PURCHASES, receipt(lines, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_partial_refund_is_proportional_and_a_retry_refunds_nothing_more(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3"), line("B", "10.00")])
    refund = {"refund_id": "F-1", "lines": [{"line_no": 1, "quantity": "1"}]}

    first = await till.post(f"{PURCHASES}/{purchase['id']}/refund", refund)
    again = await till.post(f"{PURCHASES}/{purchase['id']}/refund", refund)

    assert first.status_code == 200
    assert first.json()["amount"] == "33.33" and first.json()["status"] == "partially_refunded"
    assert again.json()["replay"] is True and again.json()["amount"] == "33.33"
    assert str((await Purchase.get(id=purchase["id"])).refunded_total) == "33.33"
    other_lines = {"refund_id": "F-1", "lines": [{"line_no": 2, "quantity": "1"}]}
    assert (await till.post(f"{PURCHASES}/{purchase['id']}/refund", other_lines)).status_code == 409


async def test_refunding_the_rest_refunds_exactly_the_total(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "33.33", "3")])
    for number, quantity in enumerate(["1", "1", "1"]):
        await till.post(
            f"{PURCHASES}/{purchase['id']}/refund",
            {"refund_id": f"F-{number}", "lines": [{"line_no": 1, "quantity": quantity}]},
        )
    stored = await Purchase.get(id=purchase["id"])
    assert str(stored.refunded_total) == "99.99" and stored.status == "refunded"
    more = await till.post(f"{PURCHASES}/{purchase['id']}/refund", {"refund_id": "F-9"})
    assert more.status_code == 409 and more.json()["code"] == "nothing_to_refund"


async def test_refund_mistakes_are_refused(stack):
    till = await open_till(stack)
    purchase = await record(till, [line("A", "10.00", "2")])
    path = f"{PURCHASES}/{purchase['id']}/refund"
    too_much = await till.post(
        path, {"refund_id": "X1", "lines": [{"line_no": 1, "quantity": "3"}]}
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_exceeds_line"
    no_line = await till.post(path, {"refund_id": "X2", "lines": [{"line_no": 7, "quantity": "1"}]})
    assert no_line.status_code == 422 and no_line.json()["code"] == "unknown_line"
    other_store = await open_till(stack)
    assert (await other_store.post(path, {"refund_id": "X3"})).status_code == 404
    assert (
        await till.post(f"{PURCHASES}/999999999/refund", {"refund_id": "X4"})
    ).status_code == 404


async def test_a_full_refund_gives_the_voucher_back(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id)
    purchase = await record(till, [line(price="100.00")], card=card.number, vouchers=[voucher.code])

    refund = await till.post(f"{PURCHASES}/{purchase['id']}/refund", {"refund_id": "ALL"})

    assert refund.json()["vouchers_returned"] == [voucher.code]
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
    again = await till.post(
        f"/api/v1/pos/vouchers/{voucher.code}/redeem",
        {**basket([line(price="100.00")], card=card.number), "receipt_id": receipt_id()},
    )
    assert again.status_code == 200


async def test_a_partial_refund_gives_the_voucher_back_only_when_the_basket_no_longer_earns_it(
    stack,
):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, min_basket="150.00")
    lines = [line("A", "100.00"), line("B", "60.00"), line("C", "5.00")]
    purchase = await record(till, lines, card=card.number, vouchers=[voucher.code])
    path = f"{PURCHASES}/{purchase['id']}/refund"

    small = await till.post(path, {"refund_id": "C", "lines": [{"line_no": 3, "quantity": "1"}]})
    assert small.json()["vouchers_returned"] == []  # 160.00 left: still earns it
    big = await till.post(path, {"refund_id": "B", "lines": [{"line_no": 2, "quantity": "1"}]})
    assert big.json()["vouchers_returned"] == [voucher.code]  # 100.00 left: below 150.00
    assert (await Voucher.get(id=voucher.id)).uses_count == 0
