"""Reading imported values back: import history, variables, values.

Only imports in force (``status = 'active'``) are read; when two imports in force give the same
value (same variable, territory, period), the most recent one wins.
"""

from __future__ import annotations

import json

import pandas as pd

from observatoire.errors import InputError, UnknownNameError
from observatoire.store.base import Warehouse

__all__ = ["canonical_dims", "import_details", "list_imports", "list_variables", "read_values"]

_ACTIVE = "SELECT id FROM import_batch WHERE status = 'active'"


def canonical_dims(text: str) -> str:
    """``sexe=F,categorie=A`` (or with ``|``) as stored: ``categorie=A|sexe=F``.

    >>> canonical_dims("sexe=F, categorie=A")
    'categorie=A|sexe=F'
    """
    parts = [p.strip() for p in text.replace(",", "|").split("|") if p.strip()]
    for part in parts:
        if "=" not in part:
            raise InputError(f"dimension « {part} » : attendu nom=valeur")
    return "|".join(sorted(parts))


def list_imports(warehouse: Warehouse, *, all_versions: bool = True) -> pd.DataFrame:
    """The import history, most recent first."""
    where = "" if all_versions else " WHERE status = 'active'"
    return warehouse.query(
        "SELECT id, status, dataset, edition, level, periods, file_name, rows_read, "
        "rows_imported, rows_rejected, imported_at, imported_by, SUBSTR(sha256, 1, 12) AS sha256 "
        f"FROM import_batch{where} ORDER BY id DESC"
    )


def import_details(warehouse: Warehouse, batch: int) -> dict[str, object]:
    """Everything recorded about import ``batch``: provenance and validation report."""
    rows = warehouse.query("SELECT * FROM import_batch WHERE id = ?", [batch])
    if rows.empty:
        raise InputError(f"import n° {batch} inconnu (voir « observatoire imports list »)")
    record = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}
    record["report"] = json.loads(str(record["report"])) if record.get("report") else None
    return record


def list_variables(warehouse: Warehouse, *, source: str | None = None) -> pd.DataFrame:
    """Variables with their label, the levels and periods they have values for."""
    where, params = ("WHERE v.source = ?", [source]) if source else ("", [])
    return warehouse.query(
        "SELECT v.id, v.label, v.source, v.code, v.additive, v.producer, "
        "COUNT(o.value) AS n_values, "
        "STRING_AGG(DISTINCT o.level, ' ' ORDER BY o.level) AS levels, "
        "STRING_AGG(DISTINCT o.period, ' ' ORDER BY o.period) AS periods "
        "FROM variable v LEFT JOIN observation o ON o.variable = v.id "
        f"AND o.geography = 'current' AND o.batch IN ({_ACTIVE}) {where} "
        "GROUP BY v.id, v.label, v.source, v.code, v.additive, v.producer ORDER BY v.id",
        params,
    )


def read_values(
    warehouse: Warehouse,
    *,
    variable: str,
    level: str,
    within: tuple[str, str] | None = None,
    period: str | None = None,
    dims: str | None = None,
    published: bool = False,
) -> pd.DataFrame:
    """Stored values of ``variable`` at ``level``: code, name, period, value, status, note.

    ``published`` reads the values as published in a past geography instead of the values
    converted to the current one.
    """
    known = warehouse.query("SELECT id FROM variable WHERE id = ?", [variable])
    if known.empty:
        names = warehouse.query("SELECT id FROM variable ORDER BY id").id.tolist()
        raise UnknownNameError(
            "variable", variable, names[:40] + (["…"] if len(names) > 40 else [])
        )
    geography = "published" if published else "current"
    sql = (
        "SELECT o.code, t.name, o.period, o.dims, o.value, o.status, o.note, o.batch FROM ("
        "SELECT *, ROW_NUMBER() OVER (PARTITION BY code, period, dims ORDER BY batch DESC) "
        "AS rank "
        f"FROM observation WHERE variable = ? AND level = ? AND batch IN ({_ACTIVE}) "
        "AND geography = ?) o LEFT JOIN territory t ON t.level = o.level AND t.code = o.code "
        "WHERE o.rank = 1"
    )
    params: list[object] = [variable, level, geography]
    if period is not None:
        sql += " AND o.period = ?"
        params.append(period)
    if dims is not None:
        sql += " AND o.dims = ?"
        params.append(canonical_dims(dims))
    if within is not None:
        sql += (
            " AND o.code IN (SELECT code FROM territory_parent WHERE level = ? "
            "AND parent_level = ? AND parent_code = ?)"
        )
        params += [level, *within]
    return warehouse.query(sql + " ORDER BY o.code, o.period", params)
