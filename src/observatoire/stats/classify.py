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
>>> breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "manual", manual=[3, 6])
[3.0, 6.0, 10.0]
>>> counts([1, 5, float("nan"), 30, 12], [2.0, 12.0, 30.0])
[1, 2, 1]

``stddev`` cuts at the reference (the mean when none is given) plus multiples of the
standard deviation (ddof=1): an odd ``k`` has a middle class of ±1 σ (mapclassify's StdMean
for ``k`` = 5: −2, −1, +1, +2 σ), an even ``k`` splits at the reference itself (−1, 0, +1 σ
for ``k`` = 4), so that a diverging palette centred on the reference reads both sides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from observatoire.errors import InputError, UnknownNameError

__all__ = ["METHODS", "breaks", "classify", "counts", "parse_breaks", "stddev_multiples"]

METHODS = {
    "quantiles": "Quantiles (effectifs égaux)",
    "equal": "Intervalles égaux",
    "jenks": "Seuils naturels (Jenks-Fisher)",
    "stddev": "Écarts-types autour de la référence",
    "manual": "Seuils choisis",
}
# Fisher-Jenks is quadratic in the number of distinct values: beyond this, on a sample.
_JENKS_SAMPLE = 1000


def breaks(
    values: Sequence[float] | np.ndarray,
    method: str = "quantiles",
    k: int = 5,
    *,
    reference: float | None = None,
    manual: Sequence[float] | None = None,
    multiples: Sequence[float] | None = None,
) -> list[float]:
    """Upper bounds of ``k`` classes of ``values`` by ``method`` (see :data:`METHODS`).

    ``reference`` centres ``stddev`` (default: the mean); ``multiples`` overrides its
    multiples of σ; ``manual`` gives the upper bounds of ``manual`` (the maximum is added
    when it lies above the last one)."""
    if method not in METHODS:
        raise UnknownNameError("méthode de discrétisation", method, list(METHODS))
    data = np.asarray(values, dtype=float)
    data = np.sort(data[~np.isnan(data)])
    if method == "manual":
        return _manual(data, manual)
    if data.size == 0:
        return []
    if method == "stddev":
        return _stddev(data, k, reference, multiples)
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


def parse_breaks(text: str) -> tuple[float, ...]:
    """Breaks typed by a person: « 10,20,30 », « 10 20 30 » or « 2,5; 5; 7,5 » (a decimal
    comma when the numbers are spaced or separated by ;).

    >>> parse_breaks("10,20,30"), parse_breaks("2,5; 5; 7,5"), parse_breaks("1.5 3")
    ((10.0, 20.0, 30.0), (2.5, 5.0, 7.5), (1.5, 3.0))
    """
    spaced = ";" in text or " " in text.strip()
    parts = text.replace(";", " ").split() if spaced else text.split(",")
    try:
        return tuple(float(p.replace(",", ".")) for p in parts if p)
    except ValueError:
        raise InputError(f"seuils non numériques « {text} » (ex. « 10,20,30 »)") from None


def counts(values: Sequence[float] | np.ndarray, bounds: Sequence[float]) -> list[int]:
    """How many (non-missing) values fall in each class of ``bounds``."""
    found = [c for c in classify(values, bounds) if c is not None]
    return [found.count(i) for i in range(len(bounds))]


def stddev_multiples(k: int) -> list[float]:
    """The multiples of σ cutting ``k`` classes (see the module's docstring).

    >>> stddev_multiples(5), stddev_multiples(4), stddev_multiples(3)
    ([-2.0, -1.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-1.0, 1.0])
    """
    if k < 2:
        return []
    if k % 2:
        half = [float(i) for i in range(1, k // 2 + 1)]
        return [-m for m in reversed(half)] + half
    side = k // 2 - 1
    return [float(i) for i in range(-side, side + 1)]


def _stddev(
    data: np.ndarray, k: int, reference: float | None, multiples: Sequence[float] | None
) -> list[float]:
    centre = float(np.mean(data)) if reference is None else float(reference)
    spread = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    if spread == 0.0:
        return [float(data[-1])]
    chosen = list(multiples) if multiples is not None else stddev_multiples(k)
    cuts = [centre + spread * m for m in chosen]
    if not cuts or cuts[-1] < data[-1]:
        cuts.append(float(data[-1]))
    return [float(c) for c in cuts]


def _manual(data: np.ndarray, manual: Sequence[float] | None) -> list[float]:
    if not manual:
        raise InputError("seuils choisis : donnez au moins un seuil (ex. 10, 20, 30)")
    chosen = [float(b) for b in manual]
    if any(b >= a for a, b in zip(chosen[1:], chosen, strict=False)) or any(
        np.isnan(b) for b in chosen
    ):
        raise InputError(f"seuils choisis : ils doivent croître strictement ({chosen})")
    if data.size and data[-1] > chosen[-1]:
        chosen.append(float(data[-1]))
    return chosen


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
        return np.asarray(squares[end] - squares[start] - total * total / count, dtype=float)

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
