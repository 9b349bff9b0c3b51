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

    def grouped(self, resolution_days: float = 1.0) -> Summary:
        """Equal (x, t_x, T), after rounding the times to `resolution_days`, become one
        weighted row. Rounding to a day changes nothing for data kept by day."""
        t_x = np.round(self.t_x / resolution_days) * resolution_days
        T = np.round(self.T / resolution_days) * resolution_days
        table = np.column_stack([self.x, t_x, T])
        unique, inverse = np.unique(table, axis=0, return_inverse=True)
        weight = np.bincount(inverse.ravel(), weights=self.weight, minlength=len(unique))
        return Summary(unique[:, 0], unique[:, 1], unique[:, 2], weight)
