"""Comparing territories: with a reference territory, within their level, and over time.

- **Reference**: each territory against the territory of a reference level that contains it
  (its EPCI, département, région, France) or against a chosen territory. The gap is in the
  indicator's unit (points for a percentage), the index is 100 × value / reference. The gap is
  *significant* when the reference lies outside the territory's 95 % confidence interval, and
  is read through the indicator's polarity (« plus favorable » / « moins favorable »).
  The reference may also be pooled: the mean of the communes of the same population class
  (``strate``) or of the territory's statistical neighbours (``voisins``).
- **Trend** of each territory over every period (Mann–Kendall, Sen's slope), and the
  **alert**: significantly worse than the reference *and* getting significantly worse.
- **Rank and percentile** among all territories of the level (nationally), highest value first.
- **Evolution** between two periods: absolute, relative (%), and the compound annual growth
  rate (TCAM); for a percentage the absolute evolution is in points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Catalogue, Polarity
from observatoire.catalog.periods import period_time
from observatoire.engine.compute import DEFAULT_THRESHOLD, compute_indicator
from observatoire.errors import InputError
from observatoire.stats.strata import strata
from observatoire.stats.trend import trend
from observatoire.store.base import Warehouse
from observatoire.territories.levels import LEVELS
from observatoire.territories.references import STAND_INS

__all__ = ["NEIGHBOURS", "STRATUM", "Fetch", "compare_indicator", "evolution", "judge",
           "years_between"]

STRATUM = "strate"  # the communes of the same population class
NEIGHBOURS = "voisins"  # the statistical neighbours

USABLE = ("ok", "partial")  # the statuses ranked and compared


def compare_indicator(
    warehouse: Warehouse,
    catalogue: Catalogue,
    ident: str,
    *,
    level: str,
    reference: str | tuple[str, str],
    within: tuple[str, str] | None = None,
    period: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    fetch: Fetch | None = None,
    neighbours: pd.DataFrame | None = None,
    ranks: Ranks | None = None,
) -> pd.DataFrame:
    """The indicator's values for ``level`` with, for each territory, its reference, gap,
    index, significance, rank, percentile, trend over every period and the alert
    « significantly worse and getting worse ».

    The reference is a level that contains it, one ``(level, code)`` territory, ``strate``
    (the mean of the territories of its population class) or ``voisins`` (the mean of its
    statistical ``neighbours``: code, neighbour). ``fetch(level, within, period)`` gives the
    values compared (by default computed; an audience's own view for a restricted one: ranks
    are then among what it sees). ``ranks(level, within, period)``: the ranks and shares of
    the territories inside ``within`` among the whole level, when the database gives them
    (then the level is not read: see :func:`observatoire.store.computed.rank_computed`)."""
    indicator = catalogue.get(ident)
    get = fetch or _computing(warehouse, catalogue, ident, threshold)
    pooled = reference in (STRATUM, NEIGHBOURS)
    if ranks is not None and within is not None and not pooled:
        series = get(level, within, None)  # every period of the territories shown: trends
        shown = series if period is None else series[series.period == period]
        frame = _with_ranks(shown, ranks(level, within, period))
    else:
        series = get(level, None, None)
        everyone = series if period is None else series[series.period == period]
        frame = _ranked(everyone)
        if within is not None:
            inside = get(level, within, period)
            frame = frame[frame.code.isin(set(inside.code))]
    if pooled:
        frame = _pooled_reference(warehouse, frame, everyone, level, str(reference), neighbours)
    else:
        frame = _territory_reference(warehouse, frame, level, reference, period, get)
    usable = frame.status.isin(USABLE) & frame.reference_status.isin(USABLE)
    frame["gap"], frame["significant"], frame["assessment"] = judge(
        frame.value, frame.reference_value, frame.ci_low, frame.ci_high, usable,
        indicator.polarity,
    )  # fmt: skip
    frame["index"] = (
        100 * frame.value / frame.reference_value.where(frame.reference_value != 0)
    ).where(usable)
    shown = series[series.code.isin(set(frame.code))]  # trends of the territories returned
    frame = frame.merge(_trends(shown), on="code", how="left")
    frame["alert"] = _alert(frame, indicator.polarity)
    return frame.drop(columns=["reference_status"]).reset_index(drop=True)


def _territory_reference(
    warehouse: Warehouse,
    frame: pd.DataFrame,
    level: str,
    reference: str | tuple[str, str],
    period: str | None,
    get: Fetch,
) -> pd.DataFrame:
    if isinstance(reference, tuple):
        ref_level, ref_code = reference
        refs = get(ref_level, None, period)
        refs = refs[refs.code == ref_code]
        links = pd.DataFrame({"code": frame.code.unique(), "reference_code": ref_code})
    else:
        if reference not in LEVELS:
            raise InputError(
                f"référence « {reference} » : un niveau ({', '.join(LEVELS)}) ou un territoire"
            )
        ref_level = reference
        links = warehouse.query(
            "SELECT code, parent_code AS reference_code FROM territory_parent "
            "WHERE level = ? AND parent_level = ?",
            [level, reference],
        )
        if links.empty and level != reference:
            raise InputError(
                f"les territoires de niveau {level} ne sont pas rattachés au niveau {reference} : "
                "comparez-les à un territoire (ex. --compare departement:93)"
            )
        refs = get(reference, None, period)
    refs = refs[["code", "name", "period", "value", "status"]].rename(
        columns={
            "code": "reference_code",
            "name": "reference_name",
            "value": "reference_value",
            "status": "reference_status",
        }
    )
    links = links.drop_duplicates("code")  # a weighted (split) territory: its main parent
    out = frame.merge(links, on="code", how="left").merge(
        refs, on=["reference_code", "period"], how="left"
    )
    return _stand_ins(warehouse, out, level, period, get)


def _stand_ins(
    warehouse: Warehouse, frame: pd.DataFrame, level: str, period: str | None, get: Fetch
) -> pd.DataFrame:
    """Where a reference has no usable value, its stand-in's (France métropolitaine for
    France: Filosofi is published for it only), for the territories the stand-in contains;
    ``reference_name`` then names the stand-in."""
    for (_, ref_code), (in_level, in_code) in STAND_INS.items():
        missing = (frame.reference_code == ref_code) & ~frame.reference_status.isin(USABLE)
        if not missing.any():
            continue
        inside = warehouse.query(
            "SELECT code FROM territory_parent WHERE level = ? AND parent_level = ? "
            "AND parent_code = ?",
            [level, in_level, in_code],
        )
        values = get(in_level, None, period)
        values = values[(values.code == in_code) & values.status.isin(USABLE)]
        found = dict(zip(values.period.astype(str), values.value, strict=True))
        chosen = missing & frame.code.isin(set(inside.code)) & frame.period.astype(str).isin(found)
        if not chosen.any():
            continue
        frame.loc[chosen, "reference_value"] = frame.loc[chosen, "period"].astype(str).map(found)
        frame.loc[chosen, "reference_status"] = "ok"
        frame.loc[chosen, "reference_code"] = in_code
        frame.loc[chosen, "reference_name"] = str(values.name.iloc[0])
    return frame


def _pooled_reference(
    warehouse: Warehouse,
    frame: pd.DataFrame,
    everyone: pd.DataFrame,
    level: str,
    reference: str,
    neighbours: pd.DataFrame | None,
) -> pd.DataFrame:
    """The mean of the usable values of each territory's size class or neighbours."""
    usable = everyone[everyone.status.isin(USABLE) & everyone.value.notna()]
    if reference == STRATUM:
        population = warehouse.query(
            "SELECT code, population FROM territory WHERE level = ?", [level]
        )
        classes = strata(population.set_index("code").population)
        groups = pd.DataFrame({"code": classes.index, "reference_code": classes.to_numpy()})
        groups = groups.dropna()
        members = groups.rename(columns={"code": "member"})
        names = {c: f"communes de {c}" for c in groups.reference_code.unique()}
    else:
        if neighbours is None or neighbours.empty:
            raise InputError("comparaison aux voisins : aucun voisin statistique calculé")
        groups = pd.DataFrame(
            {"code": neighbours.code, "reference_code": "voisins de " + neighbours.code}
        ).drop_duplicates()
        members = pd.DataFrame(
            {"member": neighbours.neighbour, "reference_code": "voisins de " + neighbours.code}
        )
        k = int(neighbours.groupby("code").size().max())
        names = {c: f"{k} voisins statistiques" for c in groups.reference_code}
    pooled = members.merge(
        usable[["code", "period", "value"]].rename(columns={"code": "member"}), on="member"
    )
    means = pooled.groupby(["reference_code", "period"], as_index=False).value.mean()
    means = means.rename(columns={"value": "reference_value"})
    out = frame.merge(groups, on="code", how="left").merge(
        means, on=["reference_code", "period"], how="left"
    )
    out["reference_name"] = out.reference_code.map(names)
    out["reference_status"] = np.where(out.reference_value.notna(), "ok", "nd")
    return out


def _trends(series: pd.DataFrame) -> pd.DataFrame:
    """Mann–Kendall trend of each territory over the periods it has usable values for."""
    usable = series[series.status.isin(USABLE) & series.value.notna()]
    periods = sorted(usable.period.unique())
    origin = periods[0] if periods else None
    times = {p: years_between(origin, p) for p in periods} if origin else {}
    dated = {p: t for p, t in times.items() if t is not None}  # points in time only
    kept = usable[usable.period.isin(dated)].sort_values("code", kind="stable")
    codes = kept.code.to_numpy()
    times = kept.period.map(dated).to_numpy(dtype=float)
    values = kept.value.to_numpy(dtype=float)
    changes = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.array([], dtype=bool)
    starts: list[int] = np.flatnonzero(changes).tolist()
    ends = [*starts[1:], len(codes)] if starts else []
    rows = []
    for start, end in zip(starts, ends, strict=True):  # arrays, not pandas groups: 35,000 communes
        found = trend(times[start:end].tolist(), values[start:end].tolist())
        rows.append((codes[start], found.direction, found.slope, found.p_value))
    return pd.DataFrame(rows, columns=["code", "trend", "trend_slope", "trend_p"])


def _alert(frame: pd.DataFrame, polarity: Polarity) -> pd.Series:
    """Significantly worse than the reference and getting worse (significant trend in the
    unfavourable direction); never for a neutral indicator."""
    if polarity is Polarity.NEUTRAL:
        return pd.Series(False, index=frame.index)
    worsening = "baisse" if polarity is Polarity.HIGHER_IS_BETTER else "hausse"
    return (frame.assessment == "moins favorable") & (frame.trend == worsening)


Fetch = Callable[[str, tuple[str, str] | None, str | None], pd.DataFrame]
Ranks = Callable[[str, tuple[str, str] | None, str | None], pd.DataFrame]


def _computing(warehouse: Warehouse, catalogue: Catalogue, ident: str, threshold: float) -> Fetch:
    def fetch(level: str, within: tuple[str, str] | None, period: str | None) -> pd.DataFrame:
        return compute_indicator(
            warehouse, catalogue, ident, level=level, within=within, period=period,
            threshold=threshold,
        )  # fmt: skip

    return fetch


def _with_ranks(frame: pd.DataFrame, ranks: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the rank and percentile the database gave (as :func:`_ranked` makes
    them: none for a value that is not usable)."""
    ranks = ranks.assign(
        rank=ranks["rank"].astype(float), percentile=(ranks.share.astype(float) * 100).round(1)
    )[["code", "period", "rank", "percentile"]]
    out = frame.merge(ranks, on=["code", "period"], how="left")
    out.index = frame.index
    return out


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Rank (1 = highest) and percentile (share of territories at or below) per period."""
    frame = frame.copy()
    usable = frame.status.isin(USABLE) & frame.value.notna()
    values = frame.value.where(usable)
    frame["rank"] = values.groupby(frame.period).rank(ascending=False, method="min")
    frame["percentile"] = (values.groupby(frame.period).rank(pct=True, method="max") * 100).round(1)
    return frame


def judge(
    value: pd.Series,
    reference: pd.Series,
    ci_low: pd.Series,
    ci_high: pd.Series,
    usable: pd.Series,
    polarity: Polarity,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The comparison of each value with its reference: the gap (where both are ``usable``),
    whether it is significant (the reference outside the value's 95 % interval; None
    without an interval) and the assessment in words: « plus favorable », « moins
    favorable », « écart non significatif », « plus élevé » / « moins élevé » for a neutral
    indicator, None without an interval. Every view that colours a comparison reads this."""
    gap = (value - reference).where(usable)
    has_ci = usable & ci_low.notna() & ci_high.notna()
    outside = (reference < ci_low) | (reference > ci_high)
    significant = pd.Series(np.where(has_ci, outside, None), index=value.index, dtype=object)
    higher = gap > 0
    if polarity is Polarity.NEUTRAL:
        words = np.where(higher, "plus élevé", "moins élevé")
    else:
        good = higher if polarity is Polarity.HIGHER_IS_BETTER else ~higher
        words = np.where(good, "plus favorable", "moins favorable")
    chosen = np.asarray(has_ci & outside, dtype=bool)
    out = pd.Series(None, index=value.index, dtype=object)
    out[(ci_low.notna() & gap.notna()).to_numpy()] = "écart non significatif"
    out[chosen] = words[chosen]
    return gap, significant, out


def years_between(start: str, end: str) -> float | None:
    """Years from period ``start`` to ``end`` (``2015``, ``2015-T3``, ``2015-03``); None for
    periods that are not points in time (``2013-2018``).

    >>> years_between("2013", "2018"), years_between("2015-T1", "2016-T3")
    (5.0, 1.5)
    """

    a, b = period_time(start), period_time(end)
    return None if a is None or b is None else b - a


def evolution(
    warehouse: Warehouse,
    catalogue: Catalogue,
    ident: str,
    *,
    level: str,
    start: str,
    end: str,
    within: tuple[str, str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    fetch: Fetch | None = None,
) -> pd.DataFrame:
    """Evolution of the indicator from period ``start`` to ``end`` for every territory:
    value_start, value_end, absolute (points for a percentage), relative (%), tcam (% a year),
    status (``ok`` when both values are usable, ``partial`` if either is partial)."""
    indicator = catalogue.get(ident)
    get = fetch or _computing(warehouse, catalogue, ident, threshold)
    frames = {p: get(level, within, p).set_index("code") for p in (start, end)}
    first, last = frames[start], frames[end]
    out = pd.DataFrame({"code": first.index, "name": first.name.to_numpy()})
    out["start"], out["end"] = start, end
    out["value_start"] = first.value.to_numpy()
    out["value_end"] = last.value.reindex(first.index).to_numpy()
    statuses = pd.DataFrame(
        {"a": first.status.to_numpy(), "b": last.status.reindex(first.index).to_numpy()}
    )
    usable = (statuses.a.isin(USABLE) & statuses.b.isin(USABLE)).to_numpy()
    out["absolute"] = np.where(usable, out.value_end - out.value_start, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out.value_end / out.value_start.where(out.value_start != 0)
    out["relative"] = np.where(usable, (ratio - 1) * 100, np.nan)
    years = years_between(start, end)
    if years and years > 0:
        growth = np.sign(ratio) * np.abs(ratio) ** (1 / years)
        out["tcam"] = np.where(usable & (ratio > 0), (growth - 1) * 100, np.nan)
    else:
        out["tcam"] = np.nan
    out["unit"] = "points" if indicator.unit == "%" else indicator.unit
    partial = (statuses.a == "partial") | (statuses.b == "partial")
    out["status"] = np.where(usable, np.where(partial, "partial", "ok"), "nd")
    return out
