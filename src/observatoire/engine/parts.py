"""The parts of a formula, resolved for each territory and period.

An indicator names a figure by several alternatives, because producers name it differently
from one file (or vintage) to the next: Filosofi's median is ``DISP_Q2`` in the 2014–2019
``FILO*_DISP_COM`` files, ``MED`` in the "chiffres clés" files of 2019–2021. A *part* is such a
list of alternatives, read at one level.

Which alternative gives the value is decided **per territory and period**, never once for a
whole level: the 2016 median of a commune comes from the file that holds 2016, the 2021 one
from the file that holds 2021. When several imports in force give the same figure for the
same territory and period, one wins, by these rules in order:

1. a complete value (every term of a sum of variables present) before an incomplete one;
2. the most recent import (the latest edition the observatory took in, which replaces what
   it corrects);
3. the alternative declared first in the formula (the declared precedence).

A value is never mixed from two files: the winner's value and status are taken whole.

Which *level* a territory's value is read at is also decided per territory and period
(:func:`candidate_levels`): the value published for the territory itself where there is one,
otherwise the sum over its members at the first finer level that holds the figure for that
period.

Nothing here runs a query: these are Ibis expressions (:mod:`observatoire.engine.relations`).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from observatoire.catalog.statuses import ValueStatus
from observatoire.engine.relations import facts
from observatoire.store.base import Warehouse

__all__ = [
    "FINER",
    "Part",
    "Stored",
    "candidate_levels",
    "levels_of",
    "part_key",
    "part_values",
    "stored_levels",
]

FINER = ("iris", "arm", "commune", "epci", "departement", "region", "pays")
QPV_SOURCES = {"qpv": (), "ensemble_qpv": ("qpv",)}
Stored = dict[str, dict[str, int]]  # variable → level → number of imports in force holding it


def stored_levels(warehouse: Warehouse) -> Stored:
    """Variable → level → the most imports in force holding it there for one period (current
    geography). Above 1, two imports give the same figure and the latest wins, territory by
    territory; a variable whose imports each give other years (one file per vintage) needs no
    choosing, and its reads skip that costly step."""
    rows = warehouse.query(
        "SELECT variable, level, MAX(n) AS n FROM (SELECT variable, level, period, "
        "COUNT(DISTINCT batch) AS n FROM series WHERE geography = 'current' AND dims = '' "
        "AND batch IN (SELECT id FROM import_batch WHERE status = 'active') "
        "GROUP BY variable, level, period) AS held GROUP BY variable, level"
    )
    out: Stored = {}
    for variable, lvl, n in zip(rows.variable, rows.level, rows.n, strict=True):
        out.setdefault(str(variable), {})[str(lvl)] = int(n)
    return out


def part_key(alternatives: tuple[str, ...]) -> str:
    """The name of a part in the engine's working tables ("filosofi.MED|filosofi.DISP_Q2")."""
    return "|".join(alternatives)


def terms(alternative: str) -> list[str]:
    return alternative.split(" + ")


def available(alternatives: tuple[str, ...], level: str, stored: Stored) -> list[str]:
    """The alternatives whose every term is stored at ``level``, in declared order."""
    return [a for a in alternatives if all(level in stored.get(t, {}) for t in terms(a))]


def levels_of(alternatives: tuple[str, ...], stored: Stored) -> set[str]:
    """Every level at which one of the alternatives is stored whole."""
    found: set[str] = set()
    for alternative in alternatives:
        sets = [set(stored.get(t, {})) for t in terms(alternative)]
        found |= set.intersection(*sets) if sets else set()
    return found


def source_order(target: str) -> list[str]:
    """The finer levels a territory of ``target`` may be summed from, in order of preference:
    communes first (the most complete files), then IRIS, then the other finer levels. A QPV is
    summed from nothing (it is not made of IRIS nor communes); the ensemble of a département's
    QPV, from its QPV only; and QPV values go into no other level."""
    if target in QPV_SOURCES:
        return list(QPV_SOURCES[target])
    below = FINER[: FINER.index(target)] if target in FINER else ("iris", "commune")
    return list(dict.fromkeys(s for s in ("commune", "iris", *below) if s in below))


def candidate_levels(alternatives: tuple[str, ...], target: str, stored: Stored, *,
                     aggregate: bool, published: bool = True) -> list[str]:  # fmt: skip
    """The levels a part may be read at for a territory of ``target``, best first: the level
    itself (a published value), then, for a figure that adds up, each finer level holding it.
    For each territory and period the first of them that gives a row wins."""
    present = levels_of(alternatives, stored)
    out = [target] if published and target in present else []
    if aggregate:
        out += [s for s in source_order(target) if s in present and s not in out]
    return out


@dataclass(frozen=True)
class Part:
    """One side of a formula (its alternatives) read at one level."""

    alternatives: tuple[str, ...]
    level: str

    @property
    def key(self) -> str:
        return part_key(self.alternatives)


def part_values(part: Part, stored: Stored) -> ir.Table:
    """code, period, value, status, source (the alternative), batch (the import), note (how a
    converted value was made) of the part
    at its level: for each territory and period, the winning alternative's value (see the
    module's rules). A sum of variables is ``ok`` only when every term is."""
    usable = available(part.alternatives, part.level, stored)
    tables = [_alternative(alt, rank, part.level, stored) for rank, alt in enumerate(usable)]
    if not tables:
        raise ValueError(f"{part.key}: nothing stored at {part.level}")
    if len(tables) == 1:
        return tables[0].drop("rank", "complete")
    union = tables[0]
    for other in tables[1:]:
        union = union.union(other)
    window = ibis.window(
        group_by=[union.code, union.period],
        order_by=[ibis.desc(union.complete), ibis.desc(union.batch), union.rank],
    )
    ranked = union.mutate(winner=ibis.row_number().over(window))
    return ranked.filter(ranked.winner == 0).drop("winner", "rank", "complete")


def _alternative(alternative: str, rank: int, level: str, stored: Stored) -> ir.Table:
    names = terms(alternative)
    several = any(stored[t][level] > 1 for t in names)
    values = facts(names, level, dedupe=several)
    if len(names) == 1:
        return values.select(
            "code", "period", "value", "status",
            source=ibis.literal(alternative), batch=values.batch.cast("int64"), note=values.note,
            rank=ibis.literal(rank), complete=ibis.literal(True),
        )  # fmt: skip
    grouped = values.group_by(["code", "period"]).aggregate(
        value=values.value.sum(),
        ok=(values.status == ValueStatus.OK.value).cast("int32").sum(),
        secret=(values.status == ValueStatus.SECRET.value).cast("int32").sum(),
        n=values.value.count(),
        rows=values.code.count(),
        batch=values.batch.max().cast("int64"),
    )
    ok = grouped.ok == len(names)
    status = ibis.cases(
        (ok, ValueStatus.OK.value), (grouped.secret > 0, ValueStatus.SECRET.value),
        else_=ValueStatus.MISSING.value,
    )  # fmt: skip
    return grouped.select(
        "code", "period", value=ibis.ifelse(ok, grouped.value, ibis.null()), status=status,
        source=ibis.literal(alternative), batch=grouped.batch,
        note=ibis.null().cast("string"), rank=ibis.literal(rank),
        complete=grouped.rows == len(names),
    )  # fmt: skip
