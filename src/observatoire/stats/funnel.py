"""Funnel plots: is a small territory really different from its reference, or just small?

Each territory's rate k / n is set against the reference's ``target`` by the size ``n`` of its
denominator. Under the hypothesis « no different from the reference » the observed count
follows a binomial law (a proportion: ``k`` of ``n`` people) or a Poisson law (events among
``n`` people: births, deaths) of mean ``n × target``; the control limits are that law's
quantiles, exact, divided by ``n`` (Spiegelhalter, « Funnel plots for comparing institutional
performance », *Statistics in Medicine* 24, 2005, appendix A.1.1): for the probability ``p``,
``r`` is the smallest count with ``F(r) ≥ p``, the step of the discrete law is smoothed by
``α = (F(r) − p) / (F(r) − F(r − 1))`` and the limit is ``(r − α) / n``.

Two pairs of limits: 95 % (2 standard deviations, p = 0.025 and 0.975) and 99.8 %
(3 standard deviations, p = 0.001 and 0.999). Pure and vectorised: 35,000 territories at once.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["BANDS", "LAWS", "bounds", "curve", "limits", "position"]

Law = Literal["binomial", "poisson"]
LAWS: tuple[Law, ...] = ("binomial", "poisson")
# (name, lower p, upper p): the limits drawn and judged, innermost first
BANDS: tuple[tuple[str, float, float], ...] = (("95", 0.025, 0.975), ("99.8", 0.001, 0.999))


def limits(n: np.ndarray, target: float, p: float, law: Law = "binomial") -> np.ndarray:
    """The control limit of probability ``p`` for denominators ``n`` around ``target`` (a
    proportion in [0, 1], or a rate per unit of ``n`` for the Poisson law); NaN where
    ``n`` < 1. ``n`` is rounded to a whole number (census counts are weighted estimates).

    Binomial(10, ½): F(1) = 11/1024, F(2) = 56/1024, so the 2.5 % limit is r = 2 less
    α = (56/1024 − 0.025) / (45/1024), over 10:

    >>> round(float(limits(np.array([10.0]), 0.5, 0.025)[0]), 6)
    0.132444
    """
    if law not in LAWS:
        raise ValueError(f"law {law!r}: expected one of {LAWS}")
    if not 0 < p < 1:
        raise ValueError(f"probability {p}: expected strictly between 0 and 1")
    size = np.rint(np.asarray(n, dtype=float))
    valid = np.isfinite(size) & (size >= 1)
    sizes, back = np.unique(np.where(valid, size, 1.0), return_inverse=True)  # each n once
    if law == "binomial":
        if not 0 <= target <= 1:
            raise ValueError(f"target {target}: a proportion is between 0 and 1")
        dist = stats.binom(sizes, target)
    else:
        if target < 0:
            raise ValueError(f"target {target}: a rate is not negative")
        dist = stats.poisson(sizes * target)
    r = dist.ppf(p)
    at = dist.cdf(r)
    step = dist.pmf(r)  # F(r) − F(r − 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(step > 0, (at - p) / step, 0.0)
    value = np.clip((r - alpha) / sizes, 0.0, 1.0 if law == "binomial" else None)
    return np.where(valid, value[back.reshape(-1)], np.nan)


def bounds(n: np.ndarray, target: float, law: Law = "binomial") -> dict[str, np.ndarray]:
    """Every limit at each of the denominators ``n``: one array per band and side
    (``95_low``, ``95_high``, ``99.8_low``, ``99.8_high``)."""
    out: dict[str, np.ndarray] = {}
    for name, lower, upper in BANDS:
        out[f"{name}_low"] = limits(n, target, lower, law)
        out[f"{name}_high"] = limits(n, target, upper, law)
    return out


def curve(
    low: float, high: float, target: float, law: Law = "binomial", *, points: int = 120
) -> dict[str, np.ndarray]:
    """The limits drawn from ``low`` to ``high`` (geometric steps of whole numbers): ``n``
    and the arrays of :func:`bounds`."""
    start, end = max(1.0, float(np.floor(low))), max(1.0, float(np.ceil(high)))
    n = np.unique(np.rint(np.geomspace(start, max(end, start + 1), points)))
    return {"n": n, **bounds(n, target, law)}


def position(value: np.ndarray, limits_at: dict[str, np.ndarray]) -> np.ndarray:
    """Where each rate lies against its limits (:func:`bounds` at its denominator, on the
    rate's scale): ``-2`` below the 99.8 % limit, ``-1`` below the 95 % one, ``0`` inside,
    ``1`` above the 95 % limit, ``2`` above the 99.8 % one; 0 where a limit is unknown."""
    value = np.asarray(value, dtype=float)
    out = np.zeros(len(value), dtype=int)
    for step, (name, _, _) in enumerate(BANDS, start=1):
        below = value < limits_at[f"{name}_low"]
        above = value > limits_at[f"{name}_high"]
        out = np.where(below, -step, np.where(above, step, out))
    return out
