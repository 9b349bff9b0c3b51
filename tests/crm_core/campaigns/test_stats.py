"""Uplift statistics against cases worked out by hand (and Welch against SciPy's own test)."""

from __future__ import annotations

import pytest
from scipy import stats as reference

from crm_core.campaigns.stats import (
    GroupSums,
    Verdict,
    conversion_uplift,
    revenue_uplift,
    revenue_uplift_from_sums,
)


def test_conversion_uplift_matches_the_hand_computed_z_test():
    # 120 of 1000 treated bought, 90 of 1000 in control.
    # pooled p = 210/2000 = 0.105; SE = sqrt(0.105 * 0.895 * (1/1000 + 1/1000)) = 0.0137094
    # z = 0.03 / 0.0137094 = 2.18827; two-sided p = erfc(z / sqrt 2) = 0.028650
    # unpooled SE = sqrt(0.12*0.88/1000 + 0.09*0.91/1000) = 0.0136931; 95%: 0.03 -+ 0.026838
    uplift = conversion_uplift(1000, 120, 1000, 90)
    assert uplift.treatment == pytest.approx(0.12)
    assert uplift.control == pytest.approx(0.09)
    assert uplift.difference == pytest.approx(0.03)
    assert uplift.p_value == pytest.approx(0.028650, abs=1e-6)
    assert uplift.low == pytest.approx(0.003162, abs=1e-6)
    assert uplift.high == pytest.approx(0.056838, abs=1e-6)
    assert uplift.relative == pytest.approx(1 / 3)
    assert uplift.verdict is Verdict.SIGNIFICANT_GAIN


def test_a_small_difference_is_not_called_significant():
    uplift = conversion_uplift(1000, 100, 1000, 95)
    assert uplift.p_value > 0.05
    assert uplift.low < 0 < uplift.high
    assert uplift.verdict is Verdict.NO_SIGNIFICANT_DIFFERENCE


def test_a_loss_is_called_a_loss():
    assert conversion_uplift(1000, 60, 1000, 120).verdict is Verdict.SIGNIFICANT_LOSS


@pytest.mark.parametrize(
    ("treated", "bought", "control", "control_bought"),
    [(0, 0, 0, 0), (10, 9, 10, 1), (5000, 0, 500, 0), (1000, 3, 100, 0)],
)
def test_too_little_data_says_so_instead_of_guessing(treated, bought, control, control_bought):
    uplift = conversion_uplift(treated, bought, control, control_bought)
    assert uplift.verdict is Verdict.NOT_ENOUGH_DATA


def test_revenue_uplift_is_welchs_t_test():
    treatment, control = [3.0, 4.0, 5.0, 6.0, 7.0], [1.0, 2.0, 3.0]
    # means 5 and 2; variances 2.5 and 1; SE = sqrt(2.5/5 + 1/3) = 0.912871
    # t = 3 / 0.912871 = 3.28634; Welch df = 0.8333^2 / (0.5^2/4 + 0.3333^2/2) = 5.88235
    uplift = revenue_uplift(treatment, control)
    expected = reference.ttest_ind(treatment, control, equal_var=False)
    assert expected.statistic == pytest.approx(3.28634, abs=1e-5)
    assert expected.df == pytest.approx(5.88235, abs=1e-5)
    assert uplift.difference == pytest.approx(3.0)
    assert uplift.p_value == pytest.approx(expected.pvalue)
    assert uplift.p_value == pytest.approx(0.017178, abs=1e-6)
    # t(0.975, 5.88235) = 2.45885; margin 2.45885 * 0.912871 = 2.24459
    assert uplift.low == pytest.approx(3.0 - 2.244589, abs=1e-5)
    assert uplift.high == pytest.approx(3.0 + 2.244589, abs=1e-5)
    # Three customers in control: too few to call it, however small the p-value.
    assert uplift.verdict is Verdict.NOT_ENOUGH_DATA


def test_sums_give_the_same_answer_as_the_values():
    treatment = [0.0] * 700 + [250.0, 310.5, 80.0] * 100
    control = [0.0] * 80 + [199.0, 120.0] * 10
    from_values = revenue_uplift(treatment, control)
    from_sums = revenue_uplift_from_sums(
        GroupSums(len(treatment), sum(treatment), sum(v * v for v in treatment)),
        GroupSums(len(control), sum(control), sum(v * v for v in control)),
    )
    assert from_sums == from_values
    expected = reference.ttest_ind(treatment, control, equal_var=False)
    assert from_sums.p_value == pytest.approx(expected.pvalue)
    assert from_sums.verdict is Verdict.SIGNIFICANT_GAIN


def test_identical_groups_without_spread_have_no_verdict():
    uplift = revenue_uplift([0.0] * 100, [0.0] * 100)
    assert uplift.verdict is Verdict.NOT_ENOUGH_DATA
    assert uplift.difference == 0
