"""What the data-quality review reads from the warehouse: the stored values of indicators at a
level, the imports that brought each variable's periods, the members of parent territories,
and when each operator's extracts arrived."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from observatoire.store.base import Transaction, Warehouse, placeholders
from observatoire.store.computed import RESULT, result_rows
from observatoire.store.territories import within_clause

__all__ = [
    "imported_since",
    "inside",
    "level_values",
    "members_of_parents",
    "operator_places",
    "period_batches",
    "receipts",
    "stored_levels",
]


def stored_levels(warehouse: Warehouse) -> pd.DataFrame:
    """indicator, level, periods (count): every indicator stored at every level."""
    return warehouse.query(
        f"SELECT indicator, level, COUNT(DISTINCT period) AS periods FROM {RESULT} "
        "GROUP BY indicator, level ORDER BY indicator, level"
    )


def level_values(
    warehouse: Warehouse, indicators: Sequence[str], level: str,
    within: tuple[str, str] | None = None, *, usable: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """indicator, code, period, value, status: the stored values of ``indicators`` at
    ``level`` (inside ``within``), every status; with ``usable``, ``ok`` (a usable value:
    status ``ok``) instead of the status, the rows sorted by indicator (the light read of
    the checks over time)."""
    last = "status = 'ok' AND value IS NOT NULL AS ok" if usable else "status"
    if not indicators:
        return pd.DataFrame(columns=["indicator", "code", "period", "value", last.split()[-1]])
    inside, inside_params = within_clause(level, within)
    rows, params = result_rows(
        f"indicator IN ({placeholders(list(indicators))}) AND level = ?{inside}",
        [*indicators, level, *inside_params],
    )
    order = " ORDER BY indicator" if usable else ""
    return warehouse.query(
        f"SELECT indicator, code, period, value, {last} FROM {rows} v{order}", params
    )


def period_batches(warehouse: Warehouse) -> pd.DataFrame:
    """variable, period, batch, imported_at: the latest import in force bringing each
    variable's values of each period."""
    return warehouse.query(
        "SELECT s.variable, s.period, MAX(b.id) AS batch, MAX(b.imported_at) AS imported_at "
        "FROM series s JOIN import_batch b ON b.id = s.batch WHERE b.status = 'active' "
        "GROUP BY s.variable, s.period"
    )


def imported_since(warehouse: Warehouse, day: str) -> set[str]:
    """The variables of the imports in force made on ``day`` (AAAA-MM-JJ) or later."""
    rows = warehouse.query(
        "SELECT DISTINCT s.variable FROM series s JOIN import_batch b ON b.id = s.batch "
        "WHERE b.status = 'active' AND b.imported_at >= ?",
        [day],
    )
    return set(rows.variable)


def members_of_parents(reader: Warehouse | Transaction, level: str) -> pd.DataFrame:
    """code, parent_level, parent_code, members: each territory of ``level`` with its
    parents, and how many territories of ``level`` each parent has."""
    return reader.query(
        "SELECT p.code, p.parent_level, p.parent_code, c.members FROM territory_parent p "
        "JOIN (SELECT parent_level, parent_code, COUNT(*) AS members FROM territory_parent "
        "WHERE level = ? GROUP BY parent_level, parent_code) c "
        "ON c.parent_level = p.parent_level AND c.parent_code = p.parent_code "
        "WHERE p.level = ?",
        [level, level],
    )


def receipts(reader: Warehouse | Transaction, collection: str) -> pd.DataFrame:
    """batch, operator, month, imported_at: the months each import of ``collection`` held,
    and when it was received (the day given at its import, else its import's; imports in
    force or replaced since: an extract received stays received; a withdrawn import was not
    received)."""
    return reader.query(
        "SELECT s.batch, s.operator, s.month, COALESCE(b.received_at, b.imported_at) AS "
        "imported_at FROM record_scope s "
        "JOIN import_batch b ON b.id = s.batch WHERE b.status IN ('active', 'replaced') "
        "AND s.collection = ?",
        [collection],
    )


def operator_places(reader: Warehouse | Transaction, collection: str) -> pd.DataFrame:
    """operator, commune, departement: the commune where each operator of ``collection``
    entered most records (imports in force), and its département."""
    rows = reader.query(
        "SELECT g.operator, g.commune, SUM(g.records) AS n FROM record_group g "
        "JOIN import_batch b ON b.id = g.batch WHERE b.status = 'active' "
        "AND b.dataset = ? GROUP BY g.operator, g.commune",
        [f"enregistrements.{collection}"],
    )
    if rows.empty:
        return pd.DataFrame(columns=["operator", "commune", "departement"])
    main = rows.sort_values(["operator", "n", "commune"], ascending=[True, False, True])
    main = main.drop_duplicates("operator")[["operator", "commune"]]
    parents = reader.query(
        "SELECT code AS commune, parent_code AS departement FROM territory_parent "
        "WHERE level = 'commune' AND parent_level = 'departement'"
    )
    return main.merge(parents, on="commune", how="left")



def inside(reader: Warehouse | Transaction, level: str, code: str) -> pd.DataFrame:
    """level, code: every territory inside the territory ``code`` of ``level``."""
    return reader.query(
        "SELECT level, code FROM territory_parent WHERE parent_level = ? AND parent_code = ?",
        [level, code],
    )
