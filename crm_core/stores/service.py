"""Creating and finding stores."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_core.stores.models import Store


class InvalidStore(ValueError):
    pass


async def create_store(code: str, name: str, timezone: str, currency: str, now: datetime) -> Store:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidStore(f"unknown timezone {timezone!r}") from error
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidStore("currency must be a three-letter ISO 4217 code")
    return await Store.create(
        code=code, name=name, timezone=timezone, currency=currency.upper(), created_at=now
    )


async def store_by_code(code: str) -> Store | None:
    return await Store.filter(code=code).first()
