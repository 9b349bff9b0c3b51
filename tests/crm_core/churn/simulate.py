"""Customers drawn from the Pareto/NBD with a never-leaving share, observed for a while and
then for a holdout: data whose true parameters and future are known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_core.churn.pareto_nbd import ParetoNBD


@dataclass(frozen=True)
class Simulated:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    alive: np.ndarray  # still active at T
    holdout: np.ndarray  # purchases in (T, T + holdout_days]
    bought_within_90: np.ndarray


def simulate(p: ParetoNBD, customers: int, holdout_days: float, seed: int = 7) -> Simulated:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(p.r, 1.0 / p.alpha, customers)
    leave_rate = rng.gamma(p.s, 1.0 / p.beta, customers)
    lifetime = rng.exponential(1.0 / leave_rate)
    lifetime[rng.random(customers) < p.share] = np.inf
    observed = rng.uniform(60.0, 400.0, customers)  # first purchases spread over a year
    x, t_x, holdout, soon = (np.zeros(customers) for _ in range(4))
    for i in range(customers):
        end = min(lifetime[i], observed[i] + holdout_days)
        # Purchases after the first one: a Poisson process until the customer leaves.
        count = rng.poisson(rate[i] * end) if np.isfinite(end) else 0
        times = np.sort(rng.uniform(0.0, end, count))
        before = times[times <= observed[i]]
        x[i] = len(before)
        t_x[i] = before[-1] if len(before) else 0.0
        holdout[i] = np.sum(times > observed[i])
        soon[i] = np.any((times > observed[i]) & (times <= observed[i] + 90.0))
    return Simulated(x, t_x, observed, lifetime > observed, holdout, soon.astype(bool))
