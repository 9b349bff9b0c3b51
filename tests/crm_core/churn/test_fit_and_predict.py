"""Fitted on customers simulated from known parameters, the models find those parameters
again and foresee what the same simulated customers then do."""

from __future__ import annotations

import numpy as np
import pytest

from crm_core.churn import pareto_nbd
from crm_core.churn.summary import Summary
from tests.crm_core.churn.simulate import simulate


def test_the_pareto_nbd_recovers_the_parameters_it_was_simulated_with():
    true = pareto_nbd.ParetoNBD(r=0.8, alpha=40.0, s=0.7, beta=60.0)
    data = simulate(true, customers=10_000, holdout_days=0.0, seed=11)
    fitted, _ = pareto_nbd.fit(Summary.of(data.x, data.t_x, data.T), with_share=False)
    assert fitted.r == pytest.approx(true.r, rel=0.1)
    assert fitted.alpha == pytest.approx(true.alpha, rel=0.15)
    assert fitted.s == pytest.approx(true.s, rel=0.25)
    assert fitted.beta == pytest.approx(true.beta, rel=0.35)
    assert fitted.share == 0.0


def test_predictions_match_what_simulated_customers_do_next():
    """The never-leaving share trades off against s (both give long lifetimes), so its
    parameters are checked through what they predict: the holdout's purchases, who is still
    active, who buys nothing in 90 days."""
    true = pareto_nbd.ParetoNBD(r=0.8, alpha=40.0, s=0.7, beta=60.0, share=0.25)
    data = simulate(true, customers=10_000, holdout_days=180.0, seed=5)
    fitted, _ = pareto_nbd.fit(Summary.of(data.x, data.t_x, data.T), with_share=True)
    ahead = pareto_nbd.predict(fitted, data.x, data.t_x, data.T, 180.0)
    quarter = pareto_nbd.predict(fitted, data.x, data.t_x, data.T, 90.0)
    assert ahead.expected.sum() == pytest.approx(data.holdout.sum(), rel=0.05)
    assert ahead.p_alive.mean() == pytest.approx(data.alive.mean(), abs=0.03)
    assert quarter.p_none.mean() == pytest.approx(1 - data.bought_within_90.mean(), abs=0.02)
    # And per customer, not just on average: the likelier alive are more often alive.
    order = np.argsort(ahead.p_alive)
    least, most = order[: len(order) // 4], order[-len(order) // 4 :]
    assert data.alive[most].mean() > data.alive[least].mean() + 0.3


def test_a_fit_on_weighted_groups_equals_the_fit_on_every_customer():
    true = pareto_nbd.ParetoNBD(r=0.8, alpha=40.0, s=0.7, beta=60.0)
    data = simulate(true, customers=2_000, holdout_days=0.0, seed=2)
    days = Summary.of(data.x, np.floor(data.t_x), np.floor(data.T))
    grouped = days.grouped()
    assert len(grouped.x) < len(days.x) and grouped.customers == len(days.x)
    x, t_x, T = days.x, days.t_x, days.T
    p = pareto_nbd.ParetoNBD(r=0.9, alpha=30.0, s=0.8, beta=50.0, share=0.1)
    every = pareto_nbd.log_likelihood(p, x, t_x, T).sum()
    weighted = np.dot(
        grouped.weight, pareto_nbd.log_likelihood(p, grouped.x, grouped.t_x, grouped.T)
    )
    assert weighted == pytest.approx(every, rel=1e-12)


def test_impossible_histories_are_refused():
    with pytest.raises(ValueError, match="t_x <= T"):
        Summary.of([1], [20.0], [10.0])
    with pytest.raises(ValueError, match="x >= 0"):
        Summary.of([-1], [0.0], [10.0])
