"""An admin key has no store of its own: it names one, and can then validate, redeem and
refund like a cashier of that store (issue 12 D39)."""

from __future__ import annotations

from crm_core.staff.models import Role
from tests.support.staff import bearer, new_key, new_voucher
from tests.support.till import basket, customer_with_card, line, open_till, receipt, receipt_id


async def test_an_admin_names_the_store_to_validate_redeem_and_refund(stack):
    till = await open_till(stack)
    admin = bearer(await new_key(Role.ADMIN))
    _chat, card = await customer_with_card(stack)
    voucher = await new_voucher(card.customer_id, value="10.00")
    items = [line(price="50.00")]

    unnamed = await stack.client.post(
        f"/api/v1/pos/vouchers/{voucher.code}/validate", json=basket(items), headers=admin
    )
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "store_unknown"

    checked = await stack.client.post(
        f"/api/v1/pos/vouchers/{voucher.code}/validate",
        json=basket(items, card=card.number, store=till.store.code),
        headers=admin,
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["applies"] is True

    redeemed = await stack.client.post(
        f"/api/v1/pos/vouchers/{voucher.code}/redeem",
        json=basket(items, card=card.number, store=till.store.code, receipt_id=receipt_id(),
                    till="T9"),
        headers=admin,
    )  # fmt: skip
    assert redeemed.status_code == 200, redeemed.text

    recorded = await stack.client.post(
        "/api/v1/pos/purchases",
        json=receipt(items, store=till.store.code, till="T9"),
        headers=admin,
    )
    assert recorded.status_code == 201, recorded.text
    refunded = await stack.client.post(
        f"/api/v1/pos/purchases/{recorded.json()['id']}/refund",
        json={"refund_id": "RF-1", "store": till.store.code},
        headers=admin,
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"


async def test_an_admin_naming_an_unknown_store_is_told_so(stack):
    admin = bearer(await new_key(Role.ADMIN))
    answer = await stack.client.post(
        "/api/v1/pos/purchases/1/refund",
        json={"refund_id": "RF-2", "store": "NO-SUCH-STORE"},
        headers={**admin, "Accept-Language": "en"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "store_unknown"
    assert "NO-SUCH-STORE" in answer.json()["detail"]


async def test_a_cashier_cannot_name_another_store(stack):
    till = await open_till(stack)
    other = await open_till(stack)
    answer = await till.post(
        "/api/v1/pos/vouchers/ABCDEFGH/validate",
        basket([line()], store=other.store.code),
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "store_mismatch"
