"""Indicators for every territory: published values where they exist, honest aggregates
elsewhere.

For a territory of level T and an indicator:

- a value **published** at level T (a département's median in INSEE's département file) is
  returned as published;
- otherwise a **count** is the sum over the territory's members (communes, IRIS) that have a
  value, and carries its coverage: the share of the members' population that has one;
- a **ratio** is sum(numerator) / sum(denominator) over the members where both are known, and
  carries its coverage: the share of the denominator covered. A zero denominator gives
  ``undefined``, never 0 nor infinity;
- below full coverage the value is flagged ``partial``; below the threshold it is withheld
  (``nd``, with the coverage in the note);
- a **non-aggregable** statistic (median, decile, Gini, a rate published without its counts)
  is never averaged: where it is not published it is ``nd``, with the reason.

The joins and sums run in the database (Ibis expressions compiled for DuckDB or PostgreSQL);
only one row per territory and period comes back.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue, Indicator
from observatoire.catalog.intervals import byar, wilson
from observatoire.catalog.statuses import ValueStatus
from observatoire.engine.parts import Part, Stored, candidate_levels, part_values, stored_levels
from observatoire.engine.perimeter import changed_perimeters, note_for
from observatoire.engine.relations import members, table, to_sql
from observatoire.errors import InputError
from observatoire.store.base import Warehouse
from observatoire.store.territories import shown_version, version_at, zones_of
from observatoire.territories.levels import LEVELS

__all__ = [
    "COLUMNS",
    "DEFAULT_THRESHOLD",
    "complete_frame",
    "compute_indicator",
    "population_of",
    "ratio_interval",
    "zone_members",
    "zoning_unit",
]

COLUMNS = ["code", "name", "period", "value", "status", "coverage", "ci_low", "ci_high", "note"]
DEFAULT_THRESHOLD = 0.8  # below this coverage an aggregate is withheld


def compute_indicator(
    warehouse: Warehouse,
    catalogue: Catalogue,
    ident: str,
    *,
    level: str,
    within: tuple[str, str] | None = None,
    period: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    published: bool = True,
    at: str | None = None,
    complete: bool = True,
    counts: bool = False,
) -> pd.DataFrame:
    """Values of indicator ``ident`` for every territory of ``level`` (inside ``within``):
    code, name, period, value, status, coverage, note. ``complete=False``: only the rows
    computed, without the territories that have no value nor their names (a projection's
    history needs no more). ``counts``: with the ``numerator`` and ``denominator`` of a
    ratio's values (NaN for another formula, and where the value is withheld).

    ``published=False`` ignores the values published at ``level`` itself and aggregates the
    members' (to check a published figure against its parts). ``at`` (a custom zoning): its
    zones as they were on that date (AAAA-MM-JJ), not today's.
    """
    indicator = catalogue.get(ident)
    zoning = zoning_unit(warehouse, level, at)
    stored = stored_levels(warehouse)
    if not published:
        stored = {v: {k: n for k, n in lvls.items() if k != level} for v, lvls in stored.items()}
    formula = indicator.formula
    if formula.indicators:
        frame = _combine(warehouse, catalogue, indicator, level, within, period, threshold, at)
    elif formula.variable:
        frame = _single(warehouse, catalogue, indicator, level, zoning, stored, threshold)
    else:
        frame = _ratio(warehouse, catalogue, indicator, level, zoning, stored, threshold)
    if period is not None:
        frame = frame[frame.period == period]
    kept = ["numerator", "denominator"] if counts else []
    if not counts:
        frame = frame.drop(columns=["numerator", "denominator"], errors="ignore")
    if not complete and within is None and at is None:
        return frame
    if zoning is not None and at is not None and zoning[0] != shown_version(warehouse, level):
        if within is not None:  # the zones of another version are not territories of today
            raise InputError(f"zonage {level} au {at} : --within ne s'applique qu'à la "
                             "version en vigueur aujourd'hui")  # fmt: skip
        return _completed(frame, zones_of(warehouse, level, zoning[0]), kept)
    return complete_frame(warehouse, frame, level, within, kept)


def _other_boundaries(published: pd.DataFrame, others: list[pd.DataFrame],
                      flags: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    keys = pd.MultiIndex.from_frame(flags[["code", "period"]].astype(str))
    own = pd.MultiIndex.from_frame(published[["code", "period"]].astype(str))
    moved = own.isin(keys)
    summed = np.zeros(len(published), dtype=bool)
    for other in others:
        if len(other):
            summed |= own.isin(pd.MultiIndex.from_frame(other[["code", "period"]].astype(str)))
    kept = published[~(moved & summed)].copy()
    marked = own[~(moved & summed)].isin(keys) & (kept.status == ValueStatus.OK.value).to_numpy()
    notes = dict(zip(zip(flags.code.astype(str), flags.period.astype(str), strict=True),
                     flags.year.map(note_for), strict=True))  # fmt: skip
    kept.loc[marked, "status"] = ValueStatus.OTHER_BOUNDARIES.value
    kept.loc[marked, "note"] = [
        notes[(str(c), str(p))] for c, p in zip(kept.code[marked], kept.period[marked], strict=True)
    ]
    return kept


# -- the parts of a formula, level by level ---------------------------------------------------
def _part_values(part: Part, stored: Stored) -> ir.Table:
    """code, period, value, status of a part at its level (see :mod:`.parts`)."""
    return part_values(part, stored).select("code", "period", "value", "status")


def _first_of(frames: list[pd.DataFrame], flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each territory and period, the row of the first frame that has one (the frames
    come best level first: published, then sums over each finer level).

    ``flags`` (code, period, year): published values (in the first frame) of other
    boundaries (:mod:`.perimeter`): the members' sum answers where there is one; elsewhere the
    published value is kept with status ``perimetre``."""
    if flags is not None and len(flags) and len(frames[0]):
        frames = [_other_boundaries(frames[0], frames[1:], flags), *frames[1:]]
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0]
    if len(full) == 1:
        return full[0]
    joined = pd.concat(full, ignore_index=True)
    return joined.drop_duplicates(["code", "period"], keep="first").reset_index(drop=True)


def zoning_unit(warehouse: Warehouse, level: str,
                at: str | None = None) -> tuple[int, str] | None:  # fmt: skip
    """(version in force, unit level) when ``level`` is a custom zoning: the version whose
    zones are the level's territories (:func:`~observatoire.store.territories.shown_version`),
    or the one in force on ``at`` (AAAA-MM-JJ)."""
    if level in LEVELS:
        return None
    from observatoire.errors import UnknownNameError

    version = version_at(warehouse, level, at)
    rows = warehouse.query(
        "SELECT version, unit_level FROM zoning_version WHERE zoning = ? AND version = ?",
        [level, version if version is not None else -1],
    )
    if rows.empty:
        zonings = warehouse.query("SELECT name FROM zoning ORDER BY name").name.tolist()
        if level in zonings:
            when = "aujourd'hui" if at is None else f"le {at}"
            raise InputError(f"zonage {level} : aucune version en vigueur {when}")
        raise UnknownNameError("niveau", level, [*LEVELS, *zonings])
    return int(rows.version.iloc[0]), str(rows.unit_level.iloc[0])


def zone_members(source: str, level: str, zoning: tuple[int, str] | None) -> ir.Table:
    """The members of level ``source`` of each territory of ``level`` (a zoning: give
    :func:`zoning_unit`)."""
    if zoning is None:
        return members(source, level)
    version, unit = zoning
    return members(source, level, zoning_version=version, unit_level=unit)


def _run(warehouse: Warehouse, expression: ir.Expr) -> pd.DataFrame:
    return warehouse.query(to_sql(expression, warehouse.dialect))


# -- the three forms ----------------------------------------------------------------------------
def _published(warehouse: Warehouse, part: Part, stored: Stored) -> pd.DataFrame:
    frame = _run(warehouse, _part_values(part, stored))
    frame["coverage"] = np.where(frame.status == "ok", 1.0, np.nan)
    frame["note"] = None
    return frame


def _not_available(note: str) -> pd.DataFrame:
    frame = pd.DataFrame(columns=["code", "period", "value", "status", "coverage", "note"])
    frame.attrs["note"] = note
    return frame


def _single(
    warehouse: Warehouse,
    catalogue: Catalogue,
    indicator: Indicator,
    level: str,
    zoning: tuple[int, str] | None,
    stored: Stored,
    threshold: float,
) -> pd.DataFrame:
    aggregate = indicator.aggregation is Aggregation.SUM
    alternatives = indicator.formula.variable
    sources = candidate_levels(alternatives, level, stored, aggregate=aggregate)
    if not sources:
        if indicator.aggregation is Aggregation.NOT_AGGREGABLE:
            return _not_available(
                "non agrégeable (médiane, décile, taux publié sans effectifs) : "
                "disponible seulement aux niveaux où il est publié"
            )
        return _not_available("aucune donnée importée pour cet indicateur")
    frames = [
        _published(warehouse, Part(alternatives, source), stored)
        if source == level
        else _summed(warehouse, Part(alternatives, source), level, zoning, stored, threshold)
        for source in sources
    ]
    flags = changed_perimeters(warehouse, catalogue, level, stored) if sources[0] == level else None
    return _first_of(frames, flags)


def _summed(warehouse: Warehouse, part: Part, level: str, zoning: tuple[int, str] | None,
            stored: Stored, threshold: float) -> pd.DataFrame:  # fmt: skip
    """Sum of the part over the members (of its level) of each territory of ``level``."""
    values = _part_values(part, stored)
    grid = _grid(zone_members(part.level, level, zoning), values.select("period").distinct())
    joined = _with_population(_attach(grid, values, "v"), part.level)
    ok = (joined.v_status == "ok").fill_null(False)  # an absent member is not known
    weight = joined.weight
    people = joined.population.fill_null(0) * weight
    aggregated = joined.group_by(["target_code", "period"]).aggregate(
        value=ibis.ifelse(ok, joined.v_value * weight, 0).sum(),
        covered=ibis.ifelse(ok, people, 0).sum(),
        total=people.sum(),
        n_ok=ok.cast("int32").sum(),
        n=joined.code.count(),
        n_secret=(joined.v_status == "secret").cast("int32").sum(),
    )
    frame = _run(warehouse, aggregated).rename(columns={"target_code": "code"})
    coverage = _member_share(frame.covered, frame.total, frame.n_ok, frame.n)
    # a sum of counts is a count: float noise (28305216.999999996) rounded off
    return _judge(frame.assign(coverage=coverage), frame.value.astype(float).round(6), threshold)


def _member_share(
    covered: pd.Series, total: pd.Series, n_ok: pd.Series, n: pd.Series
) -> np.ndarray:
    """Share of the members' population that has a value; by number of members where the
    population is unknown."""
    return np.where(total > 0, covered / total.where(total > 0), n_ok / n.where(n > 0))


def _ratio(
    warehouse: Warehouse,
    catalogue: Catalogue,
    indicator: Indicator,
    level: str,
    zoning: tuple[int, str] | None,
    stored: Stored,
    threshold: float,
) -> pd.DataFrame:
    """The ratio for each territory and period from the first level where both sides are
    read (both published for the territory, else the members knowing both); parts held at
    different levels only are each summed over their own members."""
    formula = indicator.formula
    num_levels = candidate_levels(formula.numerator, level, stored, aggregate=True)
    den_levels = candidate_levels(formula.denominator, level, stored, aggregate=True)
    if not num_levels or not den_levels:
        return _not_available("aucune donnée importée pour le numérateur ou le dénominateur")
    common = [source for source in num_levels if source in den_levels]
    pairs = [(source, source) for source in common] or [(num_levels[0], den_levels[0])]
    frames = [
        _ratio_at(warehouse, indicator, Part(formula.numerator, n), Part(formula.denominator, d),
                  level, zoning, stored, threshold)
        for n, d in pairs
    ]  # fmt: skip
    first = pairs[0] == (level, level)
    flags = changed_perimeters(warehouse, catalogue, level, stored) if first else None
    return _first_of(frames, flags)


def _ratio_at(warehouse: Warehouse, indicator: Indicator, numerator: Part, denominator: Part,
              level: str, zoning: tuple[int, str] | None, stored: Stored,
              threshold: float) -> pd.DataFrame:  # fmt: skip
    formula = indicator.formula
    num, den = _part_values(numerator, stored), _part_values(denominator, stored)
    if numerator.level == denominator.level == level:  # both published for the territory
        known = num.select(k_code="code", k_period="period")
        rows = den.select("code", "period")
        rows = rows.join(known, [rows.code == known.k_code, rows.period == known.k_period])
        joined = _attach(rows.select("code", "period"), num, "n")
        joined = _attach(joined, den, "d")
        both = ((joined.n_status == "ok") & (joined.d_status == "ok")).fill_null(False)
        expression = joined.select(
            target_code=joined.code,
            period=joined.period,
            num_cov=ibis.ifelse(both, joined.n_value, 0),
            den_cov=ibis.ifelse(both, joined.d_value, 0),
            den_all=ibis.ifelse(joined.d_status == "ok", joined.d_value, ibis.null()),
            n_den_ok=(joined.d_status == "ok").fill_null(False).cast("int32"),
            n_secret=((joined.n_status == "secret") | (joined.d_status == "secret")).cast("int32"),
        )
    elif numerator.level == denominator.level:  # members with both: the honest ratio of sums
        grid = _grid(zone_members(numerator.level, level, zoning), den.select("period").distinct())
        joined = _with_population(_attach(_attach(grid, num, "n"), den, "d"), numerator.level)
        both = ((joined.n_status == "ok") & (joined.d_status == "ok")).fill_null(False)
        w = joined.weight
        people = joined.population.fill_null(0) * w
        expression = joined.group_by(["target_code", "period"]).aggregate(
            num_cov=ibis.ifelse(both, joined.n_value * w, 0).sum(),
            den_cov=ibis.ifelse(both, joined.d_value * w, 0).sum(),
            den_all=ibis.ifelse(joined.d_status == "ok", joined.d_value * w, 0).sum(),
            n_den_ok=(joined.d_status == "ok").fill_null(False).cast("int32").sum(),
            pop_cov=ibis.ifelse(both, people, 0).sum(),
            pop_all=people.sum(),
            n_ok=both.cast("int32").sum(),
            n=joined.code.count(),
            n_secret=((joined.n_status == "secret") | (joined.d_status == "secret"))
            .cast("int32")
            .sum(),
        )
    else:  # parts read at different levels: each summed over its own members
        expression = _separate(numerator, denominator, num, den, level, zoning)
    frame = _run(warehouse, expression).rename(columns={"target_code": "code"})
    frame = frame.dropna(subset=["den_all"]) if len(frame) else frame
    covered = frame.den_cov.astype(float)
    coverage = np.where(frame.den_all > 0, covered / frame.den_all.where(frame.den_all > 0), 1.0)
    if "pop_all" in frame:  # members without any value count too: by population (or number)
        members = _member_share(frame.pop_cov, frame.pop_all, frame.n_ok, frame.n)
        coverage = np.fmin(coverage, members)
    value = (frame.num_cov / covered.where(covered != 0)) * formula.multiplier
    result = _judge(frame.assign(coverage=coverage), value, threshold)
    result["ci_low"], result["ci_high"] = ratio_interval(
        indicator, frame.num_cov.to_numpy(dtype=float), covered.to_numpy(dtype=float)
    )
    # the counts behind the ratio (a funnel plot places each value by its denominator)
    result["numerator"], result["denominator"] = frame.num_cov.to_numpy(dtype=float), covered
    hidden = result.value.isna().to_numpy()
    result.loc[hidden, ["ci_low", "ci_high", "numerator", "denominator"]] = np.nan
    secret = (result.status != "ok") & (frame.n_secret > 0).to_numpy() & result.value.isna()
    result.loc[secret & (frame.den_cov == 0).to_numpy(), "status"] = ValueStatus.SECRET.value
    zero = ((frame.den_all == 0) & (frame.n_den_ok > 0)).to_numpy()  # a known zero
    result.loc[zero, ["value", "coverage"]] = np.nan
    result.loc[zero, "status"] = ValueStatus.UNDEFINED.value
    result.loc[zero, "note"] = "dénominateur nul"
    return result


def ratio_interval(indicator: Indicator, k: np.ndarray,
                   n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """95 % bounds of the ratio k / n × multiplier by the indicator's method: Wilson for a
    proportion, Byar's Poisson for events (NaN without a method, or outside its law)."""
    scale = indicator.formula.multiplier
    if indicator.ci == "wilson":
        low, high = wilson(k, n)
        return low * scale, high * scale
    if indicator.ci == "poisson":
        low, high = byar(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            return low / n * scale, high / n * scale
    return np.full(len(k), np.nan), np.full(len(k), np.nan)


def _separate(numerator: Part, denominator: Part, num: ir.Table, den: ir.Table, level: str,
              zoning: tuple[int, str] | None) -> ir.Table:  # fmt: skip
    """Numerator and denominator at different levels: each summed over its members; a side
    with a missing member makes the whole ratio partial (coverage 0 for it)."""
    sides = []
    for part, values in ((numerator, num), (denominator, den)):
        grid = _grid(zone_members(part.level, level, zoning), values.select("period").distinct())
        joined = _with_population(_attach(grid, values, "v"), part.level)
        ok = (joined.v_status == "ok").fill_null(False)  # an absent member is not known
        people = joined.population.fill_null(0) * joined.weight
        sides.append(
            joined.group_by(["target_code", "period"]).aggregate(
                total=ibis.ifelse(ok, joined.v_value * joined.weight, 0).sum(),
                pop_cov=ibis.ifelse(ok, people, 0).sum(),
                pop_all=people.sum(),
                n_ok=ok.cast("int32").sum(),
                n=joined.code.count(),
                n_secret=(joined.v_status == "secret").cast("int32").sum(),
            )
        )
    a, b = sides
    b = b.select(
        b_code=b.target_code, b_period=b.period, b_total=b.total, b_pop_cov=b.pop_cov,
        b_pop_all=b.pop_all, b_n_ok=b.n_ok, b_n=b.n, b_secret=b.n_secret,
    )  # fmt: skip
    joined = a.join(b, [a.target_code == b.b_code, a.period == b.b_period])
    return joined.select(
        target_code=joined.target_code,
        period=joined.period,
        num_cov=joined.total,
        den_cov=joined.b_total,
        den_all=joined.b_total,
        # the weaker side's share of population (or of members) with a value
        pop_cov=ibis.least(joined.pop_cov * joined.b_pop_all, joined.b_pop_cov * joined.pop_all),
        pop_all=joined.pop_all * joined.b_pop_all,
        n_ok=ibis.least(joined.n_ok * joined.b_n, joined.b_n_ok * joined.n),
        n=joined.n * joined.b_n,
        n_den_ok=joined.b_n_ok,
        n_secret=joined.n_secret + joined.b_secret,
    )


def population_of(level: str) -> ir.Table:
    """p_code, population of each territory of ``level``, the weight of coverage.

    IRIS have no population in the referential: each gets an equal share of its commune's.
    """
    territory = table("territory")
    if level == "iris":
        links = table("territory_parent").filter(
            lambda p: (p.level == "iris") & (p.parent_level == "commune")
        )
        communes = territory.filter(territory.level == "commune")
        counted = links.group_by("parent_code").aggregate(n_iris=links.code.count())
        shared = links.join(communes, links.parent_code == communes.code).join(
            counted, "parent_code"
        )
        return shared.select(p_code=shared.code, population=shared.population / shared.n_iris)
    own = territory.filter(territory.level == level)
    return own.select(p_code=own.code, population=own.population)


def _with_population(rows: ir.Table, level: str) -> ir.Table:
    """``rows`` (with a member ``code``) and each member's population (:func:`population_of`)."""
    population = population_of(level)
    joined = rows.left_join(population, rows.code == population.p_code)
    return joined.select(*rows.columns, "population")


def _attach(left: ir.Table, values: ir.Table, prefix: str) -> ir.Table:
    """``left`` (code, period, …) with the value and status of ``values`` for the same code and
    period, as ``<prefix>_value`` and ``<prefix>_status`` (null when absent)."""
    right = values.select(
        r_code=values.code,
        r_period=values.period,
        **{f"{prefix}_value": values.value, f"{prefix}_status": values.status},
    )
    joined = left.left_join(right, [left.code == right.r_code, left.period == right.r_period])
    return joined.select(*left.columns, f"{prefix}_value", f"{prefix}_status")


def _grid(member_rows: ir.Table, periods: ir.Table) -> ir.Table:
    """Every member of every target territory, for every period."""
    return member_rows.cross_join(periods)


def _judge(frame: pd.DataFrame, value: pd.Series, threshold: float) -> pd.DataFrame:
    """Statuses from coverage: ok when complete, partial above the threshold, withheld
    below it."""
    coverage = pd.Series(frame.coverage, index=frame.index).astype(float).round(6)
    status = np.where(
        coverage >= 1, ValueStatus.OK.value,
        np.where(coverage >= threshold, ValueStatus.PARTIAL.value, ValueStatus.NOT_AVAILABLE.value),
    )  # fmt: skip
    percent = np.floor(coverage * 100 + 0.5).astype("Int64").astype(str)  # half up
    note = pd.Series("couverture insuffisante (" + percent + " %)", index=frame.index)
    note = note.mask(coverage >= threshold, "couverture partielle").mask(coverage >= 1, None)
    shown = np.where(coverage >= threshold, value, np.nan)
    return pd.DataFrame(
        {
            "code": frame.code,
            "period": frame.period,
            "value": shown,
            "status": status,
            "coverage": coverage,
            "note": note,
        }
    )


def _combine(
    warehouse: Warehouse,
    catalogue: Catalogue,
    indicator: Indicator,
    level: str,
    within: tuple[str, str] | None,
    period: str | None,
    threshold: float,
    at: str | None = None,
) -> pd.DataFrame:
    """A difference or quotient of two indicators, territory by territory."""
    first, second = (
        compute_indicator(warehouse, catalogue, i, level=level, within=within, period=period,
                          threshold=threshold, at=at)
        for i in indicator.formula.indicators
    )  # fmt: skip
    merged = first.merge(second, on=["code", "period"], suffixes=("", "_b"))
    ok = (merged.status == "ok") & (merged.status_b == "ok")
    if indicator.formula.difference:
        value = merged.value - merged.value_b
    else:
        value = merged.value / merged.value_b.where(merged.value_b != 0)
    coverage = np.fmin(merged.coverage, merged.coverage_b)
    return pd.DataFrame(
        {
            "code": merged.code,
            "period": merged.period,
            "value": np.where(ok, value, np.nan),
            "status": np.where(ok, "ok", ValueStatus.NOT_AVAILABLE.value),
            "coverage": coverage,
            "note": pd.Series("une des composantes manque", index=merged.index).mask(ok, None),
        }
    )


def complete_frame(
    warehouse: Warehouse,
    frame: pd.DataFrame,
    level: str,
    within: tuple[str, str] | None,
    kept: list[str] | None = None,
) -> pd.DataFrame:
    """Every territory of the level (inside ``within``), named, even those without a value;
    with the ``kept`` columns of ``frame`` besides the usual ones."""
    from observatoire.store.territories import territory_names

    return _completed(frame, territory_names(warehouse, level=level, within=within), kept)


def _completed(
    frame: pd.DataFrame, territories: pd.DataFrame, kept: list[str] | None = None
) -> pd.DataFrame:
    """``frame`` for every territory of ``territories`` (code, name)."""
    note = frame.attrs.get("note")
    if frame.empty:
        out = territories.assign(
            period=None, value=np.nan, status=ValueStatus.NOT_AVAILABLE.value,
            coverage=np.nan, ci_low=np.nan, ci_high=np.nan, note=note,
            **{column: np.nan for column in kept or ()},
        )  # fmt: skip
        return out[COLUMNS + list(kept or ())]
    for column in ("ci_low", "ci_high", *(kept or ())):
        if column not in frame:
            frame = frame.assign(**{column: np.nan})
    out = territories.merge(frame, on="code", how="left")
    absent = out.period.isna()
    out.loc[absent, "status"] = ValueStatus.MISSING.value
    out.loc[absent, "note"] = "aucune valeur pour ce territoire"
    # values drawn from operators' records carry their completeness
    extra = ["completeness"] if "completeness" in out and out.completeness.notna().any() else []
    out = out[COLUMNS + extra + list(kept or ())]
    return out.sort_values(["code", "period"]).reset_index(drop=True)


def check_threshold(threshold: float) -> float:
    if not 0 <= threshold <= 1:
        raise InputError(f"seuil de couverture {threshold} : attendu entre 0 et 1")
    return threshold
