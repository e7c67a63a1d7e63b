"""Who owns what was imported (table ``dataset_owner``).

A dataset belongs to whoever first imported it: the observatory (an import without a partner:
an analyst's, or the command line's without ``--partner``) or a partner organisation. It is
recorded with that first import and kept whatever happens to its imports (withdrawn, replaced:
an import accepted from a partner never makes it the partner's); only an administrator gives
it to another owner (:func:`set_owner`). The variables a dataset writes belong to its owner.

    dataset_owners(warehouse, ["cnaf.allocataires.iris"])   # {dataset: partner or None}
    variable_owners(warehouse, ["caf.ARSAS"])                # rows: variable, dataset, owner
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from observatoire.store.base import Readable, Transaction, Warehouse, placeholders

__all__ = [
    "claim_dataset",
    "dataset_owners",
    "partner_names",
    "set_owner",
    "source_owners",
    "variable_owners",
]


def dataset_owners(warehouse: Readable, datasets: Sequence[str]) -> dict[str, str | None]:
    """The owner of each of ``datasets`` already imported (a partner code, or None for the
    observatory); datasets never imported are absent."""
    if not datasets:
        return {}
    rows = warehouse.query(
        f"SELECT dataset, partner FROM dataset_owner WHERE dataset IN ({placeholders(datasets)})",
        list(datasets),
    )
    return {
        str(d): (None if pd.isna(p) else str(p))
        for d, p in zip(rows.dataset, rows.partner, strict=True)
    }


def variable_owners(warehouse: Readable, variables: Sequence[str]) -> pd.DataFrame:
    """The datasets that write (or wrote) each of ``variables``, with their owner: columns
    ``variable``, ``dataset``, ``owner`` (None: the observatory)."""
    if not variables:
        return pd.DataFrame(columns=["variable", "dataset", "owner"])
    rows = warehouse.query(
        "SELECT DISTINCT c.variable, b.dataset, o.partner AS owner FROM batch_column c "
        "JOIN import_batch b ON b.id = c.batch "
        "JOIN dataset_owner o ON o.dataset = b.dataset "
        f"WHERE c.variable IN ({placeholders(variables)}) "
        "ORDER BY c.variable, b.dataset",
        list(variables),
    )
    rows["owner"] = [None if pd.isna(o) else str(o) for o in rows.owner]
    return rows


def source_owners(warehouse: Readable, source: str) -> set[str | None]:
    """The owners of the datasets that write variables of ``source`` (``caf`` for
    ``caf.ARSAS``)."""
    rows = warehouse.query(
        "SELECT DISTINCT o.partner FROM variable v JOIN batch_column c ON c.variable = v.id "
        "JOIN import_batch b ON b.id = c.batch JOIN dataset_owner o ON o.dataset = b.dataset "
        "WHERE v.source = ?",
        [source],
    )
    return {None if pd.isna(p) else str(p) for p in rows.partner}


def partner_names(warehouse: Readable) -> dict[str, str]:
    """Each partner's name by its code."""
    rows = warehouse.query("SELECT code, name FROM partner")
    return {str(c): str(n) for c, n in zip(rows.code, rows.name, strict=True)}


def claim_dataset(
    tx: Transaction, dataset: str, partner: str | None, at: str, by: str | None
) -> None:
    """Record the owner of ``dataset`` at its first import (nothing if it has one)."""
    if tx.query("SELECT dataset FROM dataset_owner WHERE dataset = ?", [dataset]).empty:
        tx.insert(
            "dataset_owner",
            pd.DataFrame([{"dataset": dataset, "partner": partner, "since": at, "decided_by": by}]),
        )


def set_owner(
    warehouse: Warehouse, dataset: str, partner: str | None, *, at: str, by: str
) -> str | None:
    """Give ``dataset`` (already imported) to ``partner`` (None: the observatory); returns
    its previous owner."""
    from observatoire.errors import UnknownNameError

    known = warehouse.query("SELECT dataset, partner FROM dataset_owner ORDER BY dataset")
    if dataset not in set(known.dataset):
        raise UnknownNameError("jeu de données", dataset, known.dataset.tolist()[:40])
    before = known.partner[known.dataset == dataset].iloc[0]
    with warehouse.transaction() as tx:
        tx.replace(
            "dataset_owner",
            pd.DataFrame([{"dataset": dataset, "partner": partner, "since": at, "decided_by": by}]),
            "dataset = ?",
            [dataset],
        )
    return None if pd.isna(before) else str(before)
