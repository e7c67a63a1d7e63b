"""Completeness measures over the cube of records, as pure functions of frames.

The cube's cells count, for each group (operator, territory, month…) and each field, the records
where the field was *expected* and those where it was *filled*. From them:

- a field's completeness: filled / expected;
- the **weighted score** of a group: Σ wᶠ·filledᶠ / Σ wᶠ·expectedᶠ over the fields of positive
  weight — the share of the expected (weighted) answers that were given; it adds up: an
  operator's score is the same computed from its months or from its records;
- rule violation rates: violated / judged;
- evolution between two periods (points gained), ranking, alerts under a threshold;
- volume jumps: the **modified z-score** of each month's count among the operator's months,
  0.6745·(x − median)/MAD (Iglewicz & Hoaglin; |z| > 3.5 is an outlier), with the mean absolute
  deviation (×1.2533) when the MAD is zero.

>>> cells = pd.DataFrame({"operator": ["A", "A", "B", "B"], "field": ["age", "sexe"] * 2,
...                       "expected": [10, 10, 4, 4], "filled": [5, 10, 4, 0]})
>>> score(cells, {"age": 1, "sexe": 1}, ["operator"]).score.tolist()
[75.0, 50.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "BY_CHOICES",
    "OUTLIER_Z",
    "evolution",
    "field_rates",
    "meeting_windows",
    "modified_z",
    "period_of",
    "rank",
    "rule_rates",
    "score",
]

OUTLIER_Z = 3.5
# What the cube may be grouped by (the names the CLI and the web accept).
BY_CHOICES = {
    "operator": "opérateur",
    "territory": "territoire",
    "month": "mois",
    "quarter": "trimestre",
    "year": "année",
    "field": "champ",
    "rule": "règle",
}
PERIODS = ("month", "quarter", "year")


def period_of(months: pd.Series, grain: str) -> pd.Series:
    """Months ``YYYY-MM`` as months, quarters (``2024-T2``) or years.

    >>> period_of(pd.Series(["2024-05", "2024-12"]), "quarter").tolist()
    ['2024-T2', '2024-T4']
    """
    if grain == "month":
        return months
    if grain == "year":
        return months.str[:4]
    if grain == "quarter":
        quarter = (months.str[5:7].astype(int) - 1) // 3 + 1
        return months.str[:4] + "-T" + quarter.astype(str)
    raise ValueError(grain)


def _rate(part: pd.Series, whole: pd.Series) -> pd.Series:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (100.0 * part / whole.where(whole > 0)).round(10)


def field_rates(cells: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Completeness of each field in each group: ``by``…, field, expected, filled, invalid,
    completeness (%) and missing (expected − filled)."""
    keys = [*by, "field"]
    sums = cells.groupby(keys, sort=True, dropna=False)[
        [c for c in ("expected", "filled", "invalid") if c in cells]
    ].sum()
    out = sums.reset_index()
    out["completeness"] = _rate(out.filled, out.expected)
    out["missing"] = out.expected - out.filled
    return out


def score(cells: pd.DataFrame, weights: Mapping[str, float], by: Sequence[str]) -> pd.DataFrame:
    """The weighted completeness score (%) of each group of ``by`` (see the module docstring).
    Groups with no expected weighted answer have no score (NaN)."""
    weighted = cells[cells.field.isin(list(weights))].copy()
    w = weighted.field.map(weights).astype(float)
    weighted["w_expected"] = w * weighted.expected
    weighted["w_filled"] = w * weighted.filled
    if not by:
        total = pd.DataFrame(
            {"w_expected": [weighted.w_expected.sum()], "w_filled": [weighted.w_filled.sum()]}
        )
    else:
        total = (
            weighted.groupby(list(by), sort=True, dropna=False)[["w_expected", "w_filled"]]
            .sum()
            .reset_index()
        )
    total["score"] = _rate(total.w_filled, total.w_expected)
    return total.drop(columns=["w_expected", "w_filled"])


def rule_rates(rules: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Violation rate (%) of each rule in each group: ``by``…, rule, judged, violated, rate."""
    sums = rules.groupby([*by, "rule"], sort=True, dropna=False)[["judged", "violated"]].sum()
    out = sums.reset_index()
    out["rate"] = _rate(out.violated, out.judged)
    return out


def rank(scores: pd.DataFrame, column: str = "score") -> pd.DataFrame:
    """Best first; equal scores share a rank (1, 2, 2, 4); groups without a score last."""
    out = scores.sort_values(column, ascending=False, na_position="last", kind="stable")
    out = out.reset_index(drop=True)
    out["rank"] = out[column].rank(ascending=False, method="min").astype("Int64")
    return out


def evolution(
    scores: pd.DataFrame, by: Sequence[str], period: str, *, before: str, after: str
) -> pd.DataFrame:
    """Score of each group at ``before`` and ``after`` and the change in points."""
    first = scores[scores[period] == before].set_index(list(by)).score.rename("before")
    last = scores[scores[period] == after].set_index(list(by)).score.rename("after")
    out = pd.concat([first, last], axis=1).reset_index()
    out["change"] = out.after - out.before
    return out


def meeting_windows(months: Sequence[str], day: str) -> tuple[list[str], list[str]]:
    """The months compared around a restitution meeting held on ``day``: the three before its
    month and the (at most three) after it; the meeting's own month is left out.

    >>> meeting_windows(["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"], "2025-03-31")
    (['2025-01', '2025-02'], ['2025-04', '2025-05'])
    """
    month = day[:7]
    ordered = sorted(months)
    return [m for m in ordered if m < month][-3:], [m for m in ordered if m > month][:3]


def modified_z(values: pd.Series) -> pd.Series:
    """Modified z-score of each value among ``values`` (see the module docstring).

    >>> modified_z(pd.Series([10, 11, 9, 10, 40])).round(1).tolist()
    [0.0, 0.7, -0.7, 0.0, 20.2]
    """
    x = values.astype(float)
    median = x.median()
    deviation = (x - median).abs()
    mad = deviation.median()
    if mad > 0:
        return 0.6745 * (x - median) / mad
    mean_ad = deviation.mean()
    if mean_ad > 0:
        return (x - median) / (1.253314 * mean_ad)
    return x * 0.0
