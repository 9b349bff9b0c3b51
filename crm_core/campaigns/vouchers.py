"""One voucher per campaign run and customer, however often the message is retried.

The voucher is issued when its message is about to be sent (so the control group and
suppressed customers get none, and its validity starts when the customer hears of it), in
the same transaction that ties it to the outbox row; a retry finds it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_core.campaigns.service import voucher_spec
from crm_core.sql import Params, dialect_of, execute, transaction
from crm_core.vouchers.models import Voucher
from crm_core.vouchers.service import issue_voucher


class VoucherRace(RuntimeError):
    """Another worker tied a voucher to this row first (only after a lost lease)."""


async def voucher_for_message(
    outbox_id: int, voucher_id: int | None, customer_id: int, template: dict[str, Any],
    now: datetime,
) -> Voucher:  # fmt: skip
    if voucher_id is not None:
        return await Voucher.get(id=voucher_id)
    async with transaction() as db:
        voucher = await issue_voucher(voucher_spec(template, customer_id, now), now, db)
        params = Params(dialect_of(db))
        tied = await execute(
            f"UPDATE campaign_outbox SET voucher_id = {params(voucher.id)} "
            f"WHERE id = {params(outbox_id)} AND voucher_id IS NULL",
            params.values,
            db,
        )
        if tied != 1:
            raise VoucherRace(outbox_id)
    return voucher
