"""The measures of a collection of operators' records, published for the indicator engine.

After every import or rollback of records, :func:`publish_measures` rewrites the derived
dataset ``mesures.<collection>``: one series per measure (and ``ENREGISTREMENTS``, the count of
records) and year, at commune level, summed over the imports of records in force — so the
engine computes the collection's indicators like any other, at every level, with their secret.
"""

from __future__ import annotations

import pandas as pd

from observatoire.ingest.batch import BatchRow
from observatoire.quality.schema import RECORDS_VARIABLE, CollectionSchema
from observatoire.store.base import Transaction
from observatoire.store.batches import dataset_batches, next_id
from observatoire.store.computed import invalidate
from observatoire.store.records import record_sums
from observatoire.store.territories import communes_of_departements
from observatoire.store.values import delete_import, save_variables, write_series

__all__ = ["CONNECTOR", "dataset_of", "measures_dataset", "publish_measures"]

CONNECTOR = "enregistrements"


def dataset_of(collection: str) -> str:
    return f"{CONNECTOR}.{collection}"


def measures_dataset(collection: str) -> str:
    return f"mesures.{collection}"


def publish_measures(tx: Transaction, schema: CollectionSchema) -> None:
    """Republish the collection's measures (and its count of records) as variables of the
    indicator engine, per commune and year, from the imports of records in force."""
    dataset = measures_dataset(schema.name)
    old = dataset_batches(tx, dataset)
    variables = [
        schema.variable(RECORDS_VARIABLE),
        *(schema.variable(m.id) for m in schema.measures),
    ]
    invalidate(tx, variables=variables)
    for batch in old:
        delete_import(tx, batch)
    values = record_sums(tx, schema.name)
    values = values[values.measure.isin([RECORDS_VARIABLE, *(m.id for m in schema.measures)])]
    if values.empty:
        return
    values = _with_zeros(tx, values)
    batch = next_id(tx, "import_batch")
    first_series = next_id(tx, "series")
    values["variable"] = schema.name + "." + values.measure
    keys = values[["variable", "period"]].drop_duplicates().sort_values(["variable", "period"])
    keys = keys.reset_index(drop=True)
    keys["id"] = first_series + keys.index
    cells = values.merge(keys, on=["variable", "period"])
    write_series(
        tx,
        keys.assign(batch=batch, level="commune", dims="", geography="current"),
        pd.DataFrame(
            {
                "series": cells.id,
                "code": cells.code,
                "value": cells.value.astype(float),
                "status": "ok",
                "note": None,
            }
        ),
    )
    periods = sorted(keys.period.unique())
    BatchRow(
        id=batch,
        dataset=dataset,
        edition=periods[-1],
        connector="mesures",
        producer=schema.label,
        level="commune",
        periods=" ".join(periods),
        file_name=f"(enregistrements de la collection {schema.name})",
        imported_by="observatoire",
        rows_imported=len(cells),
        confidentiality=schema.diffusion,
        licence="",
        frequency="annuelle",
    ).write(tx)
    labels = {RECORDS_VARIABLE: f"Enregistrements ({schema.label})"} | {
        m.id: m.label for m in schema.measures
    }
    save_variables(
        tx,
        pd.DataFrame(
            [
                {
                    "id": schema.variable(m),
                    "source": schema.name,
                    "code": m,
                    "label": label,
                    "additive": True,
                    "producer": schema.label,
                    "kind": "amount" if _is_total(schema, m) else "count",
                    "unit": "",
                }
                for m, label in labels.items()
            ]
        ),
        keys.assign(batch=batch, column_name=keys.variable + "@" + keys.period)[
            ["batch", "column_name", "variable", "period"]
        ],
    )


def _with_zeros(tx: Transaction, values: pd.DataFrame) -> pd.DataFrame:
    """Every commune of the départements where the operators work, 0 where no record was made:
    a commune without a request had none (it is not a missing value), so that the départements'
    totals and ratios are computed, not refused for want of coverage."""
    communes = sorted(values.code.unique())
    covered = communes_of_departements(tx, communes)
    grid = pd.MultiIndex.from_product(
        [
            sorted(set(covered) | set(communes)),
            sorted(values.period.unique()),
            sorted(values.measure.unique()),
        ],
        names=["code", "period", "measure"],
    )
    full = values.set_index(["code", "period", "measure"]).value.reindex(grid, fill_value=0.0)
    return full.reset_index()


def _is_total(schema: CollectionSchema, measure: str) -> bool:
    return any(m.id == measure and m.total for m in schema.measures)
