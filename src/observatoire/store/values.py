"""Imported values: what an import writes (series and their values, the variables and the
columns of its file that fed them), and reading them back (import history, variables, values).

Only imports in force (``status = 'active'``) are read; when two imports in force give the same
value (same variable, territory, period), the most recent one wins. The writes happen inside
the import's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from observatoire.catalog.datasets import due_date, edition_due
from observatoire.errors import InputError, UnknownNameError
from observatoire.store.base import Readable, Transaction, Warehouse, placeholders
from observatoire.store.batches import batch_record

__all__ = [
    "batch_values",
    "batch_variables",
    "canonical_dims",
    "delete_import",
    "import_details",
    "list_datasets",
    "list_imports",
    "list_variables",
    "read_values",
    "refresh_variable_labels",
    "save_column_labels",
    "save_variables",
    "series_periods",
    "variable_labels",
    "write_derived",
    "write_series",
]


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


# -- writing: what an import stores ------------------------------------------------------------
def write_series(tx: Transaction, series: pd.DataFrame, values: pd.DataFrame) -> None:
    """Append new ``series`` (id, the series key, batch; may be empty) and ``values`` (series,
    code, value, status, note: unique, as the import checked them)."""
    if len(series):
        tx.insert("series", series)
    tx.insert("series_value", values, checked=True)


def write_derived(tx: Transaction, series: pd.DataFrame, sources: Sequence[Sequence[int]]) -> None:
    """Append derived ``series`` (id, the series key, batch), each made of the series of the
    same row of ``sources``: a copy of one, or the sum of several, code by code. A sum is
    ``ok`` only when every part is; else secret when a part is secret, missing otherwise."""
    if not len(series):
        return
    tx.insert("series", series)
    for target, parts in zip(series.id.tolist(), sources, strict=True):
        marks = placeholders(parts)
        if len(parts) == 1:
            tx.execute(
                "INSERT INTO series_value (series, code, value, status, note) "
                "SELECT ?, code, value, status, note FROM series_value WHERE series = ?",
                [int(target), int(parts[0])],
            )
            continue
        n = len(parts)
        whole = (f"COUNT(*) = {n} AND SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) = {n}")
        tx.execute(
            "INSERT INTO series_value (series, code, value, status, note) "
            f"SELECT ?, code, CASE WHEN {whole} THEN SUM(value) END, "
            f"CASE WHEN {whole} THEN 'ok' WHEN SUM(CASE WHEN status = 'secret' THEN 1 ELSE 0 "
            "END) > 0 THEN 'secret' ELSE 'missing' END, ? "
            f"FROM series_value WHERE series IN ({marks}) GROUP BY code",
            [int(target), f"somme de {n} cellules du fichier", *map(int, parts)],
        )


def save_variables(tx: Transaction, variables: pd.DataFrame, columns: pd.DataFrame) -> None:
    """Write ``variables`` (rows of ``variable``, replacing those of the same ids) and the
    ``columns`` of the import that fed them (rows of ``batch_column``)."""
    if len(variables):
        ids = variables.id.tolist()
        tx.execute(f"DELETE FROM variable WHERE id IN ({placeholders(ids)})", ids)
        tx.insert("variable", variables)
    tx.insert("batch_column", columns)


def variable_labels(reader: Readable) -> dict[str, object]:
    """Every variable known, with its label (None or NaN when it has none)."""
    stored = reader.query("SELECT id, label FROM variable")
    return dict(zip(stored.id, stored.label, strict=True))


_LABELLED = (
    "FROM batch_column b JOIN variable_label l ON l.column_name = b.column_name "
    "WHERE b.variable = variable.id"
)


def refresh_variable_labels(tx: Transaction) -> None:
    """Give variables the label of any dictionary entry of a column that fed them."""
    tx.execute(
        f"UPDATE variable SET label = (SELECT MIN(l.label) {_LABELLED}) "
        f"WHERE EXISTS (SELECT 1 {_LABELLED})"
    )


def save_column_labels(tx: Transaction, labels: pd.DataFrame) -> None:
    """Add the ``labels`` of a dictionary (column_name, label, long_label) to those kept,
    replacing the entries of the same columns."""
    kept = tx.query("SELECT * FROM variable_label")
    kept = kept[~kept.column_name.isin(set(labels.column_name))]
    tx.replace("variable_label", pd.concat([kept, labels], ignore_index=True))


def batch_variables(reader: Readable, batch: int) -> list[str]:
    """The variables import ``batch`` fed."""
    fed = reader.query("SELECT DISTINCT variable FROM batch_column WHERE batch = ?", [batch])
    return fed.variable.tolist()


def series_periods(reader: Readable, batches: Sequence[int]) -> pd.Series:
    """The periods the series of ``batches`` hold (a missing period as null)."""
    marks = placeholders(batches)
    held = reader.query(
        f"SELECT DISTINCT period FROM series WHERE batch IN ({marks})", list(batches)
    )
    return held.period


def delete_import(tx: Transaction, batch: int) -> None:
    """Delete import ``batch`` and all it wrote (its series, their values, its columns): for
    a derived import that is rewritten whole, never kept as ``replaced``."""
    tx.execute(
        "DELETE FROM series_value WHERE series IN (SELECT id FROM series WHERE batch = ?)",
        [batch],
    )
    for table, column in (
        ("series", "batch"),
        ("batch_column", "batch"),
        ("import_batch", "id"),
    ):
        tx.execute(f"DELETE FROM {table} WHERE {column} = ?", [batch])


# -- reading back ------------------------------------------------------------------------------
def list_imports(warehouse: Warehouse, *, all_versions: bool = True) -> pd.DataFrame:
    """The import history, most recent first."""
    where = "" if all_versions else " WHERE status = 'active'"
    return warehouse.query(
        "SELECT id, status, dataset, edition, level, periods, file_name, rows_read, "
        "rows_imported, rows_rejected, imported_at, imported_by, SUBSTR(sha256, 1, 12) AS sha256 "
        f"FROM import_batch{where} ORDER BY id DESC"
    )


def list_datasets(warehouse: Warehouse, *, today: pd.Timestamp | None = None) -> pd.DataFrame:
    """Datasets in force: producer, partner, latest edition and import, publication frequency,
    confidentiality, licence, and when a new edition is due (``en retard`` once past).

    The due date follows the producer's calendar: the latest edition's next one is out at the
    end of its period plus the publication lag (:func:`~observatoire.catalog.datasets.
    edition_due`: a 2014 edition is late in 2026, whenever it was imported); for an edition
    that is not a period, the latest import plus the frequency (a month's grace included).
    """
    today = today if today is not None else pd.Timestamp.now(tz="UTC")
    rows = warehouse.query(
        "SELECT dataset, producer, partner, edition, imported_at, frequency, confidentiality, "
        "licence, id FROM import_batch WHERE status = 'active' ORDER BY dataset, imported_at"
    )
    columns = [
        "dataset", "producer", "partner", "editions", "last_import", "frequency",
        "confidentiality", "licence", "due", "state",
    ]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for dataset, group in rows.groupby("dataset", sort=True):
        last = group.iloc[-1]
        frequency = "" if pd.isna(last.frequency) else str(last.frequency)
        imported = pd.Timestamp(str(last.imported_at))
        latest = max((str(e) for e in group.edition if not pd.isna(e)), default="")
        deadline = edition_due(latest, frequency) or due_date(imported.date(), frequency)
        due, state = "", "sans échéance"
        if deadline is not None:
            due = deadline.isoformat()
            state = "en retard" if today.date() > deadline else "à jour"
        out.append(
            {
                "dataset": dataset,
                "producer": last.producer,
                "partner": None if pd.isna(last.partner) else last.partner,
                "editions": " ".join(sorted(str(e) for e in group.edition)),
                "last_import": imported.date().isoformat(),
                "frequency": frequency or "-",
                "confidentiality": last.confidentiality or "public",
                "licence": None if pd.isna(last.licence) else last.licence,
                "due": due,
                "state": state,
            }
        )
    return pd.DataFrame(out, columns=columns)


def import_details(warehouse: Warehouse, batch: int) -> dict[str, object]:
    """Everything recorded about import ``batch``: provenance and validation report."""
    row = batch_record(warehouse, batch)
    record = {k: (None if pd.isna(v) else v) for k, v in row.to_dict().items()}
    record["report"] = json.loads(str(record["report"])) if record.get("report") else None
    return record


def list_variables(warehouse: Warehouse, *, source: str | None = None) -> pd.DataFrame:
    """Variables with their label, the levels and periods they have values for."""
    where, params = ("WHERE v.source = ?", [source]) if source else ("", [])
    return warehouse.query(
        "SELECT v.id, v.label, v.source, v.code, v.kind, v.unit, v.additive, v.producer, "
        "COALESCE(SUM(n.n_values), 0) AS n_values, "
        "STRING_AGG(DISTINCT s.level, ' ' ORDER BY s.level) AS levels, "
        "STRING_AGG(DISTINCT s.period, ' ' ORDER BY s.period) AS periods "
        "FROM variable v LEFT JOIN series s ON s.variable = v.id "
        f"AND s.geography = 'current' AND s.batch IN ({_ACTIVE}) "
        "LEFT JOIN (SELECT series, COUNT(value) AS n_values FROM series_value GROUP BY series) n "
        f"ON n.series = s.id {where} "
        "GROUP BY v.id, v.label, v.source, v.code, v.kind, v.unit, v.additive, v.producer "
        "ORDER BY v.id",
        params,
    )


def batch_values(warehouse: Warehouse, batch: int) -> pd.DataFrame:
    """Every value import ``batch`` stored, one row each: variable, level, code, period, dims,
    value, status, geography, note."""
    return warehouse.query(
        "SELECT s.variable, s.level, v.code, s.period, s.dims, v.value, v.status, s.geography, "
        "v.note FROM series_value v JOIN series s ON s.id = v.series WHERE s.batch = ? "
        "ORDER BY s.variable, s.geography, v.code, s.period, s.dims",
        [batch],
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
        "SELECT v.code, v.value, v.status, v.note, s.level, s.period, s.dims, s.batch, "
        "ROW_NUMBER() OVER (PARTITION BY v.code, s.period, s.dims ORDER BY s.batch DESC) AS rank "
        "FROM series s JOIN series_value v ON v.series = s.id "
        f"WHERE s.variable = ? AND s.level = ? AND s.batch IN ({_ACTIVE}) AND s.geography = ?"
        ") o LEFT JOIN territory t ON t.level = o.level AND t.code = o.code WHERE o.rank = 1"
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
