"""Exactly once under real concurrency (PostgreSQL, many HTTP clients at the same moment)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crm_core.purchases.models import Purchase
from crm_core.vouchers.models import Voucher, VoucherRedemption
from tests.support.staff import new_voucher
from tests.support.till import basket, line, open_till, receipt, receipt_id

pytestmark = pytest.mark.postgres_only
CLIENTS = 50


async def many(stack, till, path: str, bodies: list[dict]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(
        base_url=stack.server.base_url, headers=till.headers, limits=limits, timeout=60
    ) as client:
        return await asyncio.gather(*(client.post(path, json=body) for body in bodies))


async def test_fifty_cashiers_redeeming_one_voucher_give_one_success_and_49_conflicts(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    path = f"/api/v1/pos/vouchers/{voucher.code}/redeem"
    bodies = [{**basket([line(price="99.00")]), "receipt_id": receipt_id()} for _ in range(CLIENTS)]

    responses = await many(stack, till, path, bodies)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    assert all(r.json()["code"] == "voucher_used" for r in responses if r.status_code == 409)
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1

    winner = bodies[[r.status_code for r in responses].index(200)]
    retry = await till.post(path, winner)
    assert retry.status_code == 200 and retry.json()["replay"] is True


async def test_concurrent_retries_of_one_redemption_all_get_the_same_success(stack):
    till = await open_till(stack)
    voucher = await new_voucher(None)
    path = f"/api/v1/pos/vouchers/{voucher.code}/redeem"
    body = {**basket([line(price="99.00")]), "receipt_id": receipt_id()}

    responses = await many(stack, till, path, [body] * 20)

    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.json()["redeemed_at"] for r in responses}) == 1
    assert await VoucherRedemption.filter(voucher_id=voucher.id).count() == 1


async def test_concurrent_retries_of_one_receipt_record_one_purchase(stack):
    till = await open_till(stack)
    body = receipt([line(), line("BREAD", "19.90", category=("Bakery",))])

    responses = await many(stack, till, "/api/v1/pos/purchases", [body] * 20)

    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Purchase.filter(store_id=till.store.id, receipt_id=body["receipt_id"]).count() == 1
