"""Reading the import batches for what is shown about them (provenance of values)."""

from __future__ import annotations

from observatoire.store.base import Warehouse

__all__ = ["batch_dataset", "import_descriptions"]


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
