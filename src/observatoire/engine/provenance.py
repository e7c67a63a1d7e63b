"""Where each value of an indicator comes from.

For the rows of an indicator at a level (territory, period), :func:`explain` says how each
value was made, by the rules the engine applies (:mod:`.parts`, :mod:`.perimeter`):

- ``methode``: *publiée* (the producer's value for the territory, possibly *convertie* from
  another geography, with the codes it was made of, or *estimée* from a scission), *somme*
  of its members at a finer level, *rapport* of two published values or of sums, or
  *calculée* from other indicators;
- ``variables``: the variable(s) read (the alternative that won, per side of a ratio);
- ``imports``: the import(s) the values come from (their numbers: see ``imports show``).

It reads only what is needed for the rows asked for, with the same expressions as the engine:
one query per level read from.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue, Indicator
from observatoire.engine.parts import Part, Stored, candidate_levels, part_values, stored_levels
from observatoire.engine.perimeter import changed_perimeters
from observatoire.engine.relations import to_sql
from observatoire.store.base import Warehouse
from observatoire.territories.levels import LEVELS

__all__ = ["PROVENANCE", "explain"]

PROVENANCE = ["methode", "variables", "imports"]


def explain(warehouse: Warehouse, catalogue: Catalogue, ident: str, level: str,
            frame: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """``frame`` (code, period, status… of indicator ``ident`` at ``level``) with the columns
    of :data:`PROVENANCE` (empty where there is no value)."""
    from observatoire.engine.compute import zone_members, zoning_unit

    indicator = catalogue.get(ident)
    out = frame.copy()
    for column in PROVENANCE:
        out[column] = None
    rows = out.period.notna().to_numpy()
    if not rows.any():
        return out
    formula = indicator.formula
    if formula.indicators:
        sign = " − " if formula.difference else " ÷ "
        out.loc[rows, "methode"] = "calculée : " + sign.join(formula.indicators)
        out.loc[rows, "variables"] = ", ".join(sorted(catalogue.variables_of(ident)))
        return out
    stored = stored_levels(warehouse)
    zoning = zoning_unit(warehouse, level)

    codes = sorted(set(out.code[rows].astype(str)))
    few = len(codes) <= 50  # one territory's profile: read its rows only

    def origins(alternatives: tuple[str, ...], source: str) -> pd.DataFrame:
        values = part_values(Part(alternatives, source), stored)
        if source != level:
            links = zone_members(source, level, zoning)
            if few:
                links = links.filter(links.target_code.isin(codes))
            values = _summed(values, links)
        else:
            if few:
                values = values.filter(values.code.isin(codes))
            values = values.select(
                "code", "period", n=ibis.literal(1), first=values.source,
                last=values.source, low=values.batch, high=values.batch, note=values.note,
            )  # fmt: skip
        return warehouse.query(to_sql(values, warehouse.dialect)).assign(source=source)

    sides = _sides(indicator, level, stored)
    if not sides:  # nothing in force to read (values stored before, to recompute)
        return out
    candidates: list[pd.DataFrame] = []
    for rank, pair in enumerate(sides):
        parts = [origins(alternatives, source) for alternatives, source in pair]
        candidates.append(_joined(parts).assign(rank=rank, own=pair[0][1] == level))
    found = pd.concat(candidates, ignore_index=True)
    found = found.astype({"code": str, "period": str})
    if sides and sides[0][0][1] == level:  # published values of other boundaries
        flags = changed_perimeters(warehouse, catalogue, level, stored)
        if len(flags):
            key = pd.MultiIndex.from_frame(found[["code", "period"]])
            moved = key.isin(pd.MultiIndex.from_frame(flags[["code", "period"]].astype(str)))
            summed = key.isin(pd.MultiIndex.from_frame(found.loc[~found.own, ["code", "period"]]))
            found = found[~(moved & summed & found.own.to_numpy())]
    found = found.sort_values("rank", kind="stable").drop_duplicates(["code", "period"])
    found["methode"] = [
        _method(indicator, bool(own), str(source), int(n), note)
        for own, source, n, note in zip(found.own, found.source, found.n, found.note, strict=True)
    ]
    keyed = found.set_index(["code", "period"])
    key = pd.MultiIndex.from_frame(out.loc[rows, ["code", "period"]].astype(str))
    for column in PROVENANCE:
        out.loc[rows, column] = keyed[column].reindex(key).to_numpy()
    return out


def _sides(indicator: Indicator, level: str,
           stored: Stored) -> list[list[tuple[tuple[str, ...], str]]]:  # fmt: skip
    """The candidate readings, best first, each a list of (alternatives, level) per side."""
    formula = indicator.formula
    if formula.variable:
        aggregate = indicator.aggregation is Aggregation.SUM
        levels = candidate_levels(formula.variable, level, stored, aggregate=aggregate)
        return [[(formula.variable, source)] for source in levels]
    num = candidate_levels(formula.numerator, level, stored, aggregate=True)
    den = candidate_levels(formula.denominator, level, stored, aggregate=True)
    if not num or not den:
        return []
    common = [source for source in num if source in den]
    pairs = [(s, s) for s in common] or [(num[0], den[0])]
    return [[(formula.numerator, n), (formula.denominator, d)] for n, d in pairs]


def _summed(values: ir.Table, members: ir.Table) -> ir.Table:
    """Per territory and period: the members with a row, the variables and imports used."""
    joined = members.join(values, members.code == values.code)
    converted = joined.note.notnull().cast("int32")
    return joined.group_by([joined.target_code.name("code"), "period"]).aggregate(
        n=joined.code.count(), first=joined.source.min(), last=joined.source.max(),
        low=joined.batch.min(), high=joined.batch.max(),
        note=ibis.ifelse(converted.sum() > 0, converted.sum().cast("string"), ibis.null()),
    )  # fmt: skip


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per territory and period with the variables and imports of every side."""
    described = []
    for part in parts:
        names = part["first"].where(part["first"] == part["last"],
                                    part["first"] + ", " + part["last"])  # fmt: skip
        low, high = part.low.astype("Int64").astype(str), part.high.astype("Int64").astype(str)
        imports = low.where(low == high, low + "–" + high)
        described.append(part.assign(variables=names, imports=imports))
    first = described[0]
    for other in described[1:]:
        first = first.merge(other[["code", "period", "variables", "imports"]],
                            on=["code", "period"], suffixes=("", "_d"))  # fmt: skip
        first["variables"] = first.variables + " / " + first.variables_d
        same = first.imports == first.imports_d
        first["imports"] = first.imports.where(same, first.imports + ", " + first.imports_d)
        first = first.drop(columns=["variables_d", "imports_d"])
    return first


def _method(indicator: Indicator, own: bool, source: str, n: int, note: object) -> str:
    ratio = not indicator.formula.variable
    if own:
        text = "rapport de deux valeurs publiées" if ratio else "publiée"
        if isinstance(note, str) and note:
            text += " ; " + ("convertie : " + note if not note.startswith("estim") else note)
        return text
    members = LEVELS[source].plural if source in LEVELS else source
    text = f"{'rapport des sommes' if ratio else 'somme'} sur {n} {members}"
    if isinstance(note, str) and note:
        text += f" (dont {note} convertie(s) d'une autre géographie)"
    return text
