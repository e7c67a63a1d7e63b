# Size (1,130 lines): the set-based statements of one level share their temporary tables and
# stand-in compilation. The roll-ups went to engine/rollup.py; the next split is the
# resolution of alternatives (_alternatives, _facts, _resolved) and the staging/flush/link
# steps (_LevelRun.stage/flush/perimeters/link) into modules of their own, with the equality
# test against compute.py kept as the guard (issue 20).
"""Every indicator of one level in a few set-based statements, written where it is stored.

:func:`compute_indicator` answers one indicator at a time and brings its rows back to Python.
Materialising hundreds of indicators for every level that way costs one round of queries per
(indicator, level), and moves every row through pandas. Here the work of a whole level is
planned first, then done by the database, set-wise:

1. each indicator's formula is resolved (the alternative and the level it is read at, as
   :func:`~observatoire.engine.compute.resolve` does);
2. for each level read from (a *source*: the communes, the IRIS…), **one** aggregate of every
   variable needed, member by member up to the target territories, is kept in a temporary
   table: sum of the known values, population covered, number of members known; a région
   and France add up those kept for their départements and régions instead
   (:mod:`observatoire.engine.rollup`);
3. counts, and ratios whose members all know both sides, are derived from those aggregates and
   inserted into ``indicator_value`` by one ``INSERT … SELECT`` per form; a count published
   for the level's own territories is not copied: its series are linked
   (``indicator_link``, read through the view ``indicator_result``); ratios of published
   values are computed and stored;
4. differences and quotients of indicators are made from the values just stored.

A ratio some of whose members know only one side needs the member-by-member pairing of
:func:`compute_indicator`; so do sums of variables and parts read at different levels. Those
indicators (and only those) are computed by it and inserted from Python: every result is the
same as :func:`compute_indicator`'s, which the tests check on both engines.

All statements are Ibis expressions compiled for the warehouse's engine; nothing here commits
(the caller owns the transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

import ibis
import ibis.expr.types as ir
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue
from observatoire.catalog.intervals import Z95
from observatoire.catalog.statuses import ValueStatus
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
    compute_indicator,
    population_of,
    zone_members,
    zoning_unit,
)
from observatoire.engine.parts import (
    Stored,
    available,
    candidate_levels,
    part_key,
    source_order,
    stored_levels,
    terms,
)
from observatoire.engine.perimeter import CHECKED, changed_perimeters, note_for
from observatoire.engine.relations import facts, result, table, to_sql
from observatoire.engine.rollup import ROLL_UP, nests, rolled
from observatoire.store.base import Transaction, Warehouse, placeholders
from observatoire.store.computed import RESULT

__all__ = ["LevelPlan", "compute_level", "forget", "limit_to", "plan_level"]

OUTPUT = ["indicator", "level", "code", "period", "value", "status", "coverage", "ci_low",
          "ci_high", "note", "computed_at"]  # fmt: skip


CountRow = tuple[str, str]  # indicator, part
RatioRow = tuple[str, str, str, float, str | None]  # indicator, num, den, multiplier, interval


@dataclass
class LevelPlan:
    """How each indicator of a level is computed.

    An indicator may be read at several levels (its *candidates*: published for the
    territory, summed over communes, over IRIS…); every candidate is computed, and for each
    territory and period the best one that gives a row is kept (:mod:`.parts`)."""

    level: str
    counts: dict[str, list[CountRow]] = field(default_factory=dict)  # source → (id, part)
    # source → (id, numerator, denominator, multiplier, interval method)
    ratios: dict[str, list[RatioRow]] = field(default_factory=dict)
    combined: list[str] = field(default_factory=list)  # differences and quotients, in order
    one_by_one: list[str] = field(default_factory=list)  # by compute_indicator
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # part key → alternatives
    several: set[str] = field(default_factory=set)  # indicators with several candidate levels

    def variables(self, source: str) -> list[str]:
        """The parts read at ``source`` (their keys)."""
        names = {v for _, v in self.counts.get(source, [])}
        names |= {v for _, n, d, _, _ in self.ratios.get(source, []) for v in (n, d)}
        return sorted(names)

    @property
    def sources(self) -> list[str]:
        order = [self.level, *source_order(self.level)]
        found = set(self.counts) | set(self.ratios)
        return [s for s in order if s in found] + sorted(found - set(order))

    def rank(self, source: str) -> int:
        """Preference of a level: the territory's own published value first, then its
        members at each finer level in order."""
        order = [self.level, *source_order(self.level)]
        return order.index(source) if source in order else len(order)


def plan_level(
    catalogue: Catalogue,
    idents: Iterable[str],
    level: str,
    stored: Stored,
) -> LevelPlan:
    """Sort indicators ``idents`` by the way they are computed at ``level``; an indicator with
    nothing to read there is left out (it has no value to store)."""
    plan = LevelPlan(level)
    combined: list[str] = []
    for ident in idents:
        indicator = catalogue.get(ident)
        formula = indicator.formula
        if formula.indicators:
            combined.append(ident)
        elif formula.variable:
            aggregate = indicator.aggregation is Aggregation.SUM
            sources = candidate_levels(formula.variable, level, stored, aggregate=aggregate)
            key = part_key(formula.variable)
            plan.parts[key] = formula.variable
            for source in sources:
                plan.counts.setdefault(source, []).append((ident, key))
            if len(sources) > 1:
                plan.several.add(ident)
        else:
            num = candidate_levels(formula.numerator, level, stored, aggregate=True)
            den = candidate_levels(formula.denominator, level, stored, aggregate=True)
            if not num or not den:
                continue
            common = [source for source in num if source in den]
            if not common:
                plan.one_by_one.append(ident)
                continue
            n_key, d_key = part_key(formula.numerator), part_key(formula.denominator)
            plan.parts[n_key], plan.parts[d_key] = formula.numerator, formula.denominator
            for source in common:
                plan.ratios.setdefault(source, []).append(
                    (ident, n_key, d_key, formula.multiplier, indicator.ci)
                )
            if len(common) > 1:
                plan.several.add(ident)
    plan.combined = _dependency_order(catalogue, combined)
    return plan


def _dependency_order(catalogue: Catalogue, idents: list[str]) -> list[str]:
    """Combined indicators, each after the combined indicators it is made of."""
    chosen, ordered = set(idents), []
    seen: set[str] = set()

    def visit(ident: str) -> None:
        if ident in seen:
            return
        seen.add(ident)
        for part in catalogue.get(ident).formula.indicators:
            if part in chosen:
                visit(part)
        ordered.append(ident)

    for ident in idents:
        visit(ident)
    return ordered


# -- temporary tables ---------------------------------------------------------------------------
def _temp(name: str, columns: dict[str, str]) -> ir.Table:
    return ibis.table(columns, name=name)


_AGG = {"target_code": "string", "variable": "string", "period": "string", "value": "float64",
        "covered": "float64", "n_ok": "int64", "n_secret": "int64"}  # fmt: skip
_TARGETS = {"target_code": "string", "pop_all": "float64", "n": "int64"}
_PERIODS = {"variable": "string", "period": "string"}
_PUB = {"variable": "string", "code": "string", "period": "string", "value": "float64",
        "status": "string"}  # fmt: skip
_COUNT_PLAN = {"indicator": "string", "variable": "string"}
_RATIO_PLAN = {"indicator": "string", "num": "string", "den": "string", "multiplier": "float64",
               "ci": "string"}  # fmt: skip


def _create(tx: Transaction, dialect: str, name: str, expression: ir.Expr) -> None:
    tx.execute(f"DROP TABLE IF EXISTS {name}")
    tx.execute(f"CREATE TEMPORARY TABLE {name} AS {to_sql(expression, dialect)}")
    _analyse(tx, dialect, name)


def _analyse(tx: Transaction, dialect: str, name: str) -> None:
    """Statistics for PostgreSQL's planner (temporary tables get none by themselves)."""
    if dialect == "postgres":
        tx.execute(f"ANALYZE {name}")


def _fill(tx: Transaction, name: str, columns: dict[str, str], frame: pd.DataFrame,
          dialect: str | None = None) -> None:  # fmt: skip
    kinds = {"string": "TEXT", "float64": "DOUBLE PRECISION", "int64": "BIGINT"}
    tx.execute(f"DROP TABLE IF EXISTS {name}")
    tx.execute(
        f"CREATE TEMPORARY TABLE {name} ("
        + ", ".join(f"{c} {kinds[k]}" for c, k in columns.items())
        + ")"
    )
    tx.insert(name, frame[list(columns)], checked=True)
    if dialect is not None:
        _analyse(tx, dialect, name)


_ALT = {"part": "string", "alternative": "string", "alt": "int64", "variable": "string",
        "n_terms": "int64", "single": "int64"}  # fmt: skip


def _alternatives(plan: LevelPlan, keys: list[str], source: str, stored: Stored,
                  periods: dict[str, set[str]]) -> pd.DataFrame:  # fmt: skip
    """One row per (part, alternative stored at ``source``, term): the map from the variables
    to the parts they give (see :data:`_ALT`). A part is read without choosing (``single``)
    when its alternatives are single variables that never give the same period (Filosofi's
    ``DISP_Q2`` for 2014–2019, ``MED`` for 2020–2021): at most one row per territory and
    period, the one the choice would keep."""
    rows = []
    for key in keys:
        usable = available(plan.parts[key], source, stored)
        simple = all(len(terms(a)) == 1 for a in usable)
        seen = [periods.get(a, set()) for a in usable]
        disjoint = sum(len(p) for p in seen) == len(set().union(*seen))
        single = int(simple and disjoint)
        for rank, alternative in enumerate(usable):
            names = terms(alternative)
            rows += [(key, alternative, rank, name, len(names), single) for name in names]
    return pd.DataFrame(rows, columns=[*_ALT])


def _facts(variables: list[str], source: str, stored: Stored,
           periods: tuple[str, ...] | None = None) -> ir.Table:  # fmt: skip
    """variable, code, period, value, status, batch of ``variables`` at ``source``;
    deduplicated only where several imports in force hold a variable there (the costly window
    is skipped otherwise)."""
    several = [v for v in variables if stored[v][source] > 1]
    single = [v for v in variables if stored[v][source] <= 1]
    columns = ["variable", "code", "period", "value", "status", "batch"]
    parts = [
        facts(names, source, dedupe=dedupe, periods=periods).select(*columns)
        for names, dedupe in ((single, False), (several, True))
        if names
    ]
    return parts[0] if len(parts) == 1 else parts[0].union(parts[1])


def _resolved(variables: list[str], source: str, stored: Stored,
              periods: tuple[str, ...] | None = None) -> ir.Table:  # fmt: skip
    """variable (the part's key), code, period, value, status of the parts mapped in ``_alt``,
    at ``source``: for each territory and period the winning alternative (as
    :func:`~observatoire.engine.parts.part_values` decides), in one pass over the facts."""
    rows = _facts(variables, source, stored, periods)
    alt = _temp("_alt", _ALT)
    columns = ["variable", "code", "period", "value", "status"]
    direct = rows.join(alt.filter(alt.single == 1), "variable")
    direct = direct.select(variable=direct.part, code=direct.code, period=direct.period,
                           value=direct.value, status=direct.status)  # fmt: skip
    # alternatives of one variable: no grouping, the row is the alternative's value
    plain = rows.join(alt.filter((alt.single == 0) & (alt.n_terms == 1)), "variable")
    plain = plain.select(
        part=plain.part, alt=plain.alt, code=plain.code, period=plain.period,
        v=plain.value, s=plain.status, batch=plain.batch, complete=ibis.literal(1).cast("int32"),
    )  # fmt: skip
    # sums of variables: grouped by alternative, ok only when every term is
    mixed = rows.join(alt.filter((alt.single == 0) & (alt.n_terms > 1)), "variable")
    grouped = mixed.group_by(["part", "alternative", "alt", "n_terms", "code", "period"]).aggregate(
        total=mixed.value.sum(),
        ok=(mixed.status == ValueStatus.OK.value).cast("int32").sum(),
        secret=(mixed.status == ValueStatus.SECRET.value).cast("int32").sum(),
        rows=mixed.code.count(),
        batch=mixed.batch.max(),
    )
    whole = grouped.ok == grouped.n_terms
    summed = grouped.select(
        part=grouped.part, alt=grouped.alt, code=grouped.code, period=grouped.period,
        v=ibis.ifelse(whole, grouped.total, ibis.null()),
        s=ibis.cases(
            (whole, ValueStatus.OK.value), (grouped.secret > 0, ValueStatus.SECRET.value),
            else_=ValueStatus.MISSING.value,
        ),
        batch=grouped.batch, complete=(grouped.rows == grouped.n_terms).cast("int32"),
    )  # fmt: skip
    grouped = plain.union(summed)
    window = ibis.window(
        group_by=[grouped.part, grouped.code, grouped.period],
        order_by=[ibis.desc(grouped.complete), ibis.desc(grouped.batch), grouped.alt],
    )
    ranked = grouped.mutate(winner=ibis.row_number().over(window))
    chosen = ranked.filter(ranked.winner == 0)
    chosen = chosen.select(variable=chosen.part, code=chosen.code, period=chosen.period,
                           value=chosen.v.cast("float64"), status=chosen.s)  # fmt: skip
    return direct.select(*columns).union(chosen.select(*columns))


# -- the computation of one level ---------------------------------------------------------------
def compute_level(
    tx: Transaction,
    warehouse: Warehouse,
    catalogue: Catalogue,
    plan: LevelPlan,
    *,
    stamp: str,
    threshold: float = DEFAULT_THRESHOLD,
    stored: Stored | None = None,
    scoped: bool = False,
    resolved: dict[str, object] | None = None,
    periods: tuple[str, ...] | None = None,
    copied: frozenset[str] = frozenset(),
) -> None:
    """Insert the rows of every indicator of ``plan`` into ``indicator_value``, or link the
    series it reads where they are stored (``indicator_link``; the caller has deleted the old
    ones, in the same transaction). ``stored``: :func:`stored_levels`, when
    the caller has it already. ``scoped``: only for the territories of ``_scope`` (see
    :func:`limit_to`). ``resolved``: kept from level to level by the caller, the members'
    values resolved once for every level read from them (drop them with :func:`forget`).
    ``periods``: only the rows of those periods (the caller deleted those only). ``copied``:
    indicators whose rows are always copied, never linked (the caller rewrites them)."""
    stored = stored if stored is not None else stored_levels(warehouse)
    run = _LevelRun(tx, warehouse, plan, stamp, threshold, stored, scoped, resolved)
    run.periods, run.copied = periods, copied
    if warehouse.dialect == "duckdb":  # rows need no order: let inserts run on every core
        tx.execute("SET preserve_insertion_order = false")
    try:
        _compute_level(run, warehouse, catalogue, plan)
    finally:
        if warehouse.dialect == "duckdb":
            tx.execute("RESET preserve_insertion_order")
    if resolved is None:  # kept by nobody: dropped with the level
        forget(tx, run.resolved)


def forget(tx: Transaction, resolved: dict[str, object]) -> None:
    """Drop the resolved values kept across levels (see :func:`compute_level`)."""
    for name in resolved:
        tx.execute(f"DROP TABLE IF EXISTS {name}")
    resolved.clear()


_WORK = ("_plan_count", "_plan_ratio", "_pub", "_targets", "_agg", "_periods", "_pairs", "_alt",
         "_res", "_stage", "_several", "_moved")  # fmt: skip


def _compute_level(run: _LevelRun, warehouse: Warehouse, catalogue: Catalogue,
                   plan: LevelPlan) -> None:  # fmt: skip
    tx, stamp, threshold = run.tx, run.stamp, run.threshold
    run.stage()
    for source in plan.sources:
        counts = plan.counts.get(source, [])
        ratios = plan.ratios.get(source, [])
        keys = plan.variables(source)
        if source == plan.level and run.linking:
            counts = run.link(counts)
            keys = sorted({k for _, k in counts} | {k for r in ratios for k in r[1:3]})
            if not keys:
                continue
        run.resolve(source, keys)
        if source == plan.level:
            run.published(counts, ratios)
        else:
            run.aggregated(source, counts, ratios)
    if plan.level in plan.sources:  # values published for the level: of today's boundaries?
        run.perimeters(changed_perimeters(warehouse, catalogue, plan.level, run.stored))
    run.flush()
    inside = (set(tx.query("SELECT code FROM _scope WHERE level = ?", [plan.level]).code)
              if run.scoped and plan.one_by_one else None)  # fmt: skip
    for ident in plan.one_by_one:
        frame = compute_indicator(warehouse, catalogue, ident, level=plan.level,
                                  threshold=threshold)  # fmt: skip
        frame = frame[frame.period.notna()].drop(columns=["name"])
        if inside is not None:
            frame = frame[frame.code.isin(inside)]
        if run.periods is not None:
            frame = frame[frame.period.isin(run.periods)]
        rows = frame.assign(indicator=ident, level=plan.level, computed_at=stamp)
        tx.insert("indicator_value", rows[OUTPUT].sort_values("code", kind="stable"))
    if plan.combined:  # read back from the rows just stored
        _analyse(tx, warehouse.dialect, "indicator_value")
    for ident in plan.combined:
        formula = catalogue.get(ident).formula
        first, second = formula.indicators
        run.insert(_combination(ident, first, second, not formula.difference, run.level, stamp,
                                run.periods))  # fmt: skip
    for name in _WORK:
        tx.execute(f"DROP TABLE IF EXISTS {name}")


_RES = {"variable": "string", "code": "string", "period": "string", "value": "float64",
        "status": "string"}  # fmt: skip


class _LevelRun:
    """The statements of one level, in one transaction.

    Each candidate level of an indicator writes its rows to ``_stage`` with its rank;
    :meth:`flush` keeps, for each territory and period, the best-ranked row."""

    def __init__(self, tx: Transaction, warehouse: Warehouse, plan: LevelPlan, stamp: str,
                 threshold: float, stored: Stored, scoped: bool = False,
                 resolved: dict[str, object] | None = None) -> None:  # fmt: skip
        self.tx, self.dialect, self.plan, self.level = tx, warehouse.dialect, plan, plan.level
        self.stamp, self.threshold, self.stored = stamp, threshold, stored
        self.scoped = scoped
        # temporary table → the alternatives it resolves, across the levels of one compute
        self.resolved: dict[str, object] = resolved if resolved is not None else {}
        self.res = "_res"
        self.periods: tuple[str, ...] | None = None  # only these periods (None: all)
        self.zoning = zoning_unit(warehouse, plan.level)
        self.rank = 0
        # every indicator read at one level, none published for the level itself (no value of
        # other boundaries to set aside): rows go straight to indicator_value, not staged
        self.direct = not plan.several and plan.level not in plan.sources
        # a level whose published values are never set aside (no perimeter check): they
        # go straight to indicator_value; only the members' sums wait for the flush
        self.checked = plan.level in CHECKED
        self.copied: frozenset[str] = frozenset()
        # a count published for the level's own territories is linked to its series, not
        # copied; not when limited to a scope (the view does not know it), nor where the
        # published values may be set aside (other boundaries)
        self.linking = not scoped and not self.checked
        if self.dialect == "postgres":  # big sorts and hashes in memory; no JIT for one-offs
            tx.execute("SET LOCAL work_mem = '256MB'")
            tx.execute("SET LOCAL jit = off")

    def insert(self, expression: ir.Table | str, into: str = "indicator_value") -> None:
        """INSERT the rows of ``expression`` (or the name of a statement of :data:`_FIXED`).

        Into ``_stage``, the rows carry the rank of the level being read."""
        if into == "_stage" and (self.direct or (self.rank == 0 and not self.checked)):
            into = "indicator_value"
        columns = f" ({', '.join(OUTPUT)})" if into == "indicator_value" else ""
        if isinstance(expression, str):
            sql = fixed_sql(expression, self.dialect, self.level, self.stamp, self.threshold)
        else:
            sql = to_sql(expression, self.dialect)
        unordered = None
        if into == "_stage":
            sql = f"SELECT computed.*, {int(self.rank)} AS lvl_rank FROM ({sql}) AS computed"
        elif self.dialect == "duckdb" and into == "indicator_value":
            unordered = sql
            sql = f"SELECT * FROM ({sql}) AS computed ORDER BY code"
        streaming = isinstance(expression, str) and expression in _STREAMING
        self.insert_rows(f"INSERT INTO {into}{columns} ", sql, probe=unordered,
                         streaming=streaming)  # fmt: skip

    def insert_rows(self, insert: str, select: str, params: list[object] | None = None, *,
                    probe: str | None = None, streaming: bool = False) -> None:  # fmt: skip
        """``insert`` + ``select``, run only when the SELECT gives a row.

        DuckDB 1.5.6: inside a transaction, an INSERT … SELECT that inserts no row (from a
        temporary table, or with ORDER BY) makes the rows inserted later in the same
        transaction vanish, even after COMMIT (reproduced: a level with nothing stored, then
        the next level's 1.2 M rows gone). Skipping empty inserts avoids it."""
        if self.dialect != "duckdb":
            self.tx.execute(insert + select, params or [])
            return
        if streaming:  # a join of stored rows: its first row is found without computing all
            first = self.tx.query(f"SELECT 1 AS found FROM ({probe or select}) AS p LIMIT 1",
                                  params or [])  # fmt: skip
            if len(first):
                self.tx.execute(insert + select, params or [])
            return
        # the rows once, unsorted (``probe``), then inserted (sorted as asked) if any
        self.tx.execute("DROP TABLE IF EXISTS _rows")
        self.tx.execute(f"CREATE TEMPORARY TABLE _rows AS {probe or select}", params or [])
        if int(self.tx.query("SELECT COUNT(*) AS n FROM _rows").n.iloc[0]):
            order = " ORDER BY code" if select.endswith(" ORDER BY code") else ""
            self.tx.execute(f"{insert}SELECT * FROM _rows{order}")
        self.tx.execute("DROP TABLE _rows")

    def stage(self) -> None:
        kinds = {c: "string" for c in OUTPUT} | {c: "float64" for c in
                                                 ("value", "coverage", "ci_low", "ci_high")}
        _fill(self.tx, "_stage", kinds | {"lvl_rank": "int64"},
              pd.DataFrame(columns=[*kinds, "lvl_rank"]))
        several = pd.DataFrame({"indicator": sorted(self.plan.several)})
        _fill(self.tx, "_several", {"indicator": "string"}, several)

    def flush(self) -> None:
        """Into ``indicator_value``: the staged rows, for each indicator, territory and period
        the one of the best level (a window only for indicators read at several levels).

        On DuckDB (no index) the rows are written in code order: a territory's rows then sit
        in a few row groups that a read by (level, code) finds from their zone maps instead of
        scanning the level (a commune's profile among 20 M values: 116 ms → 5 ms)."""
        if self.direct:
            return
        columns = ", ".join(OUTPUT)
        order = " ORDER BY code" if self.dialect == "duckdb" else ""
        rest = (f"SELECT {columns} FROM _stage "
                "WHERE indicator NOT IN (SELECT indicator FROM _several)")  # fmt: skip
        self.insert_rows(f"INSERT INTO indicator_value ({columns}) ", rest + order, probe=rest)
        if not self.plan.several:
            return
        # published values written already (unchecked level) answer first
        written = ("" if self.checked else
                   f" AND NOT EXISTS (SELECT 1 FROM {RESULT} v WHERE v.level = ? "
                   "AND v.indicator = best.indicator AND v.code = best.code "
                   "AND v.period = best.period)")  # fmt: skip
        best = (f"SELECT {columns} FROM ("
                f"SELECT *, ROW_NUMBER() OVER (PARTITION BY indicator, code, period "
                f"ORDER BY lvl_rank) AS winner FROM _stage "
                f"WHERE indicator IN (SELECT indicator FROM _several)) AS best "
                f"WHERE winner = 1{written}")  # fmt: skip
        self.insert_rows(f"INSERT INTO indicator_value ({columns}) ", best + order,
                         [] if self.checked else [self.level], probe=best)  # fmt: skip

    def perimeters(self, flags: pd.DataFrame) -> None:
        """Published values of other boundaries (:mod:`.perimeter`): where the indicator is
        also summed over the members, the sum answers; elsewhere the published value stays,
        with status ``perimetre`` and a note giving its year."""
        if flags.empty:
            return
        frame = flags.assign(note=flags.year.map(note_for))[["code", "period", "note"]]
        _fill(self.tx, "_moved", {"code": "string", "period": "string", "note": "string"}, frame)
        moved = ("EXISTS (SELECT 1 FROM _moved m WHERE m.code = _stage.code "
                 "AND m.period = _stage.period)")  # fmt: skip
        summed = ("EXISTS (SELECT 1 FROM _stage s WHERE s.indicator = _stage.indicator "
                  "AND s.code = _stage.code AND s.period = _stage.period AND s.lvl_rank > 0)")
        self.tx.execute(f"DELETE FROM _stage WHERE lvl_rank = 0 AND {moved} AND {summed}")
        self.tx.execute(
            "UPDATE _stage SET status = ?, note = (SELECT m.note FROM _moved m "
            "WHERE m.code = _stage.code AND m.period = _stage.period) "
            f"WHERE lvl_rank = 0 AND status = ? AND {moved}",
            [ValueStatus.OTHER_BOUNDARIES.value, ValueStatus.OK.value],
        )  # fmt: skip

    def resolve(self, source: str, keys: list[str]) -> None:
        """The parts ``keys`` at ``source``, resolved per territory and period: into ``_pub``
        for the level's own territories, else into ``_res_<source>`` (:attr:`res`), kept for
        the next levels read from the same source with the same parts (``resolved``)."""
        self.rank = self.plan.rank(source)
        held = self.tx.query(
            "SELECT DISTINCT variable, period FROM series WHERE level = ? "
            "AND geography = 'current' AND dims = '' "
            "AND batch IN (SELECT id FROM import_batch WHERE status = 'active')",
            [source],
        )
        periods = held.groupby("variable").period.agg(set).to_dict()
        alternatives = _alternatives(self.plan, keys, source, self.stored, periods)
        key = (self.periods, tuple(map(tuple, alternatives.itertuples(index=False))))
        self.res = f"_res_{''.join(c for c in source if c.isalnum())}"
        if source != self.level and self.resolved.get(self.res) == key:
            return  # resolved for a previous level: the same rows
        _fill(self.tx, "_alt", _ALT, alternatives, self.dialect)
        variables = sorted(set(alternatives.variable))
        resolved = _resolved(variables, source, self.stored, self.periods)
        if source == self.level:  # the territories' own values: straight into _pub
            _create(self.tx, self.dialect, "_pub", _published(resolved, self.level, self.scoped))
        else:
            _create(self.tx, self.dialect, self.res, resolved)
            self.resolved[self.res] = key

    def link(self, counts: list[CountRow]) -> list[CountRow]:
        """Link the counts published for the level's own territories to the series holding
        them (``indicator_link``: read where stored, not copied); returns the counts still to
        copy. Linked: an indicator whose part is one variable per period at the level, read
        without choosing (one import in force per variable and period, alternatives giving
        other periods), every code of whose series is a territory of the level."""
        level, stored = self.level, self.stored
        candidates: dict[str, list[str]] = {}
        for ident, key in counts:
            usable = available(self.plan.parts[key], level, stored)
            if (ident not in self.copied and usable
                    and all(len(terms(a)) == 1 and stored[a][level] <= 1 for a in usable)):
                candidates[ident] = usable
        if not candidates:
            return counts
        names = sorted({v for usable in candidates.values() for v in usable})
        where = ("level = ? AND geography = 'current' AND dims = '' AND batch IN "
                 "(SELECT id FROM import_batch WHERE status = 'active') "
                 f"AND variable IN ({placeholders(names)})")  # fmt: skip
        params: list[object] = [level, *names]
        if self.periods is not None:
            where += f" AND period IN ({placeholders(self.periods)})"
            params += list(self.periods)
        series = self.tx.query(f"SELECT id, variable, period FROM series WHERE {where}", params)
        # a series with a code that is no territory of the level: copied (and filtered)
        foreign = set(self.tx.query(
            "SELECT DISTINCT v.series FROM series_value v WHERE v.series IN "
            f"(SELECT id FROM series WHERE {where}) AND NOT EXISTS (SELECT 1 FROM territory t "
            "WHERE t.level = ? AND t.code = v.code)", [*params, level],
        ).series)  # fmt: skip
        rows: list[tuple[str, int]] = []
        linked: set[str] = set()
        for ident, usable in candidates.items():
            mine = series[series.variable.isin(usable)]
            if mine.empty or mine.period.duplicated().any() or foreign & set(mine.id):
                continue  # two variables for one period: chosen per territory, copied
            linked.add(ident)
            rows += [(ident, int(i)) for i in mine.id]
        frame = pd.DataFrame(rows, columns=["indicator", "series"])
        self.tx.insert("indicator_link", frame.assign(level=level, computed_at=self.stamp))
        return [row for row in counts if row[0] not in linked]

    def plans(self, counts: list[CountRow] | None = None,
              ratios: list[RatioRow] | None = None) -> None:  # fmt: skip
        if counts is not None:
            frame = pd.DataFrame(counts, columns=[*_COUNT_PLAN])
            _fill(self.tx, "_plan_count", _COUNT_PLAN, frame, self.dialect)
        if ratios is not None:
            frame = pd.DataFrame(ratios, columns=[*_RATIO_PLAN])
            _fill(self.tx, "_plan_ratio", _RATIO_PLAN, frame, self.dialect)

    def published(self, counts: list[CountRow], ratios: list[RatioRow]) -> None:
        """Values published for the territories of the level itself (``_pub``, made by
        :meth:`resolve`), and their ratios."""
        self.plans(counts, ratios)
        self.insert("published counts", into="_stage")
        self.insert("published ratios", into="_stage")

    def aggregated(self, source: str, counts: list[CountRow], ratios: list[RatioRow]) -> None:
        """Sums over the members of level ``source``, and ratios of sums: read from the
        members, or rolled up from the sums of a finer level kept by this compute."""
        tx, dialect = self.tx, self.dialect
        members = zone_members(source, self.level, self.zoning)
        if self.scoped:  # the targets of the scope only
            own = _own(self.level, scoped=True)
            members = members.join(own, members.target_code == own.t_code).drop("t_code")
        values = _temp(self.res, _RES)
        finer = self.finer(source)
        if finer is not None:  # the finer level's sums, added up by parent
            _create(tx, dialect, "_targets", rolled(_kept("_targets", source), _TARGETS, [],
                                                     finer, self.level))  # fmt: skip
            _create(tx, dialect, "_agg", rolled(_kept("_agg", source), _AGG,
                                                 ["variable", "period"], finer, self.level))
        else:
            _create(tx, dialect, "_targets", _targets(members, source, self.level, self.scoped))
            _create(tx, dialect, "_agg", _aggregates(members, values, source))
        _create(tx, dialect, "_periods", values.select("variable", "period").distinct())
        self.plans(counts)
        self.insert("aggregated counts", into="_stage")
        if ratios:
            self.pairs(source, members, ratios, finer)
            self.plans(ratios=ratios)
            self.insert("aggregated ratios", into="_stage")
        self.keep(source, ratios)

    def pairs(self, source: str, members: ir.Table, ratios: list[RatioRow],
              finer: str | None) -> None:  # fmt: skip
        """``_pairs``: the sums of each ratio's sides over the members known on both."""
        tx, dialect = self.tx, self.dialect
        _fill(tx, "_pairs", _PAIRS, pd.DataFrame(columns=[*_PAIRS]))
        wanted = {row[0] for row in ratios}
        held = self.kept.get(f"_keep_pairs_{_name(source)}")
        if finer is not None and isinstance(held, tuple) and wanted <= held[2]:
            summed = rolled(_kept("_pairs", source), _PAIRS, ["indicator", "period"], finer,
                            self.level)  # fmt: skip
            self.insert(summed.filter(summed.indicator.isin(sorted(wanted))).select(*_PAIRS),
                        into="_pairs")  # fmt: skip
        else:
            known = _fully_known(tx, dialect)
            full = [row for row in ratios if known(row[1], row[2])]
            paired = [row for row in ratios if not known(row[1], row[2])]
            values = _temp(self.res, _RES)
            if full:
                self.plans(ratios=full)
                self.insert("complete pairs", into="_pairs")
            if paired:
                self.plans(ratios=paired)
                self.insert(_paired_sums(members, values, source), into="_pairs")
        _analyse(tx, dialect, "_pairs")

    @property
    def kept(self) -> dict[str, object]:
        """The sums kept for a coarser level: table → (level, resolution, ratios)."""
        return self.resolved

    def finer(self, source: str) -> str | None:
        """The finer level whose sums over ``source`` this level adds up (same values
        resolved, every member of a territory in exactly one of its parts), or None."""
        finer = ROLL_UP.get(self.level)
        held = self.kept.get(f"_keep_agg_{_name(source)}")
        if (finer is None or self.scoped or self.zoning is not None or not isinstance(held, tuple)
                or held[0] != finer or held[1] != self.resolved.get(self.res)):  # fmt: skip
            return None
        return finer if nests(self.tx, source, finer, self.level) else None

    def keep(self, source: str, ratios: list[RatioRow]) -> None:
        """Keep this level's sums over ``source`` for the coarser level that adds them up."""
        if self.level not in ROLL_UP.values() or self.scoped or self.zoning is not None:
            return
        mark = (self.level, self.resolved.get(self.res), frozenset(row[0] for row in ratios))
        for work in ("_targets", "_agg", "_pairs"):
            name = f"_keep{work}_{_name(source)}"
            self.tx.execute(f"DROP TABLE IF EXISTS {name}")
            if work == "_pairs" and not ratios:
                _fill(self.tx, name, _PAIRS, pd.DataFrame(columns=[*_PAIRS]))
            else:
                self.tx.execute(f"CREATE TEMPORARY TABLE {name} AS SELECT * FROM {work}")
            self.kept[name] = mark


def _name(level: str) -> str:
    return "".join(c for c in level if c.isalnum())


def _kept(work: str, source: str) -> ir.Table:
    columns = {"_targets": _TARGETS, "_agg": _AGG, "_pairs": _PAIRS}[work]
    return _temp(f"_keep{work}_{_name(source)}", columns)


def _row(indicator: ir.Value, level: str, code: ir.Value, period: ir.Value, value: ir.Value,
         status: ir.Value, coverage: ir.Value, ci: tuple[ir.Value, ir.Value] | None,
         note: ir.Value, stamp: str) -> dict[str, ir.Value]:  # fmt: skip
    null = ibis.null().cast("float64")
    low, high = ci if ci is not None else (null, null)
    return {
        "indicator": indicator,
        "level": ibis.literal(level),
        "code": code,
        "period": period,
        "value": value.cast("float64"),
        "status": status.cast("string"),
        "coverage": coverage.cast("float64"),
        "ci_low": low.cast("float64"),
        "ci_high": high.cast("float64"),
        "note": note.cast("string"),
        "computed_at": ibis.literal(stamp),
    }


_SCOPE = {"level": "string", "code": "string"}


def limit_to(tx: Transaction, dialect: str, territories: pd.DataFrame | None) -> None:
    """``_scope``: the territories (level, code) the levels computed next are limited to
    (``compute_level(…, scoped=True)``); None drops it."""
    if territories is None:
        tx.execute("DROP TABLE IF EXISTS _scope")
    else:
        _fill(tx, "_scope", _SCOPE, territories, dialect)


def _own(level: str, *, scoped: bool) -> ir.Table:
    """The codes (``t_code``) of the territories of ``level`` computed: all, or the scope's."""
    source = _temp("_scope", _SCOPE) if scoped else table("territory")
    return source.filter(source.level == level).select(t_code=source.code)


def _published(values: ir.Table, level: str, scoped: bool = False) -> ir.Table:
    """The values stored at the level itself, for the territories of the level."""
    own = _own(level, scoped=scoped)
    joined = values.join(own, values.code == own.t_code)
    return joined.select(*_PUB)


def _targets(members: ir.Table, source: str, level: str, scoped: bool = False) -> ir.Table:
    """Each target territory with its members' population (weighted) and number."""
    people = population_of(source)
    joined = members.left_join(people, members.code == people.p_code)
    own = _own(level, scoped=scoped)
    joined = joined.join(own, joined.target_code == own.t_code)
    return joined.group_by("target_code").aggregate(
        pop_all=(joined.population.fill_null(0) * joined.weight).sum(),
        n=joined.code.count(),
    )


def _aggregates(members: ir.Table, values: ir.Table, source: str) -> ir.Table:
    """Per target, variable and period: sum of the members' known values, population they
    cover, number of members known."""
    people = population_of(source)
    joined = members.join(values, members.code == values.code)
    joined = joined.left_join(people, joined.code == people.p_code)
    ok = joined.status == "ok"
    return joined.group_by(["target_code", "variable", "period"]).aggregate(
        value=ibis.ifelse(ok, joined.value * joined.weight, 0).sum(),
        covered=ibis.ifelse(ok, joined.population.fill_null(0) * joined.weight, 0).sum(),
        n_ok=ok.cast("int32").sum(),
        n_secret=(joined.status == ValueStatus.SECRET.value).cast("int32").sum(),
    )


def _fully_known(tx: Transaction, dialect: str) -> Callable[[str, str], bool]:
    """Whether every member of every target knows a numerator and its denominator, for every
    period of the denominator (then the ratio of sums needs no pairing)."""
    agg, targets = _temp("_agg", _AGG), _temp("_targets", _TARGETS)
    joined = agg.join(targets, "target_code")
    full = (
        joined.filter(joined.n_ok == joined.n)
        .group_by(["variable", "period"])
        .aggregate(k=joined.target_code.count())
    )
    rows = tx.query(to_sql(full, dialect))
    everyone = int(tx.query("SELECT COUNT(*) AS n FROM _targets").n.iloc[0])
    rows = rows[rows.k == everyone]
    complete = set(zip(rows.variable, rows.period, strict=True))
    periods = tx.query("SELECT variable, period FROM _periods")
    by_variable = periods.groupby("variable").period.apply(set).to_dict()

    def known(num: str, den: str) -> bool:
        wanted = by_variable.get(den, set())
        return all((num, p) in complete and (den, p) in complete for p in wanted)

    return known


def _judged(value: ir.Value, coverage: ir.Value, threshold: float) -> dict[str, ir.Value]:
    """value, status, coverage, note of an aggregate from its coverage (as ``_judge``)."""
    cov = coverage.round(6)
    enough = cov >= threshold
    return {
        "value": ibis.ifelse(enough, value, ibis.null()),
        "status": ibis.cases(
            (cov >= 1, ValueStatus.OK.value),
            (enough, ValueStatus.PARTIAL.value),
            else_=ValueStatus.NOT_AVAILABLE.value,
        ),
        "coverage": cov,
        "note": _note(cov, enough),
    }


def _aggregated_counts(level: str, stamp: str, threshold: float) -> ir.Table:
    plan, periods = _temp("_plan_count", _COUNT_PLAN), _temp("_periods", _PERIODS)
    targets, agg = _temp("_targets", _TARGETS), _temp("_agg", _AGG)
    grid = plan.join(periods, "variable").cross_join(targets)
    joined = grid.left_join(
        agg,
        [grid.target_code == agg.target_code, grid.variable == agg.variable,
         grid.period == agg.period],
    )  # fmt: skip
    n_ok = joined.n_ok.fill_null(0)
    share = ibis.ifelse(
        joined.pop_all > 0,
        joined.covered.fill_null(0) / joined.pop_all,
        n_ok.cast("float64") / joined.n.cast("float64"),
    )
    # a sum of counts is a count: float noise (28305216.999999996) rounded off
    judged = _judged(joined.value.fill_null(0).round(6), share, threshold)
    return joined.select(**_row(joined.indicator, level, joined.target_code, joined.period,
                                judged["value"], judged["status"], judged["coverage"], None,
                                judged["note"], stamp))  # fmt: skip


_PAIRS = {"indicator": "string", "target_code": "string", "period": "string",
          "num_cov": "float64", "den_cov": "float64", "den_all": "float64", "n_den_ok": "int64",
          "pop_cov": "float64", "n_ok": "int64"}  # fmt: skip


def _complete_pairs() -> ir.Table:
    """Sums of the ratios whose members all know both sides, from the per-variable
    aggregates: every member counts on both sides."""
    plan, agg = _temp("_plan_ratio", _RATIO_PLAN), _temp("_agg", _AGG)
    num = agg.select(n_code="target_code", n_var="variable", n_period="period", n_value="value")
    joined = plan.join(agg, plan.den == agg.variable)
    joined = joined.join(num, [joined.target_code == num.n_code, joined.num == num.n_var,
                               joined.period == num.n_period])  # fmt: skip
    return joined.select(
        indicator=joined.indicator, target_code=joined.target_code, period=joined.period,
        num_cov=joined.n_value, den_cov=joined.value, den_all=joined.value,
        n_den_ok=joined.n_ok, pop_cov=joined.covered, n_ok=joined.n_ok,
    )  # fmt: skip


def _paired_sums(members: ir.Table, values: ir.Table, source: str) -> ir.Table:
    """Sums of the ratios some of whose members know one side only, member by member (the
    pairing of :func:`compute_indicator`): a member counts where it knows both."""
    plan = _temp("_plan_ratio", _RATIO_PLAN)
    den = values.select(d_var="variable", d_code="code", d_period="period", d_value="value",
                        d_status="status")  # fmt: skip
    num = values.select(n_var="variable", n_code="code", n_period="period", n_value="value",
                        n_status="status")  # fmt: skip
    rows = plan.join(den, plan.den == den.d_var)
    rows = rows.left_join(num, [rows.num == num.n_var, rows.d_code == num.n_code,
                                rows.d_period == num.n_period])  # fmt: skip
    rows = rows.join(members, rows.d_code == members.code)
    people = population_of(source)
    rows = rows.left_join(people, rows.d_code == people.p_code)
    d_ok = rows.d_status == ValueStatus.OK.value
    both = d_ok & (rows.n_status.fill_null("") == ValueStatus.OK.value)
    w = rows.weight
    return rows.group_by(["indicator", "target_code", rows.d_period.name("period")]).aggregate(
        num_cov=ibis.ifelse(both, rows.n_value * w, 0).sum(),
        den_cov=ibis.ifelse(both, rows.d_value * w, 0).sum(),
        den_all=ibis.ifelse(d_ok, rows.d_value * w, 0).sum(),
        n_den_ok=d_ok.cast("int32").sum(),
        pop_cov=ibis.ifelse(both, rows.population.fill_null(0) * w, 0).sum(),
        n_ok=both.cast("int32").sum(),
    )


def _aggregated_ratios(level: str, stamp: str, threshold: float) -> ir.Table:
    """Ratios of sums over the members, for every target and period of the denominator."""
    plan, periods = _temp("_plan_ratio", _RATIO_PLAN), _temp("_periods", _PERIODS)
    targets, pairs = _temp("_targets", _TARGETS), _temp("_pairs", _PAIRS)
    grid = plan.join(periods, plan.den == periods.variable).cross_join(targets)
    joined = grid.left_join(pairs, [grid.indicator == pairs.indicator,
                                    grid.target_code == pairs.target_code,
                                    grid.period == pairs.period])  # fmt: skip
    secrets = _temp("_agg", _AGG)
    for side, column_name in (("ns", "num"), ("ds", "den")):
        names = {"code": "target_code", "var": "variable", "period": "period",
                 "secret": "n_secret"}  # fmt: skip
        agg = secrets.select(**{f"{side}_{k}": v for k, v in names.items()})
        joined = joined.left_join(agg, [joined.target_code == agg[f"{side}_code"],
                                        joined[column_name] == agg[f"{side}_var"],
                                        joined.period == agg[f"{side}_period"]])  # fmt: skip
    den_cov, den_all = joined.den_cov.fill_null(0), joined.den_all.fill_null(0)
    n_ok = joined.n_ok.fill_null(0).cast("float64")
    own = ibis.ifelse(den_all > 0, den_cov / ibis.ifelse(den_all > 0, den_all, 1.0), 1.0)
    members = ibis.ifelse(
        joined.pop_all > 0,
        joined.pop_cov.fill_null(0) / joined.pop_all,
        n_ok / joined.n.cast("float64"),
    )
    secret = (joined.ns_secret.fill_null(0) + joined.ds_secret.fill_null(0)) > 0
    return _ratio_rows(
        joined, joined.target_code, joined.num_cov.fill_null(0), den_cov, den_all,
        joined.n_den_ok.fill_null(0) > 0, ibis.least(own, members), secret, level, stamp,
        threshold,
    )  # fmt: skip


def _ratio_rows(joined: ir.Table, code: ir.Value, num_cov: ir.Value, den_cov: ir.Value,
                den_all: ir.Value, den_known: ir.Value, coverage: ir.Value, secret: ir.Value,
                level: str, stamp: str, threshold: float) -> ir.Table:  # fmt: skip
    """Rows of ratios num_cov / den_cov × multiplier, judged by their coverage; a withheld
    ratio with a secret part and nothing covered is ``secret``; a known zero denominator makes
    it ``undefined``.

    Each intermediate is a named column computed once (staged projections): written as one
    nested expression, the SQL repeats every sub-expression wherever it is used."""
    t = joined.select(
        indicator=joined.indicator, code=code, period=joined.period, ci=joined.ci,
        multiplier=joined.multiplier, k=num_cov.cast("float64"), n=den_cov.cast("float64"),
        den_all=den_all.cast("float64"), known=den_known, cov=coverage.round(6), part=secret,
    )  # fmt: skip
    t = t.mutate(
        value=t.k / ibis.ifelse(t.n != 0, t.n, ibis.null()) * t.multiplier,
        enough=t.cov >= threshold,
        zero=(t.den_all == 0) & t.known,
    )
    t = t.mutate(
        shown=ibis.ifelse(t.enough, t.value, ibis.null()),
        base=ibis.cases(
            (t.cov >= 1, ValueStatus.OK.value),
            (t.enough, ValueStatus.PARTIAL.value),
            else_=ValueStatus.NOT_AVAILABLE.value,
        ),
    )
    t = _with_interval(t)
    t = t.mutate(hidden=t.shown.isnull())
    secret_now = t.part & t.hidden & (t.base != ValueStatus.OK.value) & (t.n == 0)
    status = ibis.cases(
        (t.zero, ValueStatus.UNDEFINED.value),
        (secret_now, ValueStatus.SECRET.value),
        else_=t.base,
    )
    null = ibis.null().cast("float64")
    gone = t.hidden | t.zero
    return t.select(**_row(
        t.indicator, level, t.code, t.period,
        ibis.ifelse(t.zero, null, t.shown), status,
        ibis.ifelse(t.zero, null, t.cov),
        (ibis.ifelse(gone, null, t.low), ibis.ifelse(gone, null, t.high)),
        ibis.ifelse(t.zero, ibis.literal("dénominateur nul"), _note(t.cov, t.enough)), stamp,
    ))  # fmt: skip


def _note(cov: ir.FloatingValue, enough: ir.BooleanValue) -> ir.StringValue:
    """The coverage note of an aggregate (as ``_judge``)."""
    percent = (cov * 100 + 0.5).floor().cast("int64").cast("string")  # half up
    return ibis.cases(
        (cov >= 1, ibis.null().cast("string")),
        (enough, ibis.literal("couverture partielle")),
        else_=ibis.literal("couverture insuffisante (") + percent.fill_null("<NA>") + " %)",
    )


def _with_interval(t: ir.Table) -> ir.Table:
    """``t`` (with ci, k, n, multiplier) and the 95 % bounds low, high of k / n × multiplier
    by method ``ci`` (wilson, poisson; null otherwise), as
    :mod:`observatoire.catalog.intervals` computes them."""
    z = Z95
    t = t.mutate(valid=(t.n > 0) & (t.k >= 0) & (t.k <= t.n))
    t = t.mutate(
        safe=ibis.ifelse(t.valid, t.n, 1.0),
        kk=ibis.ifelse(t.k > 0, t.k, 1.0),
        up=ibis.ifelse(t.k >= 0, t.k + 1, 1.0),
    )
    t = t.mutate(
        p=ibis.ifelse(t.valid, t.k / t.safe, 0.0),
        scale=1 + z**2 / t.safe,
        cube=1 - 1 / (9 * t.kk) - z / (3 * t.kk.sqrt()),
        cube_up=1 - 1 / (9 * t.up) + z / (3 * t.up.sqrt()),
        per=ibis.ifelse((t.k >= 0) & (t.n != 0), t.multiplier / t.n, ibis.null()),
    )
    t = t.mutate(
        centre=(t.p + z**2 / (2 * t.safe)) / t.scale,
        half=z * (t.p * (1 - t.p) / t.safe + z**2 / (4 * t.safe * t.safe)).sqrt() / t.scale,
        p_low=ibis.ifelse(t.k > 0, t.k * t.cube * t.cube * t.cube, 0.0) * t.per,
        p_high=t.up * t.cube_up * t.cube_up * t.cube_up * t.per,
    )
    null = ibis.null().cast("float64")
    wilson = t.ci == "wilson"
    poisson = t.ci == "poisson"
    return t.mutate(
        low=ibis.cases(
            (wilson, ibis.ifelse(t.valid, (t.centre - t.half) * t.multiplier, null)),
            (poisson, t.p_low),
            else_=null,
        ),
        high=ibis.cases(
            (wilson, ibis.ifelse(t.valid, (t.centre + t.half) * t.multiplier, null)),
            (poisson, t.p_high),
            else_=null,
        ),
    )


def _published_counts(level: str, stamp: str) -> ir.Table:
    plan, pub = _temp("_plan_count", _COUNT_PLAN), _temp("_pub", _PUB)
    joined = plan.join(pub, "variable")
    ok = joined.status == ValueStatus.OK.value
    null = ibis.null().cast("string")
    return joined.select(**_row(joined.indicator, level, joined.code, joined.period,
                                joined.value, joined.status, ibis.ifelse(ok, 1.0, ibis.null()),
                                None, null, stamp))  # fmt: skip


def _published_ratios(level: str, stamp: str, threshold: float) -> ir.Table:
    """Ratios of two values published for the territory itself: one row per known
    denominator whose numerator is published too (elsewhere the members' sums answer)."""
    plan = _temp("_plan_ratio", _RATIO_PLAN)
    den = _temp("_pub", _PUB).select(d_var="variable", d_code="code", d_period="period",
                                    d_value="value", d_status="status")  # fmt: skip
    num = _temp("_pub", _PUB).select(n_var="variable", n_code="code", n_period="period",
                                    n_value="value", n_status="status")  # fmt: skip
    rows = plan.join(den, plan.den == den.d_var).filter(lambda r: r.d_status == "ok")
    joined = rows.join(num, [rows.num == num.n_var, rows.d_code == num.n_code,
                             rows.d_period == num.n_period])  # fmt: skip
    joined = joined.mutate(period=joined.d_period)
    both = joined.n_status.fill_null("") == ValueStatus.OK.value
    den = joined.d_value
    den_cov = ibis.ifelse(both, den, 0.0)
    coverage = ibis.ifelse(den > 0, den_cov / ibis.ifelse(den > 0, den, 1.0), 1.0)
    secret = joined.n_status.fill_null("") == ValueStatus.SECRET.value
    return _ratio_rows(joined, joined.d_code, ibis.ifelse(both, joined.n_value, 0.0), den_cov,
                       den, ibis.literal(True), coverage, secret, level, stamp,
                       threshold)  # fmt: skip


def _combination(ident: str, first: str, second: str, quotient: bool, level: str,
                 stamp: str, periods: tuple[str, ...] | None = None) -> ir.Table:  # fmt: skip
    """A difference or quotient of two indicators already stored for the level (of
    ``periods`` only, when given)."""
    stored = result()
    if periods is not None:
        stored = stored.filter(stored.period.isin(list(periods)))
    a = stored.filter(lambda r: (r.indicator == first) & (r.level == level))
    b = stored.filter(lambda r: (r.indicator == second) & (r.level == level)).select(
        b_code="code", b_period="period", b_value="value", b_status="status",
        b_coverage="coverage",
    )  # fmt: skip
    joined = a.join(b, [a.code == b.b_code, a.period == b.b_period])
    ok = (joined.status == "ok") & (joined.b_status == "ok")
    if quotient:
        value = joined.value / ibis.ifelse(joined.b_value != 0, joined.b_value, ibis.null())
    else:
        value = joined.value - joined.b_value
    coverage = ibis.cases(
        (joined.coverage.isnull(), joined.b_coverage),
        (joined.b_coverage.isnull(), joined.coverage),
        else_=ibis.least(joined.coverage, joined.b_coverage),
    )
    return joined.select(**_row(
        ibis.literal(ident), level, joined.code, joined.period,
        ibis.ifelse(ok, value, ibis.null()),
        ibis.ifelse(ok, ibis.literal("ok"), ibis.literal(ValueStatus.NOT_AVAILABLE.value)),
        coverage, None,
        ibis.ifelse(ok, ibis.null().cast("string"), ibis.literal("une des composantes manque")),
        stamp,
    ))  # fmt: skip


# -- statements compiled once -------------------------------------------------------------------
# The statements over the temporary tables differ only by the level, the stamp and the coverage
# threshold: compiled once per engine with stand-in literals (Ibis' compiler costs about 0.1 s
# a statement), then given the real ones.
_FIXED = {
    "published counts": lambda level, stamp, threshold: _published_counts(level, stamp),
    "published ratios": _published_ratios,
    "aggregated counts": _aggregated_counts,
    "aggregated ratios": _aggregated_ratios,
    "complete pairs": lambda level, stamp, threshold: _complete_pairs(),
}
_LEVEL, _STAMP, _THRESHOLD = "obs_level_stand_in", "obs_stamp_stand_in", 0.314159265


# Fixed statements whose rows stream from a join with a small table (no aggregate, no window,
# no large build side): whether they give a row is known from their first one.
_STREAMING = ("published counts",)


@cache
def _template(name: str, dialect: str) -> str:
    return to_sql(_FIXED[name](_LEVEL, _STAMP, _THRESHOLD), dialect)


def fixed_sql(name: str, dialect: str, level: str, stamp: str, threshold: float) -> str:
    """The SQL of statement ``name`` for ``level``, ``stamp`` and ``threshold``.

    >>> direct = to_sql(_aggregated_ratios("tas93", "2026-12-02T00:00:00+00:00", 0.8), "duckdb")
    >>> direct == fixed_sql("aggregated ratios", "duckdb", "tas93", "2026-12-02T00:00:00+00:00",
    ...                     0.8)
    True
    """

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    sql = _template(name, dialect)
    sql = sql.replace(quoted(_LEVEL), quoted(level)).replace(quoted(_STAMP), quoted(stamp))
    return sql.replace(repr(_THRESHOLD), repr(float(threshold)))
