"""A3: duplicates of one person merged by a marketer (API) or an operator (CLI).

One card survives; the other number keeps scanning as the survivor's card; purchases,
vouchers, consents (an opt-out wins), events and segment memberships move; metrics are
rebuilt; repeating the merge changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import secrets

from crm_core.cards.models import Card
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.events.models import CustomerEvent
from crm_core.metrics.models import CustomerMetrics
from crm_core.segments.models import SegmentMember
from crm_core.staff.models import Role
from crm_core.vouchers.models import Voucher
from tests.crm_core.cards.test_imports import LOYALTY
from tests.support.segments import city_segment
from tests.support.staff import bearer, new_key, new_voucher
from tests.support.till import customer_with_card, line, open_till, receipt
from tests.support.webchat_chat import WebChat, new_phone, typed_locally


async def web_customer(stack, consent: bool) -> tuple[WebChat, Customer, Card]:
    chat = WebChat(stack)
    await chat.register("Олена", typed_locally(new_phone()), consent=consent)
    customer = await chat.customer()
    return chat, customer, await Card.get(customer_id=customer.id)


async def duplicates(stack):
    """The same shopper twice: in Telegram (offers yes) and in the web chat (offers no), each
    with a receipt; the web-chat one also with a voucher and in a static segment."""
    till = await open_till(stack)
    marketer = bearer(await new_key(Role.MARKETER))
    _telegram, keep_card = await customer_with_card(stack, "Олена")
    _web, other, other_card = await web_customer(stack, consent=False)
    for card in (keep_card, other_card):
        answer = await till.post("/api/v1/pos/purchases", receipt([line()], card=card.number))
        assert answer.status_code in (200, 201), answer.text
    voucher = await new_voucher(other.id)
    city = f"Merge-{secrets.token_hex(4)}"
    patched = await stack.client.patch(
        f"/api/v1/customers/{other.id}", json={"city": city}, headers=marketer
    )
    assert patched.status_code == 200, patched.text
    segment = await city_segment(stack.client, marketer, city)
    return till, marketer, keep_card, other, other_card, voucher, segment["id"]


async def test_the_api_merges_a_web_chat_duplicate_into_the_telegram_customer(stack):
    till, marketer, keep_card, other, other_card, voucher, segment_id = await duplicates(stack)
    keep_id = keep_card.customer_id  # type: ignore[attr-defined]

    answer = await stack.client.post(
        f"/api/v1/customers/{keep_id}/merge",
        json={"other_customer_id": other.id},
        headers=marketer,
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["changed"] is True and body["customer_id"] == keep_id
    assert body["moved"]["purchases"] == 1 and body["moved"]["vouchers"] == 1

    # The till scanning the old number sees the surviving card and its customer's vouchers.
    scanned = await till.scan(other_card.number)
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["card"]["number"] == keep_card.number
    assert voucher.code in [v["code"] for v in scanned.json()["vouchers"]]
    # A receipt with the old number lands on the survivor.
    bought = await till.post("/api/v1/pos/purchases", receipt([line()], card=other_card.number))
    assert bought.status_code in (200, 201), bought.text

    purchases = await stack.client.get(f"/api/v1/customers/{keep_id}/purchases", headers=marketer)
    assert len(purchases.json()["items"]) == 3
    metrics = await CustomerMetrics.get(customer_id=keep_id)
    assert metrics.receipts == 3
    assert (await Voucher.get(id=voucher.id)).customer_id == keep_id
    keep = await Customer.get(id=keep_id)
    assert keep.marketing_consent is False  # the web-chat registration said no to offers
    assert await SegmentMember.filter(segment_id=segment_id, customer_id=keep_id).exists()
    assert not await SegmentMember.filter(customer_id=other.id).exists()
    assert await CustomerEvent.filter(customer_id=keep_id, kind="merged").count() == 1
    assert await Card.filter(customer_id=keep_id, status="active").count() == 1
    shell = await Customer.get(id=other.id)
    assert shell.merged_into_id == keep_id and shell.unconfirmed_phone is None
    assert shell.first_name is None

    again = await stack.client.post(
        f"/api/v1/customers/{keep_id}/merge",
        json={"other_customer_id": other.id},
        headers=marketer,
    )
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert (await CustomerMetrics.get(customer_id=keep_id)).receipts == 3


async def test_merges_that_cannot_be_are_refused_with_a_reason(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    _, keep_card = await customer_with_card(stack)
    keep_id = keep_card.customer_id  # type: ignore[attr-defined]
    _, other, _ = await web_customer(stack, consent=True)
    url = f"/api/v1/customers/{keep_id}/merge"

    itself = await stack.client.post(url, json={"other_customer_id": keep_id}, headers=marketer)
    assert itself.status_code == 409 and itself.json()["code"] == "same_customer"
    unknown = await stack.client.post(url, json={"other_customer_id": 2**62}, headers=marketer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "customer_not_found"
    cashier = bearer(await new_key(Role.CASHIER, (await open_till(stack)).store))
    refused = await stack.client.post(url, json={"other_customer_id": other.id}, headers=cashier)
    assert refused.status_code == 403
    assert (await Customer.get(id=other.id)).merged_into_id is None

    merged = await stack.client.post(url, json={"other_customer_id": other.id}, headers=marketer)
    assert merged.status_code == 200
    # The merged customer can no longer be a survivor, nor be merged elsewhere.
    _, third, _ = await web_customer(stack, consent=True)
    onto_shell = await stack.client.post(
        f"/api/v1/customers/{other.id}/merge",
        json={"other_customer_id": third.id},
        headers=marketer,
    )
    assert onto_shell.status_code == 409 and onto_shell.json()["code"] == "already_merged"


async def test_the_cli_merges_and_a_second_run_changes_nothing(stack):
    _telegram, keep_card = await customer_with_card(stack)
    keep_id = keep_card.customer_id  # type: ignore[attr-defined]
    _, other, other_card = await web_customer(stack, consent=True)
    web_identity = await ChannelIdentity.get(customer_id=other.id)

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            LOYALTY,
            *args,
            env={**os.environ, "DATABASE_URL": stack.database_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        return process.returncode or 0, output.decode()

    code, output = await run("customers", "merge", str(keep_id), str(other.id))
    assert code == 0, output
    assert f"customer {other.id} merged into {keep_id}" in output
    assert (await Card.get(id=other_card.id)).customer_id == keep_id  # type: ignore[attr-defined]
    # A manual merge is the marketer's judgement: the web chat comes along.
    assert (await ChannelIdentity.get(id=web_identity.id)).customer_id == keep_id

    code, output = await run("customers", "merge", str(keep_id), str(other.id))
    assert code == 0 and "nothing changed" in output

    code, output = await run("customers", "merge", str(keep_id), str(keep_id))
    assert code != 0
