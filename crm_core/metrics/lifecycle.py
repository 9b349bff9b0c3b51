"""Lifecycle stages: registered, new, regular, lapsing, lost, judged by each customer's rhythm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_core.metrics.models import Stage
from crm_core.sql import Dialect, Params

DAY = 86400.0


@dataclass(frozen=True)
class LifecyclePolicy:
    """A customer is lapsing after `lapsing_factor` of their own typical interval without a
    purchase, and lost after `lost_factor` of it. One-purchase customers have no interval yet
    and are judged by `default_interval_days`; very frequent shoppers by `min_interval_days`.
    Nobody is lost before `lost_min_days` without a purchase: a weekly shopper who skipped six
    weeks is lapsing (worth a win-back offer), not gone."""

    lapsing_factor: float = 2.0
    lost_factor: float = 6.0
    default_interval_days: float = 30.0
    min_interval_days: float = 7.0
    lost_min_days: float = 120.0


DEFAULT_POLICY = LifecyclePolicy()


def typical_interval_days(
    receipts: int, first: datetime | None, last: datetime | None
) -> float | None:
    """Mean days between purchases; None until there are two."""
    if receipts < 2 or first is None or last is None:
        return None
    return (last - first).total_seconds() / DAY / (receipts - 1)


def stage_for(
    receipts: int,
    first: datetime | None,
    last: datetime | None,
    now: datetime,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> Stage:
    if receipts <= 0 or last is None:
        return Stage.REGISTERED
    typical = typical_interval_days(receipts, first, last)
    interval = max(
        policy.min_interval_days, typical if typical is not None else policy.default_interval_days
    )
    idle = (now - last).total_seconds() / DAY
    if idle > max(policy.lost_factor * interval, policy.lost_min_days):
        return Stage.LOST
    if idle > policy.lapsing_factor * interval:
        return Stage.LAPSING
    return Stage.NEW if receipts == 1 else Stage.REGULAR


def stage_sql(
    dialect: Dialect, params: Params, now: datetime, policy: LifecyclePolicy, m: str = "m"
) -> str:
    """The same judgement as `stage_for`, as one SQL expression over a metrics row.

    Fragments that hold parameters are built afresh where they are used: SQLite binds "?"
    by position, so a fragment written twice needs its values twice.
    """
    typical = (
        f"({dialect.days_between(f'{m}.first_purchase_at', f'{m}.last_purchase_at')}"
        f" / ({m}.receipts - 1))"
    )

    def interval() -> str:
        return (
            f"(CASE WHEN {m}.receipts >= 2 AND {typical} > {params(policy.min_interval_days)} "
            f"THEN {typical} WHEN {m}.receipts >= 2 THEN {params(policy.min_interval_days)} "
            f"ELSE {params(max(policy.default_interval_days, policy.min_interval_days))} END)"
        )

    def idle() -> str:
        return dialect.days_between(f"{m}.last_purchase_at", params(now))

    return (
        f"(CASE WHEN {m}.receipts <= 0 OR {m}.last_purchase_at IS NULL THEN '{Stage.REGISTERED}' "
        f"WHEN {idle()} > {params(policy.lost_factor)} * {interval()}"
        f" AND {idle()} > {params(policy.lost_min_days)} THEN '{Stage.LOST}' "
        f"WHEN {idle()} > {params(policy.lapsing_factor)} * {interval()} THEN '{Stage.LAPSING}' "
        f"WHEN {m}.receipts = 1 THEN '{Stage.NEW}' ELSE '{Stage.REGULAR}' END)"
    )
