"""Trend projections of short series (a handful of vintages), with their error measured on the
series themselves: computation on arrays, one row per territory, one column per period.

Methods (:data:`METHODS`), all fit for three to ten points:

- ``constant`` (« sans évolution »): the last observed value; the baseline every other method
  must beat;
- ``linear``: the least-squares line through the points, extended;
- ``loglinear``: the least-squares line through the logarithms (a constant rate of growth);
  positive series only;
- ``damped``: the least-squares level at the last point, then the slope damped by
  :data:`DAMPING` a year (Gardner and McKenzie's damped trend, with the damping fixed: a short
  series cannot estimate it).

The lines are ordinary least squares, written over arrays so that the 35,000 communes of France
are fitted at once (statsmodels fits one series at a time; the tests check every estimate
against statsmodels' OLS).

**Measured error.** :func:`holdout` hides the last period, projects it for every territory
observed then from its points before, and :func:`measure` compares: the mean absolute
percentage error (MAPE) and the quantiles of the log-ratio observed / projected, which give
the prediction interval of a projection (:func:`interval`), widened as the square root of
the horizon (errors that add up year after year). On Filosofi's communes, the no-change
interval measured from 2019 to 2021, widened so, contained 84 % (medians) and 80 %
(households) of the changes from 2016 to 2021; widened in proportion to the horizon, 95 % and
94 %: far wider than said. The coverage reported is measured out of sample: the quantiles of
one half of the territories are tried on the other half, and back.

**Horizon.** A history of *n* years supports a projection of at most *n* years after its last
point (:func:`supported`): further, the trend is an assumption the data cannot check.

>>> times = np.array([2016.0, 2019.0, 2021.0])
>>> values = np.array([[100.0, 106.0, 110.0], [50.0, np.nan, 50.0]])
>>> project(times, values, "linear", np.array([2024.0, 2024.0])).round(1).tolist()
[116.0, 50.0]
>>> project(times, values, "constant", np.array([2024.0, 2024.0])).tolist()
[110.0, 50.0]
>>> supported(times, values, 2026.0).tolist()
[True, True]
>>> supported(times, values, 2027.0).tolist()
[False, False]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from observatoire.errors import UnknownNameError

__all__ = [
    "BASELINE",
    "DAMPING",
    "METHODS",
    "MIN_TERRITORIES",
    "Holdout",
    "Measure",
    "align",
    "choose",
    "ends",
    "hide_last",
    "holdout",
    "interval",
    "measure",
    "offered",
    "project",
    "scenario",
    "supported",
]

METHODS: dict[str, str] = {
    "constant": "sans évolution (dernière valeur)",
    "linear": "tendance linéaire",
    "loglinear": "tendance log-linéaire (taux de croissance constant)",
    "damped": "tendance amortie",
}
BASELINE = "constant"
DAMPING = 0.8  # the share of last year's slope kept the next year
# Points a method needs to project: one for the last value, two for a line.
_MIN_POINTS = {"constant": 1, "linear": 2, "loglinear": 2, "damped": 2}
# Fewer territories than this in a back-test give no quantiles worth the name.
MIN_TERRITORIES = 20

Array = np.ndarray


def _check(method: str) -> None:
    if method not in METHODS:
        raise UnknownNameError("méthode de projection", method, list(METHODS))


def ends(times: Array, values: Array) -> tuple[Array, Array, Array, Array]:
    """Per row: the number of observed points, the first and last observed times, the last
    observed value (NaN for a row without any)."""
    seen = ~np.isnan(values)
    count = seen.sum(axis=1)
    first = np.where(seen, times, np.inf).min(axis=1, initial=np.inf)
    last = np.where(seen, times, -np.inf).max(axis=1, initial=-np.inf)
    index = np.where(seen, np.arange(values.shape[1]), -1).max(axis=1, initial=-1)
    rows = np.arange(values.shape[0])
    last_value = np.where(index >= 0, values[rows, np.maximum(index, 0)], np.nan)
    empty = count == 0
    return count, np.where(empty, np.nan, first), np.where(empty, np.nan, last), last_value


def _line(times: Array, values: Array) -> tuple[Array, Array, Array]:
    """Least squares of each row on ``times`` over its observed points: mean time, mean
    value and slope (NaN slope for fewer than two distinct times)."""
    seen = ~np.isnan(values)
    count = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = np.where(seen, times, 0.0).sum(axis=1) / count
        y_mean = np.where(seen, values, 0.0).sum(axis=1) / count
        dt = np.where(seen, times - t_mean[:, None], 0.0)
        dy = np.where(seen, values - y_mean[:, None], 0.0)
        stt = (dt * dt).sum(axis=1)
        slope = np.where(stt > 0, (dt * dy).sum(axis=1) / np.where(stt > 0, stt, 1.0), np.nan)
    return t_mean, y_mean, slope


def project(times: Array, values: Array, method: str, targets: Array) -> Array:
    """Each row of ``values`` (observed at ``times``; NaN where not observed) projected by
    ``method`` to its time in ``targets`` (one per row); NaN where the row has too few
    points for the method (or, for ``loglinear``, a value that is not positive)."""
    _check(method)
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    targets = np.broadcast_to(np.asarray(targets, dtype=float), (values.shape[0],))
    count, _, last, last_value = ends(times, values)
    enough = count >= _MIN_POINTS[method]
    if method == "constant":
        out = last_value
    elif method == "loglinear":
        positive = ~(values <= 0).any(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(np.where(values > 0, values, np.nan))
            t_mean, y_mean, slope = _line(times, logs)
            out = np.exp(y_mean + slope * (targets - t_mean))
        enough &= positive
    else:
        t_mean, y_mean, slope = _line(times, values)
        if method == "linear":
            out = y_mean + slope * (targets - t_mean)
        else:  # damped: from the fitted level at the last point, each year φ times the last
            level = y_mean + slope * (last - t_mean)
            horizon = targets - last
            out = level + slope * DAMPING * (1 - DAMPING**horizon) / (1 - DAMPING)
    return np.where(enough & np.isfinite(out), out, np.nan)


def supported(times: Array, values: Array, targets: Array | float) -> Array:
    """Whether each row's history supports a projection to ``targets``: at most as many
    years after its last observed point as its history spans (and after it)."""
    _, first, last, _ = ends(np.asarray(times, float), np.asarray(values, float))
    targets = np.asarray(targets, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray((targets > last) & (targets - last <= last - first + 1e-9))


@dataclass(frozen=True)
class Holdout:
    """Each row's last observed point (``actual``, at ``horizon`` years after the point before
    it) and its projection from the points before (``predicted``); NaN where the row has too
    few points."""

    predicted: Array
    actual: Array
    horizon: Array


def hide_last(times: Array, values: Array) -> tuple[Array, Array, Array, Array]:
    """``values`` without each row's last observed point; that point's value and time, and
    the time of the point before it (NaN when none)."""
    values = np.asarray(values, dtype=float)
    seen = ~np.isnan(values)
    index = np.where(seen, np.arange(values.shape[1]), -1).max(axis=1, initial=-1)
    rows = np.arange(values.shape[0])
    has = index >= 0
    actual = np.where(has, values[rows, np.maximum(index, 0)], np.nan)
    at = np.where(has, np.asarray(times, float)[np.maximum(index, 0)], np.nan)
    before = values.copy()
    before[rows[has], index[has]] = np.nan
    _, _, previous, _ = ends(np.asarray(times, float), before)
    return before, actual, at, previous


def holdout(times: Array, values: Array, method: str) -> Holdout:
    """The back-test of ``method``: the last period projected from the ones before, for
    every row observed then (a row whose last point is older is left out: its error would be
    of another horizon)."""
    before, actual, at, previous = hide_last(times, values)
    if np.isfinite(at).any():
        latest = np.isclose(at, np.nanmax(at))
        at = np.where(latest, at, np.nan)
        actual = np.where(latest, actual, np.nan)
    predicted = project(times, before, method, np.nan_to_num(at, nan=0.0))
    predicted = np.where(np.isnan(at), np.nan, predicted)
    return Holdout(predicted, actual, at - previous)


@dataclass(frozen=True)
class Measure:
    """The error of a method measured by a back-test, at a typical ``horizon`` (years):
    ``mape`` (%) over ``territories`` territories (every one with a value other than zero),
    and over the ``banded`` ones whose values are positive, the quantiles ``low``/``high`` of
    the log-ratio observed / projected for a ``confidence`` interval, of which ``coverage``
    (out of sample) contained the observed value. NaN figures when nothing could be tested."""

    method: str
    territories: int
    horizon: float
    mape: float
    low: float
    high: float
    confidence: float
    coverage: float
    banded: int = 0

    @property
    def usable(self) -> bool:
        """Enough territories tested to say the error."""
        return self.territories >= MIN_TERRITORIES and bool(np.isfinite(self.horizon))

    @property
    def has_interval(self) -> bool:
        """Enough positive values tested to give an interval."""
        return self.usable and self.banded >= MIN_TERRITORIES

    @property
    def biased(self) -> str:
        """« sous-estime » or « surestime » when the method erred one way in most tests (its
        interval then lies on one side of the point), else ""."""
        if not self.has_interval:
            return ""
        if self.low > 0:
            return "sous-estime"
        return "surestime" if self.high < 0 else ""


def measure(method: str, test: Holdout, confidence: float = 0.8) -> Measure:
    """The error of ``method`` in back-test ``test`` (see :class:`Measure`), over the tests
    at the most common horizon (a territory missing the period before the last would mix a
    longer horizon in)."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie between 0 and 1")
    predicted, actual, horizon = test.predicted, test.actual, test.horizon
    ok = np.isfinite(predicted) & np.isfinite(actual) & (horizon > 0) & (actual != 0)
    if not ok.any():
        return Measure(method, 0, np.nan, np.nan, np.nan, np.nan, confidence, np.nan)
    common = float(np.median(horizon[ok]))
    ok &= np.isclose(horizon, common)
    n = int(ok.sum())
    mape = float(np.mean(np.abs(actual[ok] - predicted[ok]) / np.abs(actual[ok])) * 100)
    positive = ok & (actual > 0) & (predicted > 0)
    ratio = np.log(actual[positive] / predicted[positive])
    if len(ratio) == 0:
        return Measure(method, n, common, mape, np.nan, np.nan, confidence, np.nan)
    tails = ((1 - confidence) / 2, (1 + confidence) / 2)
    low, high = (float(q) for q in np.quantile(ratio, tails))
    coverage = np.nan
    if len(ratio) >= 2 * MIN_TERRITORIES:  # out of sample: each half's quantiles on the other
        halves = (ratio[0::2], ratio[1::2])
        inside = 0
        for a, b in (halves, halves[::-1]):
            lo, hi = np.quantile(a, tails)
            inside += int(((b >= lo) & (b <= hi)).sum())
        coverage = inside / len(ratio)
    return Measure(method, n, common, mape, low, high, confidence, coverage, len(ratio))


def align(tests: Mapping[str, Holdout]) -> dict[str, Holdout]:
    """The back-tests of several methods on the same territories: those every method that
    could test enough territories projected (the methods are compared on one set)."""
    able = [t for t in tests.values() if np.isfinite(t.predicted).sum() >= MIN_TERRITORIES]
    if not able:
        return dict(tests)
    shared = np.logical_and.reduce([np.isfinite(t.predicted) for t in able])
    return {
        m: Holdout(np.where(shared, t.predicted, np.nan), t.actual, t.horizon)
        for m, t in tests.items()
    }


def interval(points: Array, horizons: Array, error: Measure) -> tuple[Array, Array]:
    """The prediction interval of projections ``points`` at ``horizons`` (years after the
    last observation) from the back-test's quantiles, widened as the square root of the
    horizon over the tested one (errors that add up year after year, as a random walk's);
    NaN where a point is not positive or no interval is measured."""
    points = np.asarray(points, dtype=float)
    if not error.has_interval:
        nothing = np.full(points.shape, np.nan)
        return nothing, nothing.copy()
    scale = np.sqrt(np.maximum(np.asarray(horizons, dtype=float), 0.0) / error.horizon)
    with np.errstate(invalid="ignore"):
        positive = points > 0
        low = np.where(positive, points * np.exp(error.low * scale), np.nan)
        high = np.where(positive, points * np.exp(error.high * scale), np.nan)
    return low, high


def choose(errors: Mapping[str, Measure]) -> str:
    """The method offered by default: the smallest measured error among those that do no
    worse than no change (:data:`BASELINE`); no change when none is measured."""
    base = errors.get(BASELINE)
    if base is None or not base.usable:
        return BASELINE
    offered = [m for m in errors.values() if m.usable and m.mape <= base.mape]
    return min(offered, key=lambda m: (m.mape, list(METHODS).index(m.method))).method


def offered(errors: Mapping[str, Measure], method: str) -> bool:
    """Whether ``method`` does no worse than no change in the back-test."""
    base, found = errors.get(BASELINE), errors.get(method)
    if found is None or not found.usable:
        return False
    return base is None or not base.usable or found.mape <= base.mape


def scenario(
    start: float,
    start_time: float,
    times: Array,
    *,
    rate: float | None = None,
    target: float | None = None,
    target_time: float | None = None,
) -> Array:
    """A user's scenario from the last observed value ``start`` (at ``start_time``) to
    ``times``: ``rate`` % a year (compound), or ``target`` reached at ``target_time`` along a
    straight line and kept after.

    >>> scenario(100.0, 2021.0, np.array([2022.0, 2023.0]), rate=-10).round(2).tolist()
    [90.0, 81.0]
    >>> scenario(100.0, 2021.0, np.array([2022.0, 2025.0]), target=80, target_time=2023).tolist()
    [90.0, 80.0]
    """
    times = np.asarray(times, dtype=float)
    if (rate is None) == (target is None):
        raise ValueError("a scenario is a rate or a target, not both")
    if rate is not None:
        return np.asarray(start * (1 + rate / 100) ** (times - start_time))
    if target_time is None or target_time <= start_time:
        raise ValueError("a target needs a year after the last observed value")
    share = np.clip((times - start_time) / (target_time - start_time), 0.0, 1.0)
    return np.asarray(start + (float(target) - start) * share)  # type: ignore[arg-type]
