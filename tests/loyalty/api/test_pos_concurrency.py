"""Exactly once under real concurrency: many tills at the same moment, on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from crm_core.purchases.models import Purchase
from crm_core.vouchers.models import Voucher, VoucherRedemption
from tests.support.staff import new_voucher
from tests.support.till import Till, basket, line, open_till, receipt, receipt_id

pytestmark = pytest.mark.postgres_only

CASHIERS = 50
RETRIES = 20
PURCHASES = "/api/v1/pos/purchases"


def redeem_path(code: str) -> str:
    return f"/api/v1/pos/vouchers/{code}/redeem"


async def all_at_once(stack, till: Till, path: str, bodies: list[dict[str, Any]]):
    """Every body POSTed at the same moment, each over its own connection."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=stack.server.base_url, headers=till.headers, limits=limits, timeout=60
    ) as client:
        return await asyncio.gather(*(client.post(path, json=body) for body in bodies))


async def test_fifty_cashiers_redeeming_one_voucher_give_one_success_and_49_conflicts(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    path = redeem_path(voucher.code)
    bodies = [
        {**basket([line(price="99.00")]), "receipt_id": receipt_id()} for _ in range(CASHIERS)
    ]

    responses = await all_at_once(stack, till, path, bodies)

    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200] + [409] * (CASHIERS - 1), statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"voucher_used"}
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    (redemption,) = await VoucherRedemption.filter(voucher_id=voucher.id)
    winner = statuses.index(200)
    assert redemption.receipt_id == bodies[winner]["receipt_id"]

    retry = await till.post(path, bodies[winner])

    assert retry.status_code == 200
    assert retry.json() == {**responses[winner].json(), "replay": True}
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1


async def test_concurrent_retries_of_one_redemption_all_get_the_same_success(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = {**basket([line(price="99.00")]), "receipt_id": receipt_id()}

    responses = await all_at_once(stack, till, redeem_path(voucher.code), [body] * RETRIES)

    assert [r.status_code for r in responses] == [200] * RETRIES
    assert [r.json()["replay"] for r in responses].count(False) == 1
    assert len({(r.json()["redeemed_at"], r.json()["discount"]) for r in responses}) == 1
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1


async def test_concurrent_retries_of_one_receipt_record_one_purchase(stack):
    till = await open_till(stack)
    body = receipt([line(), line("BREAD", "19.90", category=("Bakery",))])

    responses = await all_at_once(stack, till, PURCHASES, [body] * RETRIES)

    assert [r.status_code for r in responses] == [201] * RETRIES
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.json()["replay"] for r in responses].count(False) == 1
    assert await Purchase.filter(store_id=till.store.id, receipt_id=body["receipt_id"]).count() == 1


async def test_concurrent_retries_of_one_receipt_with_a_voucher_redeem_it_once(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    body = receipt([line(price="100.00", discount="50.00")], vouchers=[voucher.code])

    responses = await all_at_once(stack, till, PURCHASES, [body] * RETRIES)

    assert [r.status_code for r in responses] == [201] * RETRIES, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert all(r.json()["vouchers"] == [voucher.code] for r in responses)
    assert await Purchase.filter(store_id=till.store.id, receipt_id=body["receipt_id"]).count() == 1
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1
