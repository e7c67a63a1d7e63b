"""Consistency over time of pooled statistics (the second domain of the WHO review).

For one indicator at one level, each territory's value of each period is set against what its
own history led to expect:

- the **expected value** is the mean of the (up to) three previous values (a value flagged is
  left out of the history of the periods after it: one anomaly is one flag), or, when the three
  previous values follow a trend (monotone, a straight line explaining ≥ 90 % of their
  variance), that line carried to the period;
- the **gap** is relative (%) for counts, amounts and medians, in points for rates and shares;
  a value is flagged when the gap passes the indicator's threshold, widened as √years when the
  previous value is more than a year old (Filosofi 2016 → 2019);
- where the cross-section is large enough (:data:`MIN_CROSS_SECTION` territories or more), a
  value is flagged only when its gap is also an outlier among the territories' gaps of that
  period: modified z-score |z| > 3.5 (Iglewicz & Hoaglin), so that a shift of every
  territory at once (a new definition) is one flag of the level, not thousands;
- a **break**: a territory with values before and after a period that has values for other
  territories of the level, and none for it;
- a **vintage gone**: a period published for the level before, or for another level, that the
  level no longer has;
- a **divergence**: a parent territory several of whose members are flagged for the same
  indicator and period.

Pure: frames in, frames out.

>>> frame = pd.DataFrame({"code": ["a"] * 4 + ["b"] * 4, "period": ["2016", "2017", "2018",
...     "2019"] * 2, "value": [1000, 1020, 1010, 1600, 500, 510, 490, 500]})
>>> flags = time_gaps(frame, kind="count", threshold=20)
>>> flags[["code", "period", "expected", "gap"]].to_dict("records")
[{'code': 'a', 'period': '2019', 'expected': 1010.0, 'gap': 58.4}]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.catalog.periods import period_time
from observatoire.quality.completeness import OUTLIER_Z, modified_z

__all__ = [
    "DEFAULT_THRESHOLDS",
    "KINDS",
    "MIN_CROSS_SECTION",
    "Series",
    "breaks",
    "divergences",
    "kind_of",
    "level_shifts",
    "series_of",
    "time_gaps",
    "vintages_gone",
]

# The kinds of value, and the default threshold of each: % for counts and levels, points for
# rates (counts: ±33 %, the WHO review's default for consistency over time). A count also
# needs an absolute gap of MIN_COUNT_GAP units (60 households that become 120 are no anomaly of
# a pooled base).
KINDS = {
    "count": "effectif",
    "rate": "taux ou part",
    "median": "médiane, montant, niveau",
}
DEFAULT_THRESHOLDS = {"count": 33.0, "rate": 10.0, "median": 20.0}
MIN_COUNT_GAP = 100.0
# Small areas (IRIS, QPV: about 2,000 inhabitants) change for real by more than communes do (a
# new estate, a home that closes): their thresholds and the count floor are tripled.
SMALL_AREA_FACTOR = 3.0
MIN_CROSS_SECTION = 30
TREND_R2 = 0.9
HISTORY = 3


def kind_of(aggregation: str, unit: str) -> str:
    """The kind of an indicator's values from its aggregation and unit.

    >>> kind_of("sum", "ménages"), kind_of("ratio", "%"), kind_of("not_aggregable", "€")
    ('count', 'rate', 'median')
    """
    if unit.strip() in ("%", "‰", "points", "pour 1000", "pour 1 000"):
        return "rate"
    return "count" if aggregation == "sum" else "median"


@dataclass(frozen=True)
class Series:
    """One indicator's values at one level as territories × periods (points in time only,
    in order): codes, periods, times, the usable values (NaN where none) and whether each
    territory has a row (of any status) for each period."""

    codes: np.ndarray
    periods: list[str]
    times: np.ndarray
    values: np.ndarray
    present: np.ndarray


def series_of(frame: pd.DataFrame) -> Series:
    """The :class:`Series` of ``frame`` (code, period, value, and ``ok``: whether the value
    is usable; every row usable without it), built by position (a pivot table is ten times
    slower on the 35,000 communes of France)."""
    at, periods = pd.factorize(frame.period)
    found = {str(p): period_time(str(p)) for p in periods}
    points = sorted((t, p) for p, t in found.items() if t is not None)
    column = {p: i for i, (_, p) in enumerate(points)}
    where = np.array([column.get(str(p), -1) for p in periods], dtype=int)[at]
    keep = where >= 0
    rows, codes = pd.factorize(frame.code)
    shape = (len(codes), len(points))
    present = np.zeros(shape, dtype=bool)
    present[rows[keep], where[keep]] = True
    usable = keep & ~np.isnan(frame.value.to_numpy(dtype=float))
    if "ok" in frame.columns:
        usable &= frame.ok.to_numpy(dtype=bool)
    values = np.full(shape, np.nan)
    values[rows[usable], where[usable]] = frame.value.to_numpy(dtype=float)[usable]
    return Series(np.asarray(codes, dtype=object), [p for _, p in points],
                  np.array([t for t, _ in points], dtype=float), values, present)  # fmt: skip


def _previous(values: np.ndarray, times: np.ndarray, j: int) -> tuple[np.ndarray, ...]:
    """For column ``j``: each row's (up to) :data:`HISTORY` latest values before it, as a
    values array and a times array (NaN where fewer), latest first."""
    rows = values.shape[0]
    prev_v = np.full((rows, HISTORY), np.nan)
    prev_t = np.full((rows, HISTORY), np.nan)
    filled = np.zeros(rows, dtype=int)
    for k in range(j - 1, -1, -1):
        column = values[:, k]
        take = ~np.isnan(column) & (filled < HISTORY)
        idx = np.nonzero(take)[0]
        prev_v[idx, filled[idx]] = column[idx]
        prev_t[idx, filled[idx]] = times[k]
        filled[idx] += 1
        if (filled >= HISTORY).all():
            break
    return prev_v, prev_t


def _expected(prev_v: np.ndarray, prev_t: np.ndarray, at: float) -> tuple[np.ndarray, ...]:
    """The value each row's history leads to expect at time ``at`` and whether it is a
    trend's (three previous values on a straight line) rather than their mean."""
    counted = (~np.isnan(prev_v)).sum(axis=1)
    mean = np.where(counted > 0, np.nansum(prev_v, axis=1) / np.maximum(counted, 1), np.nan)
    full = ~np.isnan(prev_v).any(axis=1)
    trend = np.zeros(len(mean), dtype=bool)
    expected = mean.copy()
    if full.any():
        v, t = prev_v[full], prev_t[full]
        t_mean, v_mean = t.mean(axis=1, keepdims=True), v.mean(axis=1, keepdims=True)
        sxx = ((t - t_mean) ** 2).sum(axis=1)
        sxy = ((t - t_mean) * (v - v_mean)).sum(axis=1)
        syy = ((v - v_mean) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = sxy / sxx
            r2 = np.where(syy > 0, sxy**2 / (sxx * syy), 0.0)
        diffs = np.diff(v[:, ::-1], axis=1)
        monotone = (diffs > 0).all(axis=1) | (diffs < 0).all(axis=1)
        trending = monotone & (r2 >= TREND_R2) & np.isfinite(slope)
        line = v_mean[:, 0] + slope * (at - t_mean[:, 0])
        rows = np.nonzero(full)[0][trending]
        expected[rows] = line[trending]
        trend[rows] = True
    return expected, trend


def time_gaps(frame: pd.DataFrame | Series, *, kind: str, threshold: float | None = None,
              small_area: bool = False) -> pd.DataFrame:  # fmt: skip
    """code, period, value, expected, gap, threshold, z, trend: the values of ``frame``
    (code, period, value: one indicator at one level, ``ok`` values only) whose gap to their
    expected value passes the threshold (see the module's docstring); ``small_area``: the
    level is one of small areas (thresholds and count floor × :data:`SMALL_AREA_FACTOR`)."""
    columns = ["code", "period", "value", "expected", "gap", "threshold", "z", "trend"]
    limit = DEFAULT_THRESHOLDS[kind] if threshold is None else float(threshold)
    factor = SMALL_AREA_FACTOR if small_area else 1.0
    limit *= factor
    matrix = frame if isinstance(frame, Series) else series_of(frame)
    values, times = matrix.values.copy(), matrix.times
    found: list[pd.DataFrame] = []
    for j in range(1, values.shape[1]):
        current = values[:, j].copy()
        prev_v, prev_t = _previous(values, times, j)
        has = ~np.isnan(current) & ~np.isnan(prev_v[:, 0])
        if not has.any():
            continue
        expected, trend = _expected(prev_v, prev_t, times[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "rate":
                gap = current - expected
            else:
                gap = np.where(expected != 0, 100 * (current / expected - 1), np.nan)
        years = np.maximum(times[j] - prev_t[:, 0], 1.0)
        allowed = limit * np.sqrt(years)
        z = np.full(len(gap), np.nan)
        usable = has & np.isfinite(gap)
        if usable.sum() >= MIN_CROSS_SECTION:
            z[usable] = modified_z(pd.Series(gap[usable])).to_numpy()
        flagged = usable & (np.abs(gap) > allowed)
        if usable.sum() >= MIN_CROSS_SECTION:
            flagged &= np.abs(z) > OUTLIER_Z
        if kind != "rate":  # from zero there is no relative gap: any change is one
            flagged |= has & ~np.isfinite(gap) & (current != expected)
        if kind == "count":
            flagged &= np.abs(current - expected) >= MIN_COUNT_GAP * factor
        if not flagged.any():
            continue
        values[flagged, j] = np.nan  # an anomaly is no history for the periods after it
        found.append(pd.DataFrame({
            "code": matrix.codes[flagged], "period": matrix.periods[j],
            "value": current[flagged], "expected": np.round(expected[flagged], 6),
            "gap": np.round(gap[flagged], 1), "threshold": np.round(allowed[flagged], 1),
            "z": np.round(z[flagged], 1), "trend": trend[flagged],
        }))  # fmt: skip
    if not found:
        return pd.DataFrame(columns=columns)
    return pd.concat(found, ignore_index=True)[columns]


def level_shifts(gaps: pd.DataFrame, series: Series, *, share: float = 0.5,
                 minimum: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The gaps of ``gaps`` (from :func:`time_gaps` of ``series``) that are a shift of the
    whole level rather than of territories: for a period where ``minimum`` territories or
    more, and more than ``share`` of those with a history, are flagged in the same
    direction, one row (period, flagged, judged, median gap, examples) instead of theirs.
    Returns the territories' gaps left, and the shifts."""
    columns = ["period", "flagged", "judged", "median", "examples"]
    if gaps.empty:
        return gaps, pd.DataFrame(columns=columns)
    values = series.values
    history = np.logical_or.accumulate(~np.isnan(values), axis=1)
    shifts, kept = [], []
    for period, rows in gaps.groupby("period", sort=False):
        j = series.periods.index(str(period))
        judged = int((~np.isnan(values[:, j]) & history[:, max(j - 1, 0)]).sum()) if j else 0
        signs = np.sign(rows.gap.fillna(0).to_numpy(dtype=float))
        same = max(int((signs > 0).sum()), int((signs < 0).sum()))
        if same >= minimum and judged and same > share * judged:
            shifts.append((str(period), len(rows), judged, float(rows.gap.median()),
                           rows.code.head(10).tolist()))  # fmt: skip
        else:
            kept.append(rows)
    left = pd.concat(kept, ignore_index=True) if kept else gaps.iloc[0:0]
    return left, pd.DataFrame(shifts, columns=columns)


def breaks(frame: pd.DataFrame | Series) -> pd.DataFrame:
    """code, period, before, after: the territories with no row for a period that other
    territories of the level have, between two periods they have a usable value for
    (``frame``: code, period and value of rows of any status — NaN where no usable value,
    ``ok`` when given — or their :class:`Series`; a territory secret before and after has no
    history to break)."""
    columns = ["code", "period", "before", "after"]
    matrix = frame if isinstance(frame, Series) else series_of(frame)
    present: np.ndarray = matrix.present
    if present.shape[1] < 3:
        return pd.DataFrame(columns=columns)
    valued = ~np.isnan(matrix.values)  # a usable value (a secret cell is a row, not a value)
    published = np.asarray(present.any(axis=0))
    seen_before = np.logical_or.accumulate(valued, axis=1)
    seen_after = np.logical_or.accumulate(valued[:, ::-1], axis=1)[:, ::-1]
    rows: list[tuple[str, str, str, str]] = []
    for j in range(1, present.shape[1] - 1):
        hole = ~present[:, j] & seen_before[:, j - 1] & seen_after[:, j + 1] & published[j]
        for i in np.nonzero(hole)[0]:
            before = next(matrix.periods[k] for k in range(j - 1, -1, -1) if valued[i, k])
            after = next(matrix.periods[k] for k in range(j + 1, present.shape[1])
                         if valued[i, k])  # fmt: skip
            rows.append((str(matrix.codes[i]), matrix.periods[j], str(before), str(after)))
    return pd.DataFrame(rows, columns=columns)


def vintages_gone(now: set[str], before: set[str], elsewhere: set[str]) -> list[str]:
    """The periods a level had at the last review (``before``) or another level of the same
    indicator has (``elsewhere``) that it no longer has (``now``), between its first and its
    last period for those of other levels (a level that starts later misses nothing).

    >>> vintages_gone({"2016", "2021"}, {"2016", "2019", "2021"}, set())
    ['2019']
    >>> vintages_gone({"2016", "2021"}, set(), {"2013", "2016", "2019", "2021"})
    ['2019']
    """
    gone = set(before) - now
    if now:
        first, last = min(now), max(now)
        gone |= {p for p in elsewhere - now if first < p < last}
    return sorted(gone)


def divergences(flagged: pd.DataFrame, parents: pd.DataFrame, *, minimum: int = 2,
                share: float = 0.1) -> pd.DataFrame:  # fmt: skip
    """parent_level, parent_code, period, flagged, members: the parents (``parents``: code,
    parent_level, parent_code, members — how many members of the level each parent has)
    ``minimum`` of whose members or more, and ``share`` of them or more, are in ``flagged``
    (code, period)."""
    columns = ["parent_level", "parent_code", "period", "flagged", "members"]
    if flagged.empty or parents.empty:
        return pd.DataFrame(columns=columns)
    joined = flagged[["code", "period"]].drop_duplicates().merge(parents, on="code")
    counts = joined.groupby(["parent_level", "parent_code", "period", "members"]).size()
    counts = counts.rename("flagged").reset_index()
    keep = (counts.flagged >= minimum) & (counts.flagged >= share * counts.members)
    return counts[keep][columns].reset_index(drop=True)


def thresholds_of(declared: Mapping[str, float], indicator: str, kind: str) -> float:
    """The threshold of ``indicator``: declared for it, else its kind's default."""
    return float(declared.get(indicator, DEFAULT_THRESHOLDS[kind]))
