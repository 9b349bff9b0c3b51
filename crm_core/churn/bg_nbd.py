"""BG/NBD (Fader, Hardie and Lee 2005): the baseline the Pareto/NBD is measured against.

Purchases Poisson with λ ~ Gamma(r, α); after each repeat purchase the customer leaves with
probability p ~ Beta(a, b). Nobody leaves before a repeat purchase, so every one-time buyer
is 'alive' with probability 1: the model cannot rank them by churn risk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from crm_core.churn.summary import Summary

# Tight enough that a Nelder-Mead polish after L-BFGS-B moves the log-likelihood by < 1e-6.
TOLERANCES = {"ftol": 1e-12, "gtol": 1e-6, "maxiter": 2000}


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


def log_likelihood(p: BGNBD, x, t_x, T) -> np.ndarray:
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    common = gammaln(p.r + x) - gammaln(p.r) + p.r * np.log(p.alpha)
    stayed = betaln(p.a, p.b + x) - betaln(p.a, p.b) - (p.r + x) * np.log(p.alpha + T)
    repeat = np.maximum(x, 1.0)
    left = np.where(
        x > 0,
        betaln(p.a + 1, p.b + repeat - 1) - betaln(p.a, p.b) - (p.r + x) * np.log(p.alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(stayed, left)


def fit(data: Summary) -> tuple[BGNBD, float]:
    grouped = data.for_fit()
    x, t_x, T, w = grouped.x, grouped.t_x, grouped.T, grouped.weight
    mean_T = float(np.average(T, weights=w)) or 1.0
    mean_x = float(np.average(x, weights=w))
    start = np.array([0.0, np.log(mean_T / max(mean_x, 0.1)), 0.0, 0.0])

    def objective(q: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            p = BGNBD(*np.exp(np.clip(q, -30, 30)))
            value = -float(np.dot(w, log_likelihood(p, x, t_x, T)))
        return value if np.isfinite(value) else 1e300

    result = minimize(objective, start, method="L-BFGS-B", options=TOLERANCES)
    return BGNBD(*np.exp(result.x)), -float(result.fun)


def p_alive(p: BGNBD, x, t_x, T) -> np.ndarray:
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    odds = p.a / (p.b + np.maximum(x, 1.0) - 1.0) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x)
    return np.where(x > 0, 1.0 / (1.0 + odds), 1.0)


def expected(p: BGNBD, x, t_x, T, horizon_days: float) -> np.ndarray:
    """Expected purchases in the next `horizon_days` (equation 10 of the paper)."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    t = float(horizon_days)
    hyp = hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1.0, t / (p.alpha + T + t))
    growth = (p.a + p.b + x - 1.0) / (p.a - 1.0)
    first = growth * (1.0 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * hyp)
    odds = p.a / (p.b + np.maximum(x, 1.0) - 1.0) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x)
    return first / (1.0 + np.where(x > 0, odds, 0.0))


def p_none(p: BGNBD, x, t_x, T, horizon_days: float) -> np.ndarray:
    """No purchase in the horizon: left already, or active and no purchase (nobody leaves
    between purchases in this model)."""
    x, T = np.asarray(x, float), np.asarray(T, float)
    quiet = ((p.alpha + T) / (p.alpha + T + float(horizon_days))) ** (p.r + x)
    return 1.0 - p_alive(p, x, t_x, T) * (1.0 - quiet)
