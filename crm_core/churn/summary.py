"""A customer's purchase history reduced to what buy-till-you-die models need.

`x` is the number of repeat purchases (days with a purchase after the first one), `t_x` the
days from the first to the last purchase, `T` the days from the first purchase to the end of
the observation. Customers with the same three numbers are one row with a `weight`, so a fit
over a million customers evaluates the likelihood on far fewer rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, x, t_x, T) -> Summary:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if not (x.shape == t_x.shape == T.shape):
            raise ValueError("x, t_x and T must have one value per customer")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
            raise ValueError("need x >= 0 and 0 <= t_x <= T")
        return cls(x, t_x, T, np.ones_like(x))

    @property
    def customers(self) -> float:
        return float(self.weight.sum())

    def for_fit(self, max_rows: int = 40_000) -> Summary:
        """Grouped by day, or by 2, 4, 7 or 14 days when there are more than `max_rows`
        distinct histories: the fit's cost is per row, and at rates of a purchase every few
        weeks a few days of rounding change its estimates by far less than their own error
        (BENCHMARKS.md)."""
        for resolution in (1.0, 2.0, 4.0, 7.0):
            grouped = self.grouped(resolution)
            if len(grouped.x) <= max_rows:
                return grouped
        return self.grouped(14.0)

    def grouped(self, resolution_days: float = 1.0) -> Summary:
        """Equal (x, t_x, T), after rounding the times to `resolution_days`, become one
        weighted row. Rounding to a day changes nothing for data kept by day."""
        t_x = np.round(self.t_x / resolution_days).astype(np.int64)
        T = np.round(self.T / resolution_days).astype(np.int64)
        x = self.x.astype(np.int64)
        span = int(T.max(initial=0)) + 1
        # One integer per history: sorting a million of them takes milliseconds.
        keys = (x * span + t_x) * span + T
        unique, inverse = np.unique(keys, return_inverse=True)
        weight = np.bincount(inverse, weights=self.weight, minlength=len(unique))
        return Summary(
            (unique // (span * span)).astype(float),
            ((unique // span) % span) * resolution_days,
            (unique % span) * resolution_days,
            weight,
        )
