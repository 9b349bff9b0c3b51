"""Did the campaign work? Uplift of treatment over control with its uncertainty.

Conversion (the share of customers who bought within the attribution window) is compared by
a two-proportion z-test; revenue per customer by Welch's t-test, which does not assume equal
variances and needs only each group's count, sum and sum of squares, so SQL can aggregate a
million customers and Python never sees them one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from scipy import stats

CONFIDENCE = 0.95
# Below this many customers in a group, or conversions in both groups, a verdict is premature.
MIN_GROUP = 30
MIN_CONVERSIONS = 5


class Verdict(StrEnum):
    SIGNIFICANT_GAIN = "significant_gain"
    SIGNIFICANT_LOSS = "significant_loss"
    NO_SIGNIFICANT_DIFFERENCE = "no_significant_difference"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class Uplift:
    """Treatment minus control, with a confidence interval and the test's two-sided p-value."""

    treatment: float
    control: float
    difference: float
    low: float | None
    high: float | None
    p_value: float | None
    verdict: Verdict

    @property
    def relative(self) -> float | None:
        """Difference as a share of the control's value (None when the control is zero)."""
        return self.difference / self.control if self.control else None


def _verdict(p_value: float | None, difference: float, enough: bool) -> Verdict:
    if not enough or p_value is None:
        return Verdict.NOT_ENOUGH_DATA
    if p_value >= 1 - CONFIDENCE:
        return Verdict.NO_SIGNIFICANT_DIFFERENCE
    return Verdict.SIGNIFICANT_GAIN if difference > 0 else Verdict.SIGNIFICANT_LOSS


def conversion_uplift(
    treated: int, treated_converted: int, control: int, control_converted: int
) -> Uplift:
    """Two-proportion z-test (pooled standard error for the p-value, unpooled for the
    interval, as textbooks do)."""
    if treated <= 0 or control <= 0:
        return Uplift(0.0, 0.0, 0.0, None, None, None, Verdict.NOT_ENOUGH_DATA)
    p1, p2 = treated_converted / treated, control_converted / control
    difference = p1 - p2
    pooled = (treated_converted + control_converted) / (treated + control)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / treated + 1 / control))
    p_value = 2 * stats.norm.sf(abs(difference) / pooled_se) if pooled_se > 0 else None
    se = math.sqrt(p1 * (1 - p1) / treated + p2 * (1 - p2) / control)
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    low, high = (difference - z * se, difference + z * se) if se > 0 else (None, None)
    enough = (
        min(treated, control) >= MIN_GROUP
        and min(treated_converted + control_converted, treated + control) >= MIN_CONVERSIONS
    )
    return Uplift(p1, p2, difference, low, high, p_value, _verdict(p_value, difference, enough))


@dataclass(frozen=True)
class GroupSums:
    """A group's revenue per customer, summarised: customers, sum, sum of squares."""

    count: int
    total: float
    total_of_squares: float

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (n - 1 in the denominator)."""
        if self.count < 2:
            return 0.0
        spread = self.total_of_squares - self.total * self.total / self.count
        return max(spread, 0.0) / (self.count - 1)


def revenue_uplift(treatment: list[float], control: list[float]) -> Uplift:
    """Welch's t-test on revenue per customer, from the values themselves."""
    return revenue_uplift_from_sums(
        GroupSums(len(treatment), sum(treatment), sum(v * v for v in treatment)),
        GroupSums(len(control), sum(control), sum(v * v for v in control)),
    )


def revenue_uplift_from_sums(treatment: GroupSums, control: GroupSums) -> Uplift:
    """Welch's t-test on revenue per customer, from each group's count, sum and squares."""
    difference = treatment.mean - control.mean
    if treatment.count < 2 or control.count < 2:
        return Uplift(
            treatment.mean, control.mean, difference, None, None, None, Verdict.NOT_ENOUGH_DATA
        )
    a, b = treatment.variance / treatment.count, control.variance / control.count
    se = math.sqrt(a + b)
    if se == 0:
        return Uplift(
            treatment.mean, control.mean, difference, None, None, None, Verdict.NOT_ENOUGH_DATA
        )
    freedom = (a + b) ** 2 / (a * a / (treatment.count - 1) + b * b / (control.count - 1))
    t = difference / se
    p_value = float(2 * stats.t.sf(abs(t), freedom))
    margin = float(stats.t.ppf(0.5 + CONFIDENCE / 2, freedom)) * se
    enough = min(treatment.count, control.count) >= MIN_GROUP
    return Uplift(
        treatment.mean,
        control.mean,
        difference,
        difference - margin,
        difference + margin,
        p_value,
        _verdict(p_value, difference, enough),
    )
