"""95 % confidence intervals for indicators that have their counts (vectorised, pure).

- a proportion k / n (a share of a population): Wilson's score interval, good for small n and
  proportions near 0 or 1;
- a rate per population, k events (births, deaths) for n people: the exact Poisson interval of
  k in Byar's approximation, divided by n.

A statistic from a census sample or a published rate without its counts gets no interval.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Z95", "byar", "wilson"]

Z95 = 1.959963984540054


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the proportion k / n (as fractions); NaN where n ≤ 0 or k is outside [0, n].

    >>> low, high = wilson(np.array([15.0]), np.array([100.0]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.0931, 0.2328)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    valid = (n > 0) & (k >= 0) & (k <= n)
    safe_n = np.where(valid, n, 1.0)
    p = np.where(valid, k / safe_n, 0.0)
    denominator = 1 + z**2 / safe_n
    centre = (p + z**2 / (2 * safe_n)) / denominator
    half = z * np.sqrt(p * (1 - p) / safe_n + z**2 / (4 * safe_n**2)) / denominator
    return np.where(valid, centre - half, np.nan), np.where(valid, centre + half, np.nan)


def byar(k: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of a Poisson count k (Byar's approximation of the exact interval).

    >>> low, high = byar(np.array([10.0]))
    >>> round(float(low[0]), 2), round(float(high[0]), 2)
    (4.79, 18.39)
    """
    k = np.asarray(k, dtype=float)
    valid = k >= 0
    safe = np.where(valid, k, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = safe * (1 - 1 / (9 * safe) - z / (3 * np.sqrt(safe))) ** 3
    low = np.where(safe > 0, low, 0.0)
    up = safe + 1
    high = up * (1 - 1 / (9 * up) + z / (3 * np.sqrt(up))) ** 3
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)
