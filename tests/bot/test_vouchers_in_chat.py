"""Vouchers in the messenger: announced when issued (with consent), listed by /vouchers."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.formatting import day
from crm_core.cards.models import Card
from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.staff.models import Role
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher
from tests.support.qr import decode_qr
from tests.support.staff import bearer, new_key, new_voucher
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t
from tests.support.viber_chat import ViberChat

_user_ids = itertools.count(random.randint(3 * 10**11, 4 * 10**11))


async def registered(stack, consent: bool = True) -> tuple[TelegramChat, Card]:
    chat = TelegramChat(stack, next(_user_ids))
    await chat.register("Дарина", f"+38095{random.randint(1000000, 9999999)}", consent=consent)
    identity = await ChannelIdentity.get(channel="telegram", external_id=str(chat.user_id))
    return chat, await Card.get(customer_id=identity.customer_id)


def issue_body(card: Card, **overrides) -> dict:
    now = utcnow()
    return {
        "card": card.number,
        "kind": "percent",
        "value": "15",
        "title": "−15% на каву",
        "allowed_categories": ["Coffee"],
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(days=10)).isoformat(),
        **overrides,
    }


async def test_an_issued_voucher_is_announced_in_the_chat_with_its_qr(stack):
    chat, card = await registered(stack)
    marketer = await new_key(Role.MARKETER)
    before = len(stack.telegram.calls)

    response = await stack.client.post(
        "/api/v1/vouchers", json=issue_body(card), headers=bearer(marketer)
    )

    assert response.status_code == 201, response.text
    voucher = response.json()
    assert voucher["announced"] is True
    sent = [c for c in stack.telegram.calls[before:] if c.chat_id == str(chat.user_id)]
    assert [c.method for c in sent] == ["sendMessage", "sendPhoto"]
    assert sent[0].params["text"] == t("uk", "You have a new voucher!")
    assert decode_qr(sent[1].files["photo"]) == voucher["code"]
    assert format_voucher_code(voucher["code"]) in sent[1].params["caption"]
    assert "−15% на каву" in sent[1].params["caption"]


async def test_no_announcement_without_marketing_consent(stack):
    chat, card = await registered(stack, consent=False)
    marketer = await new_key(Role.MARKETER)
    before = len(stack.telegram.calls_to("sendPhoto", chat.user_id))

    response = await stack.client.post(
        "/api/v1/vouchers", json=issue_body(card), headers=bearer(marketer)
    )

    assert response.status_code == 201
    assert response.json()["announced"] is False
    assert len(stack.telegram.calls_to("sendPhoto", chat.user_id)) == before


async def test_vouchers_command_lists_active_vouchers_with_qr_and_conditions(stack):
    chat, card = await registered(stack)
    voucher = await new_voucher(card.customer_id, title="50 грн на покупку", min_basket="300.00")
    await new_voucher(
        card.customer_id,
        title="Expired",
        starts_in=timedelta(days=-40),
        valid_for=timedelta(days=1),
    )

    replies = await chat.text("/vouchers")

    (listed,) = replies
    assert listed.method == "sendPhoto"
    assert "50 грн на покупку" in listed.text and "Expired" not in listed.text
    assert format_voucher_code(voucher.code) in listed.text
    assert "300,00\u00a0грн" in listed.text  # the minimum basket condition, as uk writes it
    assert decode_qr(listed.photo) == voucher.code


async def test_a_voucher_not_valid_yet_says_from_when(stack):
    chat, card = await registered(stack)
    await new_voucher(card.customer_id, title="Later", starts_in=timedelta(days=3))

    (listed,) = await chat.text("/vouchers")

    customer = await Customer.get(id=card.customer_id)
    voucher = await Voucher.get(customer_id=card.customer_id)
    zone = ZoneInfo(customer.timezone)

    def local_day(moment):
        return day(moment.astimezone(zone).date(), "uk")  # "5 грудня 2026"

    expected = t(
        "uk",
        "Valid from {start} until {end}",
        start=local_day(voucher.valid_from),
        end=local_day(voucher.valid_until),
    )
    assert expected in listed.text


async def test_vouchers_command_without_vouchers_says_so(stack):
    chat, _card = await registered(stack)
    (reply,) = await chat.text("/vouchers")
    assert reply.text == t("uk", "You have no active vouchers right now.")


async def test_marketer_api_needs_a_marketer_key(stack):
    _chat, card = await registered(stack)
    store_less_cashier = await new_key(Role.MARKETER)
    assert (await stack.client.post("/api/v1/vouchers", json=issue_body(card))).status_code == 401
    response = await stack.client.post(
        "/api/v1/vouchers",
        json=issue_body(card, kind="fixed_amount", currency=None),
        headers=bearer(store_less_cashier),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "voucher_invalid"


async def test_a_viber_customer_gets_the_voucher_picture_by_a_signed_url(stack):
    chat = ViberChat(stack)
    await chat.register("Богдана", f"38095{random.randint(1000000, 9999999)}")
    identity = await ChannelIdentity.get(channel="viber", external_id=chat.user_id)
    card = await Card.get(customer_id=identity.customer_id)
    marketer = await new_key(Role.MARKETER)
    before = len(stack.viber.calls)

    response = await stack.client.post(
        "/api/v1/vouchers", json=issue_body(card), headers=bearer(marketer)
    )

    assert response.json()["announced"] is True
    announcement = chat.sent(before)
    assert [m.type for m in announcement] == ["text", "text", "picture"]
    picture_path = announcement[-1].media.removeprefix(stack.server.base_url)
    assert picture_path.startswith("/media/vouchers/")
    image = await stack.client.get(picture_path)
    assert decode_qr(image.content) == response.json()["code"]
    tampered = picture_path.replace(".png", "x.png")
    assert (await stack.client.get(tampered)).status_code == 404
