"""`loyalty churn evaluate`: fit on a calibration period, compare with the holdout that follows.

Input lines are `customer_id,date[,amount]` (a header line is allowed). Several purchases of
one customer on one day count as one. The fit sees only purchases up to the calibration end;
the customers are those with a purchase by then. Reported for the Pareto/NBD of this package
and a BG/NBD fitted in the same run: predicted against actual holdout purchases (total and
mean absolute error per customer), and how well each ranks the customers who buy again in
the holdout above those who don't (ROC AUC of 1 - churn risk, and of expected purchases).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from scipy.stats import rankdata

from crm_core.churn import bg_nbd, pareto_nbd
from crm_core.churn.service import CHURN_HORIZON_DAYS, KIND
from crm_core.churn.summary import Summary


class BadInput(ValueError):
    """The file or the dates cannot be evaluated; the message says where and why."""


@dataclass(frozen=True)
class Split:
    summary: Summary
    holdout: np.ndarray  # purchase days per customer after the calibration end
    holdout_days: int


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text).date()


def read_days(lines: Iterable[str]) -> dict[str, set[date]]:
    """Purchase days per customer from `customer_id,date[,amount]` lines."""
    days: dict[str, set[date]] = defaultdict(set)
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        if number == 1 and fields[0].lower() == "customer_id":
            continue
        if len(fields) not in (2, 3) or not fields[0]:
            raise BadInput(f"line {number}: expected customer_id,date[,amount], got {line!r}")
        try:
            day = _day(fields[1])
        except ValueError:
            raise BadInput(f"line {number}: {fields[1]!r} is not a date (use YYYY-MM-DD)") from None
        if len(fields) == 3 and fields[2]:
            try:
                Decimal(fields[2])
            except InvalidOperation:
                raise BadInput(f"line {number}: {fields[2]!r} is not an amount") from None
        days[fields[0]].add(day)
    return days


def split(days: dict[str, set[date]], calibration_end: date, holdout_end: date) -> Split:
    if holdout_end <= calibration_end:
        raise BadInput("the holdout must end after the calibration period")
    x, t_x, age, holdout = [], [], [], []
    for purchases in days.values():
        before = sorted(d for d in purchases if d <= calibration_end)
        if not before:
            continue
        x.append(len(before) - 1)
        t_x.append((before[-1] - before[0]).days)
        age.append((calibration_end - before[0]).days)
        holdout.append(sum(1 for d in purchases if calibration_end < d <= holdout_end))
    if not x:
        raise BadInput(f"no customer bought on or before the calibration end {calibration_end}")
    if len(x) < 2 or sum(x) == 0:
        raise BadInput("too little history to fit: at least two customers and a repeat purchase")
    return Split(
        Summary.of(x, t_x, age), np.array(holdout, float), (holdout_end - calibration_end).days
    )


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC by ranks (ties count half); None when one class is empty."""
    buyers = int(positive.sum())
    others = len(positive) - buyers
    if buyers == 0 or others == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - buyers * (buyers + 1) / 2) / (buyers * others))


def _figures(expected: np.ndarray, churn_risk: np.ndarray, data: Split) -> dict[str, Any]:
    bought = data.holdout > 0
    found = auc(1.0 - churn_risk, bought)
    ranked = auc(expected, bought)
    return {
        "predicted_total": round(float(expected.sum()), 2),
        "mae": round(float(np.abs(expected - data.holdout).mean()), 4),
        "auc": None if found is None else round(found, 4),
        "auc_expected": None if ranked is None else round(ranked, 4),
    }


def evaluate(data: Split) -> dict[str, Any]:
    s = data.summary
    model, log_likelihood = pareto_nbd.fit(s)
    ahead = pareto_nbd.predict(model, s.x, s.t_x, s.T, data.holdout_days)
    risk = pareto_nbd.predict(model, s.x, s.t_x, s.T, CHURN_HORIZON_DAYS).p_none
    baseline, baseline_ll = bg_nbd.fit(s)
    return {
        "customers": int(s.customers),
        "actual_total": int(data.holdout.sum()),
        **_figures(ahead.expected, risk, data),
        "model": KIND,
        "parameters": model.as_dict(),
        "log_likelihood": round(log_likelihood, 2),
        "holdout_days": data.holdout_days,
        "churn_horizon_days": CHURN_HORIZON_DAYS,
        "bg_nbd": {
            **_figures(
                bg_nbd.expected(baseline, s.x, s.t_x, s.T, data.holdout_days),
                bg_nbd.p_none(baseline, s.x, s.t_x, s.T, CHURN_HORIZON_DAYS),
                data,
            ),
            "parameters": baseline.as_dict(),
            "log_likelihood": round(baseline_ll, 2),
        },
    }
