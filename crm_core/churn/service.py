"""Nightly fit of the churn model and the predictions of every customer, set-based.

Customers are reduced to (x, t_x, T) in whole days by SQL with GROUP BY: Python sees each
distinct history once, however many customers share it, fits the model on those weighted
rows and scores them; one INSERT ... SELECT then joins every customer to the scores of their
group. After a purchase (or a refund) its customer is re-scored with the latest fit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.churn import pareto_nbd
from crm_core.churn.models import ChurnModel, CustomerPrediction
from crm_core.churn.summary import Summary
from crm_core.sql import Dialect, Params, dialect_of, execute, fetch, transaction

log = logging.getLogger(__name__)

KIND = "pareto_nbd"
CHURN_HORIZON_DAYS = 90
BATCH_ROWS = 3000  # bound values per statement stay far below both databases' limits
PREDICTIONS_INSERT = (
    "INSERT INTO customer_predictions (customer_id, model_id, p_alive, expected_30, "
    "expected_90, churn_risk, next_purchase_at, value_90_minor, scored_at)"
)
PREDICTIONS_UPSERT = (
    "ON CONFLICT (customer_id) DO UPDATE SET model_id = excluded.model_id, "
    "p_alive = excluded.p_alive, expected_30 = excluded.expected_30, "
    "expected_90 = excluded.expected_90, churn_risk = excluded.churn_risk, "
    "next_purchase_at = excluded.next_purchase_at, "
    "value_90_minor = excluded.value_90_minor, scored_at = excluded.scored_at"
)


@dataclass(frozen=True)
class Refreshed:
    model_id: int | None
    parameters: dict[str, float] | None
    customers: int
    histories: int  # distinct (x, t_x, T): the rows the fit and the scoring work on


@dataclass(frozen=True)
class Scores:
    p_alive: np.ndarray
    expected_30: np.ndarray
    expected_90: np.ndarray
    churn_risk: np.ndarray
    wait_days: np.ndarray


def score(model: pareto_nbd.ParetoNBD, x, t_x, T) -> Scores:
    """The stored predictions of customers with these histories (README: Predictions)."""
    month = pareto_nbd.predict(model, x, t_x, T, 30)
    quarter = pareto_nbd.predict(model, x, t_x, T, CHURN_HORIZON_DAYS)
    return Scores(
        quarter.p_alive, month.expected, quarter.expected, quarter.p_none, quarter.median_wait
    )


def _history_sql(dialect: Dialect, params: Params, now: datetime) -> tuple[str, str, str]:
    """x, t_x and T of a metrics row `m`, in whole days (as SQL expressions)."""
    at = params(now)
    t_x = f"ROUND({dialect.days_between('m.first_purchase_at', 'm.last_purchase_at')})"
    age = f"ROUND({dialect.days_between('m.first_purchase_at', at)})"
    return "m.receipts - 1", t_x, age


def _scored(join: str = "") -> str:
    """The customers who get a prediction: a purchase kept, not erased."""
    return (
        f"FROM customer_metrics m JOIN customers c ON c.id = m.customer_id {join} "
        "WHERE m.receipts > 0 AND m.first_purchase_at IS NOT NULL AND c.erased_at IS NULL"
    )


async def _histories(
    now: datetime, db: BaseDBAsyncClient | None
) -> tuple[Summary, np.ndarray, np.ndarray] | None:
    params = Params(dialect_of(db))
    x, t_x, age = _history_sql(dialect_of(db), params, now)
    rows = await fetch(
        f"SELECT {x} AS x, {t_x} AS t_x, {age} AS age, COUNT(*) AS n {_scored()} GROUP BY 1, 2, 3",
        params.values,
        db,
    )
    if not rows:
        return None
    x_, t_x_, age_, n = (np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "age", "n"))
    T = np.maximum(age_, 0.0)  # a receipt stamped in the future counts as today's
    # The raw t_x and age key the scores back to the rows: clamped ages would give two groups
    # (ages -1 and 0) one key, and the upsert would meet a customer twice.
    return Summary(x_, np.minimum(t_x_, T), T, n), t_x_, age_


async def refresh_predictions(
    now: datetime, connection: BaseDBAsyncClient | None = None
) -> Refreshed:
    """Fit on every customer with a purchase, then score them all; customers without one
    (or erased) keep no prediction.

    The fit runs in a worker thread outside any transaction (seconds for a million
    customers); the scores are written in one transaction from the histories as they are
    then, so a purchase recorded meanwhile is scored on what it changed.
    """
    found = await _histories(now, connection)
    if found is None:
        await execute("DELETE FROM customer_predictions", [], connection)
        return Refreshed(None, None, 0, 0)
    model, log_likelihood = await asyncio.to_thread(pareto_nbd.fit, found[0])
    async with transaction(connection) as db:
        fitted = await ChurnModel.create(
            kind=KIND,
            parameters=model.as_dict(),
            log_likelihood=log_likelihood,
            customers=int(found[0].customers),
            fitted_at=now,
            using_db=db,
        )
        current = await _histories(now, db)
        if current is not None:
            histories, raw_t_x, raw_age = current
            scores = score(model, histories.x, histories.t_x, histories.T)
            await _write_scores(fitted.id, scores, histories, raw_t_x, raw_age, now, db)
        params = Params(dialect_of(db))
        await execute(
            f"DELETE FROM customer_predictions WHERE model_id <> {params(fitted.id)}",
            params.values,
            db,
        )
    log.info("churn model %s fitted on %d customers", fitted.id, int(found[0].customers))
    return Refreshed(fitted.id, model.as_dict(), int(found[0].customers), len(found[0].x))


async def _write_scores(
    model_id: int,
    scores: Scores,
    histories: Summary,
    raw_t_x: np.ndarray,
    raw_age: np.ndarray,
    now: datetime,
    db: BaseDBAsyncClient,
) -> None:
    dialect = dialect_of(db)
    await execute("DROP TABLE IF EXISTS churn_scores", [], db)
    await execute(
        "CREATE TEMP TABLE churn_scores (x INTEGER, t_x INTEGER, age INTEGER, "
        "p_alive DOUBLE PRECISION, expected_30 DOUBLE PRECISION, "
        "expected_90 DOUBLE PRECISION, churn_risk DOUBLE PRECISION, next_purchase_at "
        f"{'TIMESTAMPTZ' if dialect.postgres else 'TIMESTAMP'})",
        [],
        db,
    )
    # Keyed by the group values SQL computed (t_x before clamping), so the join finds them.
    columns = zip(
        histories.x.astype(int).tolist(),
        raw_t_x.astype(int).tolist(),
        raw_age.astype(int).tolist(),
        scores.p_alive.tolist(),
        scores.expected_30.tolist(),
        scores.expected_90.tolist(),
        scores.churn_risk.tolist(),
        [now + timedelta(days=float(d)) if np.isfinite(d) else None for d in scores.wait_days],
        strict=True,
    )
    rows = list(columns)
    for start in range(0, len(rows), BATCH_ROWS):
        params = Params(dialect)
        values = ", ".join(params.many(row) for row in rows[start : start + BATCH_ROWS])
        await execute(f"INSERT INTO churn_scores VALUES {values}", params.values, db)
    params = Params(dialect)
    x, t_x, age = _history_sql(dialect, params, now)
    model, at = params(model_id), params(now)
    value = dialect.floor_int("g.expected_90 * m.spent_minor / m.receipts + 0.5")
    await execute(
        f"{PREDICTIONS_INSERT} SELECT m.customer_id, {model}, g.p_alive, g.expected_30, "
        "g.expected_90, g.churn_risk, "
        f"g.next_purchase_at, CASE WHEN m.spent_minor > 0 THEN {value} ELSE 0 END, {at} "
        f"{_scored(f'JOIN churn_scores g ON g.x = {x} AND g.t_x = {t_x} AND g.age = {age}')} "
        f"{PREDICTIONS_UPSERT}",
        params.values,
        db,
    )
    await execute("DROP TABLE churn_scores", [], db)


async def latest_model(
    connection: BaseDBAsyncClient | None = None,
) -> tuple[int, pareto_nbd.ParetoNBD] | None:
    rows = await fetch(
        "SELECT id, parameters FROM churn_models ORDER BY id DESC LIMIT 1", [], connection
    )
    if not rows:
        return None
    parameters = rows[0]["parameters"]
    if isinstance(parameters, str):  # SQLite and asyncpg hand JSON back as text
        parameters = json.loads(parameters)
    return int(rows[0]["id"]), pareto_nbd.ParetoNBD(**parameters)


async def rescore_customer(
    customer_id: int, now: datetime, connection: BaseDBAsyncClient | None = None
) -> bool:
    """Score one customer with the latest fit (after their purchase or refund): a few
    milliseconds, no refit. False when there is no fit yet or nothing to score."""
    async with transaction(connection) as db:
        latest = await latest_model(db)
        if latest is None:
            return False
        model_id, model = latest
        dialect = dialect_of(db)
        params = Params(dialect)
        x, t_x, age = _history_sql(dialect, params, now)
        rows = await fetch(
            f"SELECT {x} AS x, {t_x} AS t_x, {age} AS age, m.spent_minor AS spent, "
            f"m.receipts AS receipts {_scored()} AND m.customer_id = {params(customer_id)}",
            params.values,
            db,
        )
        if not rows:
            params = Params(dialect)
            await execute(
                f"DELETE FROM customer_predictions WHERE customer_id = {params(customer_id)}",
                params.values,
                db,
            )
            return False
        row = rows[0]
        age_ = max(float(row["age"]), 0.0)
        scores = score(model, [float(row["x"])], [min(float(row["t_x"]), age_)], [age_])
        wait = float(scores.wait_days[0])
        spent, receipts = int(row["spent"]), int(row["receipts"])
        # Rounded half up, as the nightly statement does.
        value = (
            math.floor(float(scores.expected_90[0]) * spent / receipts + 0.5) if spent > 0 else 0
        )
        params = Params(dialect)
        values = params.many(
            [
                customer_id,
                model_id,
                float(scores.p_alive[0]),
                float(scores.expected_30[0]),
                float(scores.expected_90[0]),
                float(scores.churn_risk[0]),
                now + timedelta(days=wait) if np.isfinite(wait) else None,
                value,
                now,
            ]
        )
        await execute(
            f"{PREDICTIONS_INSERT} VALUES {values} {PREDICTIONS_UPSERT}", params.values, db
        )
    return True


async def rescore_customer_safely(customer_id: int | None, now: datetime) -> None:
    """For callers whose own work is done (a receipt is recorded): a failure here must not
    undo it; the nightly run scores everyone again."""
    if customer_id is None:
        return
    try:
        await rescore_customer(customer_id, now)
    except Exception:
        log.exception("re-scoring a customer after a purchase failed; the nightly run will")


async def prediction_of(customer_id: int) -> dict[str, Any] | None:
    """The profile's `predictions` block; None until the customer has been scored."""
    found = await CustomerPrediction.get_or_none(customer_id=customer_id)
    if found is None:
        return None
    return {
        "p_alive": round(found.p_alive, 4),
        "churn_risk": round(found.churn_risk, 4),
        "churn_horizon_days": CHURN_HORIZON_DAYS,
        "expected_purchases_30d": round(found.expected_30, 3),
        "expected_purchases_90d": round(found.expected_90, 3),
        "next_purchase_at": found.next_purchase_at.isoformat() if found.next_purchase_at else None,
        "predicted_value_90d": f"{Decimal(found.value_90_minor) / 100:.2f}",
        "model": KIND,
        "scored_at": found.scored_at.isoformat(),
    }
