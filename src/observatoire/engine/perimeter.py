"""Official values published for a territory in the boundaries of another year.

INSEE publishes an EPCI's or a département's figures in the boundaries the territory had in
the file's geography. When the territory has changed since (an EPCI recomposed, a commune
that moved to another département), the published value is not the current territory's: it
must never be given as such with status ``ok``.

Two signs tell a changed perimeter, for a territory and period:

- **the counts do not add up**: a count published for the territory (households, persons…)
  differs from the sum of the same count over its current communes, all of them known, by
  more than the producer's rounding (half a unit per commune and for the territory), or is
  exceeded by the sum over the communes known alone;
- **the COG says so**: a commune moved between départements (INSEE's events: change of
  département, or a fusion across a border) after the file's geography; it changes both
  départements and, when they differ, both régions.

For such a (territory, period), the engine keeps the sum over the current members where the
indicator adds up (:mod:`observatoire.engine.batch`, :mod:`observatoire.engine.compute`), and
otherwise gives the published value with status ``perimetre`` and a note saying its year.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue
from observatoire.catalog.statuses import ValueStatus
from observatoire.engine.parts import Stored
from observatoire.engine.relations import facts, members, table, to_sql
from observatoire.store.base import Warehouse, placeholders

__all__ = ["CHECKED", "FLAG_COLUMNS", "changed_perimeters", "note_for"]

FLAG_COLUMNS = ["code", "period", "year"]
CHECKED = ("epci", "departement", "region")  # the levels whose published values are checked
_MOVES = ("41",)  # change of département
_FUSIONS = ("31", "32", "33", "34")  # a fusion may join communes of two départements


def note_for(year: object) -> str:
    return (
        f"périmètre de {year} : valeur publiée pour le territoire tel qu'il était alors, "
        "différent d'aujourd'hui"
    )


def counted_variables(catalogue: Catalogue) -> list[str]:
    """The variables the catalogue adds up (single names of its counts)."""
    names = {
        alternative
        for indicator in catalogue.indicators.values()
        if indicator.aggregation is Aggregation.SUM and indicator.formula.variable
        for alternative in indicator.formula.variable
        if " + " not in alternative
    }
    return sorted(names)


def changed_perimeters(warehouse: Warehouse, catalogue: Catalogue, level: str,
                       stored: Stored) -> pd.DataFrame:  # fmt: skip
    """code, period, year of the territories of ``level`` whose published values for that
    period are of other boundaries (empty for a level that is not checked)."""
    if level not in CHECKED:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    frames = [_by_cog(warehouse, level, stored)]
    counted = [v for v in counted_variables(catalogue)
               if level in stored.get(v, {}) and "commune" in stored.get(v, {})]  # fmt: skip
    if counted:
        frames.append(warehouse.query(to_sql(_not_adding_up(counted, level, stored),
                                             warehouse.dialect)))  # fmt: skip
    flags = pd.concat([f for f in frames if len(f)] or [frames[0]], ignore_index=True)
    flags = flags.astype({"code": str, "period": str})
    # values of period P without a known geography: taken as published in that of P + 1
    following = pd.to_numeric(flags.period.str[:4], errors="coerce") + 1
    flags["year"] = pd.to_numeric(flags.year, errors="coerce").fillna(following).astype("Int64")
    return flags.drop_duplicates(["code", "period"]).reset_index(drop=True)[FLAG_COLUMNS]


def _published_periods(level: str, stored: Stored) -> ir.Table:
    """code, period, geography year of the values imported at ``level``."""
    series = table("series").filter(lambda s: (s.level == level) & (s.geography == "current"))
    batches = table("import_batch").filter(lambda b: b.status == "active")
    joined = series.join(batches, series.batch == batches.id)
    cells = table("series_value")
    rows = cells.join(joined, cells.series == joined.id)
    return rows.select(code=rows.code, period=rows.period, geography=rows.geography_year).distinct()


def _not_adding_up(variables: list[str], level: str, stored: Stored) -> ir.Table:
    """Where a count published at ``level`` is not the sum of the current communes', every
    one of them known."""
    published = _facts(variables, level, stored)
    below = _facts(variables, "commune", stored)
    links = members("commune", level)
    joined = links.join(below, links.code == below.code)
    ok = (joined.status == ValueStatus.OK.value).cast("int32")
    sums = joined.group_by(["target_code", "variable", "period"]).aggregate(
        total=joined.value.sum(), known=ok.sum()
    )
    size = links.group_by("target_code").aggregate(n=links.code.count())
    sums = sums.join(size, "target_code")
    pub = published.filter(published.status == ValueStatus.OK.value).select(
        p_code="code", p_variable="variable", p_period="period", p_value="value",
        p_batch="batch",
    )  # fmt: skip
    both = pub.join(sums, [pub.p_code == sums.target_code, pub.p_variable == sums.variable,
                           pub.p_period == sums.period])  # fmt: skip
    # each figure rounded by the producer (persons, consumption units): up to half a unit
    # per commune and for the territory itself
    tolerance = (both.known + 1) * 0.5 + both.total.abs() * 1e-9
    gap = both.p_value - both.total
    # every commune known: any gap; some unknown: the known ones already exceed the value
    differ = both.filter(((both.known == both.n) & (gap.abs() > tolerance)) | (-gap > tolerance))
    batches = table("import_batch").select(b_id="id", b_year="geography_year")
    dated = differ.join(batches, differ.p_batch == batches.b_id)
    return dated.select(code=dated.p_code, period=dated.p_period, year=dated.b_year).distinct()


def _facts(variables: list[str], level: str, stored: Stored) -> ir.Table:
    """The facts of ``variables`` at ``level``, deduplicated (a window over every row) only
    for those several imports in force hold there."""
    several = [v for v in variables if stored[v][level] > 1]
    single = [v for v in variables if stored[v][level] <= 1]
    parts = [facts(names, level, dedupe=dedupe)
             for names, dedupe in ((single, False), (several, True)) if names]  # fmt: skip
    return parts[0] if len(parts) == 1 else parts[0].union(parts[1])


def _by_cog(warehouse: Warehouse, level: str, stored: Stored) -> pd.DataFrame:
    """Départements (and their régions) a commune left or joined after the geography of the
    values published for them."""
    if level == "epci" or not any(level in lvls for lvls in stored.values()):
        return pd.DataFrame(columns=FLAG_COLUMNS)
    marks = placeholders((*_MOVES, *_FUSIONS))
    events = warehouse.query(
        f"SELECT mod, date_eff, com_av, com_ap FROM cog_event WHERE mod IN ({marks}) "
        "AND typecom_av = 'COM' AND typecom_ap = 'COM'",
        [*_MOVES, *_FUSIONS],
    )
    events = events[events.com_av.map(_departement) != events.com_ap.map(_departement)]
    if events.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    sides = pd.concat([
        events.assign(departement=events.com_av.map(_departement)),
        events.assign(departement=events.com_ap.map(_departement)),
    ])  # fmt: skip
    if level == "region":  # a move between two départements of one région changes neither
        regions = warehouse.query(
            "SELECT code, parent_code FROM territory_parent WHERE level = 'departement' "
            "AND parent_level = 'region'"
        )
        region = dict(zip(regions.code, regions.parent_code, strict=True))
        before = sides.com_av.map(_departement).map(region)
        after = sides.com_ap.map(_departement).map(region)
        sides = sides.assign(territory=sides.departement.map(region))[before != after]
    else:
        sides["territory"] = sides.departement
    published = warehouse.query(to_sql(_published_periods(level, stored), warehouse.dialect))
    rows = published.merge(sides, left_on="code", right_on="territory")
    following = pd.to_numeric(rows.period.str[:4], errors="coerce") + 1
    year = pd.to_numeric(rows.geography, errors="coerce").fillna(following).astype("Int64")
    after = (rows.date_eff > year.astype(str) + "-01-01").fillna(False)
    changed = rows[after.to_numpy()]
    return pd.DataFrame({"code": changed.code, "period": changed.period,
                         "year": year[after.to_numpy()]})  # fmt: skip


def _departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]
