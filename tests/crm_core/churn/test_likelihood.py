"""The models' log-likelihoods equal their definitions, integrated numerically on a tiny data set.

Independent of the models' code: the Pareto/NBD's likelihood as an integral over the unseen
moment the customer left (SciPy's quad), not its hypergeometric closed form; the BG/NBD's
from its individual-level form averaged with Beta functions. Both use the Gamma-Poisson
expectation, itself checked against an integral over the purchase rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from crm_core.churn import bg_nbd, pareto_nbd

# (x, t_x, T) in days: a one-time buyer, a lapsed and a recent repeat buyer, a long gap.
CUSTOMERS = [(0, 0.0, 30.0), (1, 10.0, 30.0), (4, 25.0, 60.0), (2, 5.0, 100.0)]


def gamma_poisson(p, x: int, t: float) -> float:
    """E[λ^x e^(-λt)] for λ ~ Gamma(r, α): Γ(r+x)/Γ(r) α^r / (α+t)^(r+x)."""
    return math.exp(
        math.lgamma(p.r + x) - math.lgamma(p.r) + p.r * math.log(p.alpha)
        - (p.r + x) * math.log(p.alpha + t)
    )  # fmt: skip


@pytest.mark.parametrize(("x", "t"), [(0, 30.0), (4, 25.0)])
def test_the_gamma_poisson_expectation_used_below_is_the_integral_over_the_rate(x, t):
    p = pareto_nbd.ParetoNBD(r=1.3, alpha=20.0, s=1.7, beta=40.0)
    rate = stats.gamma(p.r, scale=1 / p.alpha)
    value, _ = integrate.quad(
        lambda lam: lam**x * math.exp(-lam * t) * rate.pdf(lam), 0, np.inf, epsabs=1e-15
    )
    assert gamma_poisson(p, x, t) == pytest.approx(value, rel=1e-8)


def pareto_nbd_by_quadrature(p: pareto_nbd.ParetoNBD, x: int, t_x: float, T: float) -> float:
    """Still active at T (Pareto II survival), or left at τ in (t_x, T) (its density), with
    x purchases before; plus the never-leaving share, active throughout."""
    survival = (p.beta / (p.beta + T)) ** p.s

    def left_at(tau: float) -> float:
        density = p.s * p.beta**p.s / (p.beta + tau) ** (p.s + 1)
        return gamma_poisson(p, x, tau) * density

    left, _ = integrate.quad(left_at, t_x, T, epsabs=1e-15) if T > t_x else (0.0, 0.0)
    stays = gamma_poisson(p, x, T)
    return math.log(p.share * stays + (1 - p.share) * (stays * survival + left))


def bg_nbd_by_quadrature(p: bg_nbd.BGNBD, x: int, t_x: float, T: float) -> float:
    """(1-q)^x λ^x e^-λT + [x > 0] q (1-q)^(x-1) λ^x e^-λt_x, averaged over q ~ Beta(a, b)
    by Beta functions and over λ ~ Gamma(r, α)."""

    def beta_fn(a: float, b: float) -> float:
        return math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))

    stayed = beta_fn(p.a, p.b + x) / beta_fn(p.a, p.b) * gamma_poisson(p, x, T)
    left = 0.0
    if x > 0:
        left = beta_fn(p.a + 1, p.b + x - 1) / beta_fn(p.a, p.b) * gamma_poisson(p, x, t_x)
    return math.log(stayed + left)


@pytest.mark.parametrize(
    "params",
    [
        pareto_nbd.ParetoNBD(r=1.3, alpha=20.0, s=1.7, beta=40.0),  # α < β
        pareto_nbd.ParetoNBD(r=2.2, alpha=55.0, s=1.4, beta=15.0),  # α > β
        pareto_nbd.ParetoNBD(r=1.3, alpha=20.0, s=1.7, beta=40.0, share=0.3),
    ],
    ids=["alpha_below_beta", "alpha_above_beta", "with_never_leaving_share"],
)
def test_pareto_nbd_log_likelihood_equals_the_integral_of_its_definition(params):
    x, t_x, T = (np.array(column) for column in zip(*CUSTOMERS, strict=True))
    computed = pareto_nbd.log_likelihood(params, x, t_x, T)
    for (cx, ct, cT), value in zip(CUSTOMERS, computed, strict=True):
        assert value == pytest.approx(pareto_nbd_by_quadrature(params, cx, ct, cT), abs=1e-6)


def test_a_one_time_buyer_s_pareto_nbd_likelihood_by_hand():
    """x = 0, t_x = 0: (α/(α+T))^r [(β/(β+T))^s + s β^s ∫_0^T (α+τ)^-r (β+τ)^-(s+1) dτ];
    with r = 1, s = 1 and α = β the integral is 1/(2α²) - 1/(2(α+T)²)."""
    p = pareto_nbd.ParetoNBD(r=1.0, alpha=10.0, s=1.0, beta=10.0)
    T = 30.0
    by_hand = (10 / 40) * (10 / 40) + 1.0 * 10.0 * (1 / (2 * 10**2) - 1 / (2 * 40**2)) * 10.0
    assert pareto_nbd.log_likelihood(p, [0], [0.0], [T])[0] == pytest.approx(math.log(by_hand))


def test_bg_nbd_log_likelihood_equals_the_integral_of_its_definition():
    params = bg_nbd.BGNBD(r=0.8, alpha=12.0, a=0.9, b=2.5)
    x, t_x, T = (np.array(column) for column in zip(*CUSTOMERS, strict=True))
    computed = bg_nbd.log_likelihood(params, x, t_x, T)
    for (cx, ct, cT), value in zip(CUSTOMERS, computed, strict=True):
        assert value == pytest.approx(bg_nbd_by_quadrature(params, cx, ct, cT), abs=1e-6)


def test_bg_nbd_gives_every_one_time_buyer_p_alive_one_and_pareto_nbd_does_not():
    bg = bg_nbd.BGNBD(r=0.8, alpha=12.0, a=0.9, b=2.5)
    pn = pareto_nbd.ParetoNBD(r=1.3, alpha=20.0, s=1.7, beta=40.0)
    ages = np.array([10.0, 100.0, 300.0])
    assert bg_nbd.p_alive(bg, np.zeros(3), np.zeros(3), ages).tolist() == [1.0, 1.0, 1.0]
    alive = pareto_nbd.predict(pn, np.zeros(3), np.zeros(3), ages, 90).p_alive
    assert alive[0] > alive[1] > alive[2]  # the longer the silence, the likelier gone
