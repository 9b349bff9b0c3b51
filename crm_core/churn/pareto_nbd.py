"""Pareto/NBD, optionally with a share of customers who never leave, fitted by maximum likelihood.

The Pareto/NBD (Schmittlein, Morrison and Colombo 1987; the likelihood as in Fader, Hardie
and Lee's 2005 implementation note): while active, a customer buys as a Poisson process with
rate λ ~ Gamma(r, α); they stay active for an exponential lifetime with rate μ ~ Gamma(s, β),
unobserved. Unlike the BG/NBD, a customer who bought once and was quiet since is judged less
and less likely to be active as time goes by, so the model ranks one-time buyers too.

`share` adds a second segment (a finite mixture): customers who buy at the same Gamma-mixed
rates but never leave (the NBD, Ehrenberg 1959). It is off by default: on CDNOW it forecasts
the true holdout (which holds a Christmas season) better, but forecasts a split of the
calibration period much worse than the plain model, and it trades off against s, so its
estimate wanders (BENCHMARKS.md). `share = 0` is the plain Pareto/NBD.

Time is in days. The one integral the likelihood needs is the Gauss hypergeometric form of
the Fader-Hardie-Lee note, evaluated with SciPy in logs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, exprel, gammaln, hyp2f1, logit

from crm_core.churn.summary import Summary

# Tight enough that a Nelder-Mead polish after L-BFGS-B moves the log-likelihood by < 1e-6.
TOLERANCES = {"ftol": 1e-12, "gtol": 1e-6, "maxiter": 2000}


@dataclass(frozen=True)
class ParetoNBD:
    r: float
    alpha: float
    s: float
    beta: float
    share: float = 0.0  # the part of customers who never leave

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


def log_integral(k, s, alpha, beta, a, b):
    """log ∫_a^b (α+τ)^-k (β+τ)^-(s+1) dτ for b > a (-inf where b <= a).

    Substituting w = (m+τ)^-(k+s), m = max(α, β), gives the 2F1(k+s, ·; k+s+1; ·) form of
    the Pareto/NBD literature; the smaller of α, β decides which one (so |z| < 1 always).
    """
    k, a, b = np.broadcast_arrays(np.asarray(k, float), np.asarray(a, float), np.asarray(b, float))
    c = k + s
    if alpha >= beta:
        m, second = alpha, np.full_like(c, s + 1.0)
    else:
        m, second = beta, k
    z = abs(alpha - beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_low = np.log(hyp2f1(c, second, c + 1.0, z / (m + a))) - c * np.log(m + a)
        log_high = np.log(hyp2f1(c, second, c + 1.0, z / (m + b))) - c * np.log(m + b)
        difference = log_low + np.log(-np.expm1(log_high - log_low))
    return np.where(b > a, difference - np.log(c), -np.inf)


def _components(p: ParetoNBD, x, t_x, T):
    """Log-likelihood of each customer, split by what they may be: a never-leaving customer,
    a Pareto/NBD customer still active at T, or one who left between t_x and T."""
    k = p.r + x
    common = gammaln(k) - gammaln(p.r) + p.r * np.log(p.alpha)
    with np.errstate(divide="ignore"):
        log_share, log_rest = np.log(p.share), np.log1p(-p.share)
    loyal = log_share - k * np.log(p.alpha + T)
    alive = log_rest + p.s * np.log(p.beta) - k * np.log(p.alpha + T) - p.s * np.log(p.beta + T)
    left = (
        log_rest
        + np.log(p.s)
        + p.s * np.log(p.beta)
        + log_integral(k, p.s, p.alpha, p.beta, t_x, T)
    )
    total = np.logaddexp(np.logaddexp(loyal, alive), left)
    return common + total, loyal - total, alive - total


def log_likelihood(p: ParetoNBD, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood of (x, t_x, T)."""
    return _components(p, np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float))[0]


def _unpack(q: np.ndarray, with_share: bool) -> ParetoNBD:
    r, alpha, s, beta = np.exp(np.clip(q[:4], -30, 30))
    return ParetoNBD(r, alpha, s, beta, float(expit(q[4])) if with_share else 0.0)


def fit(data: Summary, with_share: bool = False) -> tuple[ParetoNBD, float]:
    """Maximum likelihood over log-parameters (and the logit of the share) by L-BFGS-B;
    returns the parameters and the total log-likelihood."""
    grouped = data.for_fit()
    x, t_x, T, w = grouped.x, grouped.t_x, grouped.T, grouped.weight
    mean_T = float(np.average(T, weights=w)) or 1.0
    mean_x = float(np.average(x, weights=w))
    start = [0.0, np.log(mean_T / max(mean_x, 0.1)), 0.0, np.log(mean_T)]
    if with_share:
        start.append(logit(0.1))

    def objective(q: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.dot(w, log_likelihood(_unpack(q, with_share), x, t_x, T)))
        return value if np.isfinite(value) else 1e300

    result = minimize(objective, np.array(start), method="L-BFGS-B", options=TOLERANCES)
    return _unpack(result.x, with_share), -float(result.fun)


@dataclass(frozen=True)
class Prediction:
    p_alive: np.ndarray
    expected: np.ndarray  # purchases within the horizon
    p_none: np.ndarray  # probability of no purchase within the horizon
    median_wait: np.ndarray  # days until an active customer has bought again with 50% chance


def _active_time(beta_T: np.ndarray, s: float, t: float) -> np.ndarray:
    """E[time active within t] for a Pareto/NBD customer active now: (β+T)/(s-1) ·
    (1 - ((β+T)/(β+T+t))^(s-1)), written so that s = 1 needs no special case."""
    span = np.log1p(t / beta_T)
    return beta_T * span * exprel(-(s - 1.0) * span)


def predict(p: ParetoNBD, x, t_x, T, horizon_days: float) -> Prediction:
    """What the model expects of each customer in the next `horizon_days` after T."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    _, log_loyal, log_alive = _components(p, x, t_x, T)
    loyal, alive = np.exp(log_loyal), np.exp(log_alive)
    k = p.r + x
    rate = k / (p.alpha + T)  # E[λ | history]
    t = float(horizon_days)
    no_buy_while_there = np.exp(k * (np.log(p.alpha + T) - np.log(p.alpha + T + t)))
    # Active Pareto/NBD customer: no purchase if they stay and do not buy, or leave first.
    stays = np.exp(p.s * (np.log(p.beta + T) - np.log(p.beta + T + t)))
    leaves_first = np.exp(
        np.log(p.s)
        + p.s * np.log(p.beta + T)
        + k * np.log(p.alpha + T)
        + log_integral(k, p.s, p.alpha, p.beta, T, T + t)
    )
    p_none_alive = no_buy_while_there * stays + leaves_first
    expected = loyal * rate * t + alive * rate * _active_time(p.beta + T, p.s, t)
    p_none = 1.0 - loyal * (1.0 - no_buy_while_there) - alive * (1.0 - p_none_alive)
    median_wait = (p.alpha + T) * np.expm1(np.log(2.0) / k)
    return Prediction(loyal + alive, expected, np.clip(p_none, 0.0, 1.0), median_wait)
