"""Class breaks for choropleth maps: computation on arrays, nothing drawn here.

Each method returns the upper bounds of ``k`` classes (the last one is the maximum), as
mapclassify's ``bins``. Missing values (NaN) are ignored; fewer distinct values than classes
give fewer classes.

>>> breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "quantiles", 5)
[2.8, 4.6, 6.4, 8.2, 10.0]
>>> breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "equal", 3)
[4.0, 7.0, 10.0]
>>> breaks([1, 1, 2, 2, 10, 11, 12, 30], "jenks", 3)
[2.0, 12.0, 30.0]
>>> classify([1, 5, float("nan"), 30], [2.0, 12.0, 30.0])
[0, 1, None, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from observatoire.errors import UnknownNameError

__all__ = ["METHODS", "breaks", "classify"]

METHODS = {
    "quantiles": "Quantiles (effectifs égaux)",
    "equal": "Intervalles égaux",
    "jenks": "Seuils naturels (Jenks)",
}
# Fisher-Jenks is quadratic in the number of distinct values: beyond this, on a sample.
_JENKS_SAMPLE = 1000


def breaks(
    values: Sequence[float] | np.ndarray, method: str = "quantiles", k: int = 5
) -> list[float]:
    """Upper bounds of ``k`` classes of ``values`` by ``method`` (see :data:`METHODS`)."""
    if method not in METHODS:
        raise UnknownNameError("méthode de discrétisation", method, list(METHODS))
    data = np.asarray(values, dtype=float)
    data = np.sort(data[~np.isnan(data)])
    if data.size == 0:
        return []
    distinct = np.unique(data)
    k = max(1, min(k, distinct.size))
    if method == "quantiles":
        bounds = np.quantile(data, np.arange(1, k + 1) / k)
    elif method == "equal":
        bounds = data[0] + (data[-1] - data[0]) * np.arange(1, k + 1) / k
    else:
        bounds = _jenks(data, k)
    bounds[-1] = data[-1]
    return [float(b) for b in np.unique(np.round(bounds, 10))]


def classify(values: Sequence[float] | np.ndarray, bounds: Sequence[float]) -> list[int | None]:
    """The class of each value (0-based) given upper ``bounds``; None for a missing value."""
    data = np.asarray(values, dtype=float)
    found = np.searchsorted(np.asarray(bounds, dtype=float), data, side="left")
    found = np.minimum(found, max(len(bounds) - 1, 0))
    return [None if np.isnan(v) else int(c) for v, c in zip(data, found, strict=True)]


def _jenks(data: np.ndarray, k: int) -> np.ndarray:
    """Fisher-Jenks natural breaks (optimal classes minimising the within-class variance) on
    the sorted ``data``, sampled evenly when large."""
    if data.size > _JENKS_SAMPLE:
        data = data[np.linspace(0, data.size - 1, _JENKS_SAMPLE).round().astype(int)]
    n = data.size
    prefix = np.concatenate([[0.0], np.cumsum(data)])
    squares = np.concatenate([[0.0], np.cumsum(data * data)])

    def cost(start: np.ndarray, end: int) -> np.ndarray:
        """Sum of squared deviations of data[start:end] for each start."""
        count = end - start
        total = prefix[end] - prefix[start]
        return squares[end] - squares[start] - total * total / count

    best = np.full((k + 1, n + 1), np.inf)
    cut = np.zeros((k + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for classes in range(1, k + 1):
        for end in range(classes, n + 1):
            starts = np.arange(classes - 1, end)
            total = best[classes - 1, starts] + cost(starts, end)
            i = int(np.argmin(total))
            best[classes, end], cut[classes, end] = total[i], starts[i]
    bounds, end = [], n
    for classes in range(k, 0, -1):
        bounds.append(data[end - 1])
        end = cut[classes, end]
    return np.array(bounds[::-1])
