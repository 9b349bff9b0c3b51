"""One customer, many channels: the same proven phone links, it never issues a second card.

A Viber contact proves nothing (tests/channels/test_viber_contact_takeover.py).
"""

from __future__ import annotations

import random
import secrets

from crm_core.cards.models import Card
from crm_core.customers.models import ChannelIdentity
from tests.conftest import VIBER_TOKEN
from tests.support import viber_payloads as vb
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t


def phone() -> str:
    return f"+38066{random.randint(1000000, 9999999)}"


async def viber_send(stack, payload: dict) -> None:
    body = vb.encode(payload)
    response = await stack.client.post(
        "/webhooks/viber",
        content=body,
        headers={
            "X-Viber-Content-Signature": vb.sign(VIBER_TOKEN, body),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text


async def register_on_viber(stack, user: dict, number: str, consent: str = "consent:yes") -> None:
    await viber_send(stack, vb.text_message(user, "/start"))
    await viber_send(stack, vb.text_message(user, "Тарас"))
    await viber_send(stack, vb.contact_message(user, number))
    await viber_send(stack, vb.text_message(user, consent))


async def test_a_telegram_user_with_a_viber_customers_phone_joins_that_customer(stack):
    number = phone()
    viber_user = vb.profile(secrets.token_urlsafe(16))
    await register_on_viber(stack, viber_user, number)
    vb_identity = await ChannelIdentity.get(channel="viber", external_id=viber_user["id"])
    card = await Card.get(customer_id=vb_identity.customer_id)

    telegram = TelegramChat(stack, random.randint(4 * 10**9, 5 * 10**9))
    await telegram.text("/start")
    await telegram.text("Тарас")
    sent = await telegram.contact(number)

    assert t("uk", "You already have our card: I have linked this chat to it.") in sent[0].text
    assert decode_qr(sent[-1].photo) == card.number
    tg_identity = await ChannelIdentity.get(channel="telegram", external_id=str(telegram.user_id))
    assert tg_identity.customer_id == vb_identity.customer_id
    assert await Card.filter(customer_id=vb_identity.customer_id).count() == 1
