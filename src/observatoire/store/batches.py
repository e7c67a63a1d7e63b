"""The ledger of imports (table ``import_batch``): one row per import, with its status.

An import is ``active`` when written; ``replaced`` when a later import of the same data takes
its place (it may come back); ``rolled_back`` when withdrawn. Rows are numbered here, and the
numbers of the other tables an import fills (``series``) are given the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from observatoire.errors import InputError
from observatoire.store.base import Readable, Transaction, Warehouse

__all__ = [
    "active_batch",
    "batch_dataset",
    "batch_record",
    "dataset_batches",
    "import_descriptions",
    "import_history",
    "insert_batch",
    "next_id",
    "replaced_before",
    "set_status",
]


def next_id(tx: Transaction, table: str) -> int:
    """The next free number of ``table``'s ``id`` (the transaction holds the write lock)."""
    return int(tx.query(f"SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}").n.iloc[0])


def batch_record(reader: Readable, batch: int) -> pd.Series:
    """Import ``batch``'s row, or an :class:`InputError` if there is none."""
    rows = reader.query("SELECT * FROM import_batch WHERE id = ?", [batch])
    if rows.empty:
        raise InputError(f"import n° {batch} inconnu (voir « observatoire imports list »)")
    return rows.iloc[0]


def active_batch(
    reader: Readable, dataset: str, *, sha256: str | None = None, edition: str | None = None
) -> int | None:
    """The import in force of ``dataset`` made from the file ``sha256``, or of ``edition``."""
    where, params = "dataset = ? AND status = 'active'", [dataset]
    for column, value in (("sha256", sha256), ("edition", edition)):
        if value is not None:
            where += f" AND {column} = ?"
            params.append(value)
    rows = reader.query(f"SELECT id FROM import_batch WHERE {where}", params)
    return int(rows.id.iloc[0]) if len(rows) else None


def dataset_batches(reader: Readable, dataset: str) -> list[int]:
    """Every import of ``dataset``, whatever its status."""
    return reader.query("SELECT id FROM import_batch WHERE dataset = ?", [dataset]).id.tolist()


def replaced_before(tx: Transaction, dataset: str, edition: str, batch: int) -> int | None:
    """The latest import of ``dataset``'s ``edition`` before ``batch`` that a later one
    replaced (the one a withdrawal of ``batch`` puts back in force)."""
    rows = tx.query(
        "SELECT MAX(id) AS id FROM import_batch WHERE dataset = ? AND edition = ? "
        "AND status = 'replaced' AND id < ?",
        [dataset, edition, batch],
    )
    found = rows.id.iloc[0]
    return int(found) if pd.notna(found) else None


def set_status(tx: Transaction, batch: int, status: str, *, if_status: str | None = None) -> None:
    """Give import ``batch`` its new ``status`` (only if it has ``if_status``, when given)."""
    if if_status is None:
        tx.execute("UPDATE import_batch SET status = ? WHERE id = ?", [status, batch])
    else:
        tx.execute(
            "UPDATE import_batch SET status = ? WHERE id = ? AND status = ?",
            [status, batch, if_status],
        )


def insert_batch(tx: Transaction, row: Mapping[str, object]) -> None:
    """Write one import's row; the columns left out (or None) are NULL (``import_batch`` has
    no column DEFAULT: leaving a None out is inserting NULL; keep it so)."""
    tx.insert("import_batch", pd.DataFrame([{k: v for k, v in row.items() if v is not None}]))


def import_descriptions(warehouse: Warehouse) -> dict[str, str]:
    """Import number (as text) → « n° 12 : insee.filosofi, édition 2021 (FILO2021.csv) »."""
    imports = warehouse.query(
        "SELECT id, dataset, edition, file_name FROM import_batch ORDER BY id"
    )
    return {
        str(i): f"n° {i} : {d}" + (f", édition {e}" if e else "") + f" ({f})"
        for i, d, e, f in zip(
            imports.id, imports.dataset, imports.edition, imports.file_name, strict=True
        )
    }


def batch_dataset(warehouse: Warehouse, batch: int) -> str | None:
    """The dataset of import ``batch`` (None when there is no such import)."""
    rows = warehouse.query("SELECT dataset FROM import_batch WHERE id = ?", [batch])
    return str(rows.dataset.iloc[0]) if len(rows) else None


def import_history(warehouse: Warehouse, *, partner: str | None = None) -> pd.DataFrame:
    """Every import, newest first, with the partner it was made for and, for a file fetched
    from a producer's service, where from (``origin``); only ``partner``'s when given."""
    frame = warehouse.query(
        "SELECT id, status, dataset, edition, level, periods, file_name, rows_read, "
        "rows_imported, rows_rejected, imported_at, imported_by, partner, origin FROM "
        "import_batch "
        "ORDER BY id DESC"
    )
    return frame if partner is None else frame[frame.partner == partner]
