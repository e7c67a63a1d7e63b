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

from collections.abc import Callable, Iterable

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.compute import compute_indicator
from observatoire.engine.secrecy import apply_secret
from observatoire.store.base import Warehouse

__all__ = ["compute_all"]

OFFICIAL = ("iris", "commune", "epci", "departement", "region", "pays")


def _levels(warehouse: Warehouse) -> list[str]:
    zonings = warehouse.query("SELECT name FROM zoning ORDER BY name").name.tolist()
    present = set(warehouse.query("SELECT DISTINCT level FROM territory").level)
    return [lvl for lvl in OFFICIAL if lvl in present] + zonings


def compute_all(
    warehouse: Warehouse,
    catalogue: Catalogue,
    *,
    indicators: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    force: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Compute and store indicators for every level; returns rows stored per indicator.

    Without ``force``, an (indicator, level) already stored is skipped: after an import only
    the indicators it touched are recomputed.
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
    counts: dict[str, int] = {}
    for position, ident in enumerate(chosen, 1):
        frames = []
        todo = [lvl for lvl in targets if force or (ident, lvl) not in already]
        for level in todo:
            frame = compute_indicator(warehouse, catalogue, ident, level=level)
            frame = frame[frame.period.notna()]
            frames.append(frame.drop(columns=["name"]).assign(indicator=ident, level=level))
        if not todo:
            continue
        on_step(f"{position}/{len(chosen)} {ident}")
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        with warehouse.transaction() as tx:
            marks = ", ".join("?" for _ in todo)
            tx.execute(
                f"DELETE FROM indicator_value WHERE indicator = ? AND level IN ({marks})",
                [ident, *todo],
            )
            if len(rows):
                tx.insert("indicator_value", rows.assign(computed_at=stamp))
            # its masks, and those of every indicator masked with it, are to redo
            stale = sorted({ident, *followers.get(ident, ())})
            marks = ", ".join("?" for _ in stale)
            tx.execute(f"DELETE FROM secret_state WHERE indicator IN ({marks})", stale)
            tx.execute("DELETE FROM indicator_variable WHERE indicator = ?", [ident])
            tx.insert(
                "indicator_variable",
                pd.DataFrame(
                    {"indicator": ident, "variable": sorted(catalogue.variables_of(ident))}
                ),
            )
        counts[ident] = len(rows)
    apply_secret(warehouse, catalogue, on_step=on_step)
    return counts


def _followers(catalogue: Catalogue) -> dict[str, set[str]]:
    """For each count under a secret rule, the indicators masked with it."""
    out: dict[str, set[str]] = {}
    for ident in catalogue.indicators:
        for source in catalogue.secret_sources(ident):
            out.setdefault(source, set()).add(ident)
    return out
