"""Computed indicators stored for fast reads, and kept consistent with the data.

``compute`` stores every computable indicator for every level (and custom zoning) in
``indicator_value``, one transaction per indicator. An import, a rollback or a new version of a
zoning deletes, in its own transaction, the rows it makes stale
(:func:`observatoire.store.computed.invalidate`), so a read
never returns a value computed from data no longer in force; ``compute`` then recomputes only
what is missing (incremental), and applies the statistical secret to what it stored
(:mod:`observatoire.engine.secrecy`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.batch import compute_level, plan_level
from observatoire.engine.completeness import RecordsPolicy, annotate_completeness
from observatoire.engine.parts import stored_levels
from observatoire.engine.secrecy import apply_secret
from observatoire.store.base import Transaction, Warehouse

__all__ = ["compute_all"]

OFFICIAL = ("iris", "commune", "epci", "departement", "region", "pays")
_READ = ("series", "series_value", "import_batch", "territory", "territory_parent",
         "zoning_member")  # fmt: skip


def _levels(warehouse: Warehouse) -> list[str]:
    zonings = warehouse.query("SELECT name FROM zoning ORDER BY name").name.tolist()
    present = set(warehouse.query("SELECT DISTINCT level FROM territory").level)
    # a zoning none of whose versions is in force yet has no territories: nothing to compute
    return [lvl for lvl in OFFICIAL if lvl in present] + [z for z in zonings if z in present]


def compute_all(
    warehouse: Warehouse,
    catalogue: Catalogue,
    *,
    indicators: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    force: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
    policies: Mapping[str, RecordsPolicy] | None = None,
) -> dict[str, int]:
    """Compute and store indicators for every level; returns rows stored per indicator.

    Level by level, every indicator at once (:mod:`observatoire.engine.batch`), one transaction
    per level. Without ``force``, an (indicator, level) already stored is skipped: after an
    import only the indicators it touched are recomputed.

    ``policies``: for the collections of operators' records, the completeness below which a
    value drawn from them is flagged or withheld (:mod:`observatoire.engine.completeness`).
    """
    stored_variables = set(warehouse.query("SELECT DISTINCT variable FROM series").variable)
    chosen = [i.id for i in catalogue.computable(stored_variables)]
    if indicators is not None:  # with the counts whose secret they follow
        wanted = set(indicators) | {s for i in indicators for s in catalogue.secret_sources(i)}
        chosen = [i for i in chosen if i in wanted]
    followers = _followers(catalogue)
    targets = list(levels) if levels is not None else _levels(warehouse)
    done = warehouse.query("SELECT DISTINCT indicator, level FROM indicator_value")
    already = set(zip(done.indicator, done.level, strict=True))
    stamp = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    stored = stored_levels(warehouse)
    warehouse.refresh_statistics(_READ)
    counts: dict[str, int] = {}
    for level in targets:
        todo = [i for i in chosen if force or (i, level) not in already]
        if not todo:
            continue
        on_step(f"{level} : {len(todo)} indicateur(s)")
        plan = plan_level(catalogue, todo, level, stored)
        with warehouse.transaction() as tx:
            _delete(tx, "indicator_value", "indicator", todo, "AND level = ?", [level])
            compute_level(tx, warehouse, catalogue, plan, stamp=stamp, stored=stored)
            if policies:
                annotate_completeness(tx, catalogue, todo, level, policies)
            # their masks, and those of every indicator masked with them, are to redo
            stale = sorted({*todo, *(f for i in todo for f in followers.get(i, ()))})
            _delete(tx, "secret_state", "indicator", stale)
            _delete(tx, "indicator_variable", "indicator", todo)
            tx.insert(
                "indicator_variable",
                pd.DataFrame(
                    [(i, v) for i in todo for v in sorted(catalogue.variables_of(i))],
                    columns=["indicator", "variable"],
                ),
            )
            rows = tx.query(
                "SELECT indicator, COUNT(*) AS n FROM indicator_value WHERE level = ? "
                "GROUP BY indicator",
                [level],
            )
        for ident, n in zip(rows.indicator, rows.n, strict=True):
            if ident in todo:
                counts[ident] = counts.get(ident, 0) + int(n)
        for ident in todo:
            counts.setdefault(ident, 0)
    apply_secret(warehouse, catalogue, on_step=on_step)
    return counts


def _delete(tx: Transaction, table: str, column: str, keys: list[str], where: str = "",
            params: list[object] | None = None) -> None:  # fmt: skip
    """DELETE the rows of ``table`` whose ``column`` is one of ``keys`` (in chunks)."""
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        tx.execute(
            f"DELETE FROM {table} WHERE {column} IN ({marks}) {where}", [*chunk, *(params or [])]
        )


def _followers(catalogue: Catalogue) -> dict[str, set[str]]:
    """For each count under a secret rule, the indicators masked with it."""
    out: dict[str, set[str]] = {}
    for ident in catalogue.indicators:
        for source in catalogue.secret_sources(ident):
            out.setdefault(source, set()).add(ident)
    return out
