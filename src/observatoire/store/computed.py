"""Stored indicator values (``indicator_value``): reads, and the invalidation that keeps them
consistent with the data in force."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from observatoire.store.base import Transaction, Warehouse

__all__ = ["invalidate", "read_computed", "territory_profile"]


def invalidate(tx: Transaction, *, variables: Iterable[str] = (), level: str | None = None) -> None:
    """Delete the stored values a change makes stale: those computed from ``variables`` (an
    import, a rollback) or for ``level`` (a new zoning version). Call it inside the transaction
    that makes the change, so that no read ever sees a stale value."""
    names = sorted(set(variables))
    if names:
        marks = ", ".join("?" for _ in names)
        stale = f"SELECT DISTINCT indicator FROM indicator_variable WHERE variable IN ({marks})"
        tx.execute(f"DELETE FROM indicator_value WHERE indicator IN ({stale})", names)
    if level is not None:
        tx.execute("DELETE FROM indicator_value WHERE level = ?", [level])


def territory_profile(warehouse: Warehouse, level: str, code: str) -> pd.DataFrame:
    """Every stored indicator of one territory (one indexed read): indicator, period, value,
    status, coverage, ci_low, ci_high, note."""
    return warehouse.query(
        "SELECT indicator, period, value, status, coverage, ci_low, ci_high, note "
        "FROM indicator_value WHERE level = ? AND code = ? ORDER BY indicator, period",
        [level, code],
    )


def read_computed(warehouse: Warehouse, ident: str, level: str) -> pd.DataFrame | None:
    """Stored values of indicator ``ident`` at ``level`` (None when not computed)."""
    rows = warehouse.query(
        "SELECT * FROM indicator_value WHERE indicator = ? AND level = ?", [ident, level]
    )
    return None if rows.empty else rows
