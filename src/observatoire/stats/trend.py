"""Trend over a series of periods: the Mann–Kendall test, robust and without assumption on the
shape of the trend, and Sen's slope (median of the slopes between every pair of points).

With n points the statistic S counts rising pairs minus falling pairs; its variance is
n(n − 1)(2n + 5)/18 (ties ignored); the two-sided p-value comes from the normal approximation
with continuity correction. Fewer than 4 points give no test.

>>> rising = trend([2015, 2016, 2017, 2018, 2019, 2020], [10, 11, 12, 12.5, 14, 15])
>>> rising.direction, round(rising.slope, 2), rising.p_value < 0.05
('hausse', 1.0, True)
>>> trend([2015, 2016, 2017, 2018], [3, 1, 4, 1]).direction
'stable'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ALPHA", "Trend", "trend"]

ALPHA = 0.05
MIN_POINTS = 4


@dataclass(frozen=True)
class Trend:
    points: int
    slope: float  # Sen's slope, in the indicator's unit per unit of time
    p_value: float
    direction: str  # « hausse », « baisse », « stable », or « indéterminée » (too few points)


def trend(times: Sequence[float], values: Sequence[float]) -> Trend:
    """Mann–Kendall trend of ``values`` observed at ``times`` (NaN values left out)."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = ~np.isnan(t) & ~np.isnan(v)
    t, v = t[keep], v[keep]
    n = len(v)
    if n < MIN_POINTS:
        return Trend(n, math.nan, math.nan, "indéterminée")
    i, j = np.triu_indices(n, 1)
    dt = t[j] - t[i]
    s = float(np.sign((v[j] - v[i]) * np.sign(dt)).sum())
    variance = n * (n - 1) * (2 * n + 5) / 18
    z = (s - np.sign(s)) / math.sqrt(variance) if s else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))
    slopes = (v[j] - v[i])[dt != 0] / dt[dt != 0]
    slope = float(np.median(slopes)) if len(slopes) else math.nan
    if p_value >= ALPHA:
        return Trend(n, slope, p_value, "stable")
    return Trend(n, slope, p_value, "hausse" if s > 0 else "baisse")
