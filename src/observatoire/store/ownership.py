"""Who owns what was imported.

A dataset belongs to whoever first imported it: the observatory (an import without a partner:
an analyst's, or the command line's without ``--partner``) or a partner organisation. The
variables a dataset writes belong to the owner of that dataset. Imports that were rolled back
do not count: a dataset whose every import was withdrawn belongs to nobody again.

    dataset_owners(warehouse, ["cnaf.allocataires.iris"])   # {dataset: partner or None}
    variable_owners(warehouse, ["cnaf.ARSAS"])               # rows: variable, dataset, owner
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from observatoire.store.base import Transaction, Warehouse

__all__ = ["dataset_owners", "partner_names", "variable_owners"]

# The first import in force or replaced (not withdrawn) of each dataset: its owner.
_FIRST = (
    "SELECT b.dataset, b.partner FROM import_batch b JOIN ("
    "SELECT dataset, MIN(id) AS id FROM import_batch WHERE status <> 'rolled_back' "
    "GROUP BY dataset) f ON f.id = b.id"
)


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


Readable = Warehouse | Transaction


def dataset_owners(warehouse: Readable, datasets: Sequence[str]) -> dict[str, str | None]:
    """The owner of each of ``datasets`` already imported (a partner code, or None for the
    observatory); datasets never imported are absent."""
    if not datasets:
        return {}
    rows = warehouse.query(
        f"SELECT dataset, partner FROM ({_FIRST}) o WHERE dataset IN "
        f"({_placeholders(datasets)})",
        list(datasets),
    )
    return {
        str(d): (None if pd.isna(p) else str(p))
        for d, p in zip(rows.dataset, rows.partner, strict=True)
    }


def variable_owners(warehouse: Readable, variables: Sequence[str]) -> pd.DataFrame:
    """The datasets (not withdrawn) that write each of ``variables``, with their owner:
    columns ``variable``, ``dataset``, ``owner`` (None: the observatory)."""
    if not variables:
        return pd.DataFrame(columns=["variable", "dataset", "owner"])
    rows = warehouse.query(
        "SELECT DISTINCT c.variable, b.dataset, o.partner AS owner FROM batch_column c "
        "JOIN import_batch b ON b.id = c.batch "
        f"JOIN ({_FIRST}) o ON o.dataset = b.dataset "
        f"WHERE b.status <> 'rolled_back' AND c.variable IN ({_placeholders(variables)}) "
        "ORDER BY c.variable, b.dataset",
        list(variables),
    )
    rows["owner"] = [None if pd.isna(o) else str(o) for o in rows.owner]
    return rows


def partner_names(warehouse: Readable) -> dict[str, str]:
    """Each partner's name by its code."""
    rows = warehouse.query("SELECT code, name FROM partner")
    return {str(c): str(n) for c, n in zip(rows.code, rows.name, strict=True)}
