"""Computed indicators stored for fast reads, and kept consistent with the data.

``compute`` stores every computable indicator for every level (and custom zoning) in
``indicator_value``, in **one transaction** with the statistical secret applied to what it
stored (:mod:`observatoire.engine.secrecy`): readers keep the values in force until the new
ones are committed, then switch at once. An import marks the indicators it changes as stale
(:func:`observatoire.store.computed.mark_stale`): they are read as they were until
``compute`` replaces them; a rollback or a new version of a zoning deletes the rows it makes
wrong at once (:func:`observatoire.store.computed.invalidate`). ``compute`` recomputes only
what is missing or stale (incremental).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.batch import compute_level, forget, limit_to, plan_level
from observatoire.engine.completeness import RecordsPolicy, annotate_completeness
from observatoire.engine.parts import stored_levels
from observatoire.engine.secrecy import apply_secret
from observatoire.errors import InputError
from observatoire.store.base import Warehouse
from observatoire.store.computed import (
    RESULT,
    computed_scope,
    delete_rows,
    delete_values,
    remember_scope,
    stale_indicators,
    stale_periods,
)
from observatoire.store.territories import resolve_territory, scope_of

__all__ = ["Scope", "compute_all"]

OFFICIAL = ("iris", "commune", "qpv", "ensemble_qpv", "epci", "departement", "region", "pays")
_READ = ("series", "series_value", "import_batch", "territory", "territory_parent",
         "zoning_member")  # fmt: skip
_WRITTEN = ("indicator_value", "indicator_link", "value_mask", "secret_state",
            "indicator_variable")  # fmt: skip


def _levels(warehouse: Warehouse) -> list[str]:
    zonings = warehouse.query("SELECT name FROM zoning ORDER BY name").name.tolist()
    present = set(warehouse.query("SELECT DISTINCT level FROM territory").level)
    # a zoning none of whose versions is in force yet has no territories: nothing to compute
    return [lvl for lvl in OFFICIAL if lvl in present] + [z for z in zonings if z in present]


@dataclass(frozen=True)
class Scope:
    """A computation limited to one territory: its name (``level:code``) and the territories
    stored (columns level, code: see :func:`observatoire.store.territories.scope_of`)."""

    key: str
    territories: pd.DataFrame

    @classmethod
    def of(cls, warehouse: Warehouse, wanted: str, territory: str = "") -> Scope | None:
        """The scope ``wanted`` names (« 93 », « departement:93 », « territoire »: the
        observatory's ``territory``), None for none (every territory)."""
        if wanted.strip().lower() == "territoire":
            wanted = territory
            if not wanted:
                raise InputError(
                    "compute_within = « territoire », mais le territoire de l'observatoire "
                    'n\'est pas donné : ajoutez territory = "departement:93" à observatoire.toml'
                )
        if not wanted.strip():
            return None
        level, code = resolve_territory(warehouse, wanted)
        return cls(f"{level}:{code}", scope_of(warehouse, level, code))


def compute_all(
    warehouse: Warehouse,
    catalogue: Catalogue,
    *,
    indicators: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    force: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
    policies: Mapping[str, RecordsPolicy] | None = None,
    scope: Scope | None = None,
) -> dict[str, int]:
    """Compute and store indicators for every level; returns rows stored per indicator.

    ``scope``: only the territories of one (its own, its ancestors, those inside it or across
    its border); the values stored for an indicator and level are then exactly those. Another
    scope than the last one recomputes everything.

    Level by level, every indicator at once (:mod:`observatoire.engine.batch`), all of it and
    the secret in one transaction. Without ``force``, an (indicator, level) already stored and
    not stale is skipped: after an import only the indicators it touched are recomputed.

    ``policies``: for the collections of operators' records, the completeness below which a
    value drawn from them is flagged or withheld (:mod:`observatoire.engine.completeness`).
    """
    warehouse.refresh_statistics(_READ)
    counts: dict[str, int] = {}
    # One transaction for every level and the secret: readers keep the values in force until
    # the new ones are committed, then switch at once (one data version). The plan is read in
    # it too: an import committed meanwhile cannot change what it computes from.
    with warehouse.transaction() as whole:
        key = scope.key if scope is not None else ""
        before = computed_scope(whole)
        nothing = whole.query(f"SELECT 1 AS found FROM {RESULT} LIMIT 1").empty
        if key != before and not nothing:  # the values stored are of another scope: redo all
            if indicators is not None or levels is not None:
                raise InputError(
                    f"le calcul était limité à « {before or 'tout le territoire'} » : changer "
                    "de périmètre recalcule tout, sans --indicator ni --level"
                )
            force = True
        limit_to(whole, warehouse.dialect, scope.territories if scope is not None else None)
        in_force = whole.query(
            "SELECT DISTINCT variable FROM series WHERE batch IN "
            "(SELECT id FROM import_batch WHERE status = 'active')"
        )
        chosen = [i.id for i in catalogue.computable(set(in_force.variable))]
        stale = stale_indicators(warehouse)
        to_redo = stale_periods(whole)  # a stale indicator's periods to redo (None: all)
        followers = _followers(catalogue)
        if indicators is not None:  # with the counts whose secret they follow
            wanted = set(indicators) | {s for i in indicators for s in catalogue.secret_sources(i)}
            # and the stale indicators masked with them: new masks never go over old values
            wanted |= {f for i in wanted for f in followers.get(i, ()) if f in stale}
            chosen = [i for i in chosen if i in wanted]
        targets = list(levels) if levels is not None else _levels(warehouse)
        done = whole.query(f"SELECT DISTINCT indicator, level FROM {RESULT} "
                           "UNION SELECT indicator, level FROM indicator_computed")  # fmt: skip
        already = set(zip(done.indicator, done.level, strict=True))
        stamp = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        stored = stored_levels(warehouse)
        # masks up to date before, per audience: only the periods redone need them again
        state = whole.query("SELECT indicator, audience FROM secret_state")
        masked = set(zip(state.indicator, state.audience, strict=True))
        run = _Levels(warehouse, catalogue, chosen, already, stale, force, stamp, stored,
                      followers, policies, counts, on_step, scoped=scope is not None,
                      to_redo=to_redo)  # fmt: skip
        _compute_levels(run, targets)
        gone = sorted(stale - set(chosen)) if indicators is None else []
        delete_values(whole, gone)  # no longer computable
        delete_rows(whole, "indicator_computed", "indicator", gone)
        # fresh again: recomputed at every level it is stored at
        fresh = [i for i in stale & set(chosen)
                 if {lvl for (j, lvl) in already if j == i} <= set(targets)]  # fmt: skip
        for table in ("indicator_stale", "indicator_stale_period"):
            delete_rows(whole, table, "indicator", sorted({*fresh, *gone}))
        apply_secret(warehouse, catalogue, on_step=on_step, periods=run.redone, before=masked)
        limit_to(whole, warehouse.dialect, None)
        if key != before:
            remember_scope(whole, key)
    # PostgreSQL's planner, told of the new rows: a département's communes are then read by
    # the primary key (1 ms), not by scanning the level (1.1 s at 1/10 of France)
    warehouse.refresh_statistics(_WRITTEN)
    return counts


@dataclass
class _Levels:
    """What every level of one ``compute`` shares."""

    warehouse: Warehouse
    catalogue: Catalogue
    chosen: list[str]
    already: set[tuple[str, str]]
    stale: set[str]
    force: bool
    stamp: str
    stored: dict[str, dict[str, int]]
    followers: dict[str, set[str]]
    policies: Mapping[str, RecordsPolicy] | None
    counts: dict[str, int]
    on_step: Callable[[str], None]
    scoped: bool
    to_redo: dict[str, set[str] | None]  # stale indicator → its periods to redo (None: all)
    # the members' values resolved once for every level read from them (engine.batch)
    resolved: dict[str, object] = field(default_factory=dict)
    # indicator → the periods recomputed (None: all), for the masks to redo
    redone: dict[str, set[str] | None] = field(default_factory=dict)


def _compute_levels(run: _Levels, targets: list[str]) -> None:
    for level in targets:
        _compute_level(run, level)
    # on an error, the rollback drops them (a DROP in an aborted transaction would hide it)
    with run.warehouse.transaction() as tx:
        forget(tx, run.resolved)


def _compute_level(run: _Levels, level: str) -> None:
    todo = [i for i in run.chosen
            if run.force or (i, level) not in run.already or i in run.stale]  # fmt: skip
    if not todo:
        return
    whole, some = _split(run, level, todo)
    if whole:
        _compute_group(run, level, whole, None)
    if some:
        periods = tuple(sorted(set().union(*(run.to_redo[i] or set() for i in some))))
        _compute_group(run, level, some, periods)


def _split(run: _Levels, level: str, todo: list[str]) -> tuple[list[str], list[str]]:
    """The indicators to redo for every period, and those to redo for the periods an import
    touched only (stored at the level, stale for listed periods: each value of a period is
    made from that period's data alone). A difference or quotient is redone with its parts."""
    if run.force or run.policies:
        return todo, []
    whole = {i for i in todo
             if i not in run.stale or run.to_redo.get(i) is None
             or (i, level) not in run.already}  # fmt: skip
    grown = True
    while grown:  # the parts of what is redone whole are redone whole
        parts = {p for i in whole for p in run.catalogue.get(i).formula.indicators} & set(todo)
        grown = not parts <= whole
        whole |= parts
    return [i for i in todo if i in whole], [i for i in todo if i not in whole]


def _compute_group(run: _Levels, level: str, todo: list[str],
                   periods: tuple[str, ...] | None) -> None:  # fmt: skip
    catalogue, counts = run.catalogue, run.counts
    plan = plan_level(catalogue, todo, level, run.stored)
    if not plan.sources and not plan.one_by_one:  # nothing read at this level
        return
    run.on_step(
        f"{level} : {len(todo)} indicateur(s)"
        + (f", période(s) {', '.join(periods)}" if periods is not None else "")
    )
    with run.warehouse.transaction() as tx:
        delete_values(tx, todo, level, periods)
        # values drawn from operators' records get their completeness written on the rows
        policies = run.policies or {}
        copied = frozenset(i for i in todo if any(
            v.partition(".")[0] in policies for v in catalogue.variables_of(i)))  # fmt: skip
        compute_level(tx, run.warehouse, catalogue, plan, stamp=run.stamp, stored=run.stored,
                      scoped=run.scoped, resolved=run.resolved, periods=periods,
                      copied=copied)  # fmt: skip
        if run.policies:
            annotate_completeness(tx, catalogue, todo, level, run.policies)
        # their masks, and those of every indicator masked with them, are to redo
        redo = sorted({*todo, *(f for i in todo for f in run.followers.get(i, ()))})
        delete_rows(tx, "secret_state", "indicator", redo)
        for ident in redo:
            before = run.redone.get(ident, set())
            run.redone[ident] = (None if periods is None or before is None
                                 else before | set(periods))  # fmt: skip
        delete_rows(tx, "indicator_variable", "indicator", todo)
        delete_rows(tx, "indicator_computed", "indicator", todo, "AND level = ?", [level])
        tx.insert("indicator_computed", pd.DataFrame({"indicator": todo, "level": level}))
        tx.insert(
            "indicator_variable",
            pd.DataFrame(
                [(i, v) for i in todo for v in sorted(catalogue.variables_of(i))],
                columns=["indicator", "variable"],
            ),
        )
        rows = tx.query(
            f"SELECT indicator, COUNT(*) AS n FROM {RESULT} WHERE level = ? GROUP BY indicator",
            [level],
        )
    for ident, n in zip(rows.indicator, rows.n, strict=True):
        if ident in todo:
            counts[ident] = counts.get(ident, 0) + int(n)
    for ident in todo:
        counts.setdefault(ident, 0)


def _followers(catalogue: Catalogue) -> dict[str, set[str]]:
    """For each count under a secret rule, the indicators masked with it."""
    out: dict[str, set[str]] = {}
    for ident in catalogue.indicators:
        for source in catalogue.secret_sources(ident):
            out.setdefault(source, set()).add(ident)
    return out
