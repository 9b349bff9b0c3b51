"""Stores, staff keys and vouchers for tests, made through the real services."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from crm_core.clock import utcnow
from crm_core.staff.models import Role
from crm_core.staff.service import create_api_key
from crm_core.stores.models import Store
from crm_core.stores.service import create_store
from crm_core.vouchers.models import Voucher, VoucherKind
from crm_core.vouchers.service import VoucherSpec, issue_voucher


async def new_store(currency: str = "UAH", timezone: str = "Europe/Kyiv") -> Store:
    code = f"S-{secrets.token_hex(4).upper()}"
    return await create_store(code, f"Store {code}", timezone, currency, utcnow())


async def new_key(role: Role, store: Store | None = None, till: str | None = "T1") -> str:
    issued = await create_api_key(role, store, till if store else None, f"test {role}", utcnow())
    return issued.plaintext


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_voucher(
    customer_id: int | None = None,
    kind: VoucherKind = VoucherKind.FIXED_AMOUNT,
    value: str = "50.00",
    currency: str | None = "UAH",
    valid_for: timedelta = timedelta(days=30),
    starts_in: timedelta = timedelta(days=-1),
    **extra,
) -> Voucher:
    now = utcnow()
    return await issue_voucher(
        VoucherSpec(
            kind=kind,
            value=Decimal(value),
            title=extra.pop("title", "50 UAH off"),
            valid_from=now + starts_in,
            valid_until=now + starts_in + valid_for,
            currency=currency,
            customer_id=customer_id,
            **extra,
        ),
        now,
    )
