"""The campaign preview shows the voucher as a phrase inside the marketer's sentence."""

from __future__ import annotations

import re
import secrets

import pytest

from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.segments import city_segment
from tests.support.staff import bearer, new_key

pytestmark = pytest.mark.db


async def test_the_preview_reads_naturally_in_ukrainian(stack):
    marketer = bearer(await new_key(Role.MARKETER))
    city = f"Phrase-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    segment = await city_segment(stack.client, marketer, city)
    created = await stack.client.post(
        "/api/v1/campaigns",
        json={
            "name": "Зима",
            "segment_id": segment["id"],
            "messages": {
                "uk": {
                    "text": "{voucher_title}! Ваша знижка {voucher_value} діє до {voucher_expires}."
                }
            },
            "default_language": "uk",
            "schedule": {"kind": "recurring", "cron": "0 10 * * mon"},
            "control_percent": 0,
            "voucher": {
                "kind": "fixed_amount",
                "value": "50",
                "currency": "UAH",
                "valid_days": 14,
                "title": "Зимовий розпродаж",
            },
        },
        headers=marketer,
    )
    assert created.status_code == 201, created.text
    preview = await stack.client.post(
        f"/api/v1/campaigns/{created.json()['id']}/preview", headers=marketer
    )
    (sample,) = preview.json()["samples"]
    text = sample["text"].replace("\u00a0", " ")
    assert re.fullmatch(
        r"Зимовий розпродаж! Ваша знижка 50 грн діє до \d{1,2} [а-яіїє]+ \d{4}\.", text
    ), text
