"""The import pipeline: a producer's file in, a validation report out, values stored atomically.

Steps: check the file (size, SHA-256, zip sanity) → open it as a stream of chunks
(:mod:`~observatoire.ingest.tables`) → recognise its format on the first chunk
(:mod:`~observatoire.ingest.connectors`) → for each chunk, check the codes and cells
(:mod:`~observatoire.ingest.checks`) and write its values → convert the values published in a
past geography → record the import, its variables and its report. Everything is written in one
transaction (nothing with ``dry_run``): a failure, or a kill, leaves the base as it was.

Memory is bounded by the chunk size, plus the rows that may need a geography conversion (those
of the communes some fusion, scission or code change concerned, about a tenth of a commune file)
and 8 bytes a row for the duplicate check.

Re-importing the same dataset and edition creates a new version; the previous one is kept as
``replaced`` and comes back with :func:`rollback`.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections.abc import Callable
from itertools import chain
from pathlib import Path

import pandas as pd

from observatoire.errors import FileFormatError, InvalidValueError
from observatoire.ingest.archives import MAX_FILE_BYTES
from observatoire.ingest.batch import (
    BatchRow,
    check_deposit,
    fingerprint,
    open_batch,
    withdrawing,
)
from observatoire.ingest.checks import (
    ReferenceCodes,
)
from observatoire.ingest.connectors import Connector, Layout, connectors, recognise
from observatoire.ingest.geofiles import is_geofile
from observatoire.ingest.geonames import NameResolver
from observatoire.ingest.longfiles import LongLayoutConnector
from observatoire.ingest.melodi import MelodiConnector
from observatoire.ingest.ownership import (
    Verdict,
    check_dictionary,
    judge,
    own_namespace,
    proposal_needed,
)
from observatoire.ingest.rawtext import sniff
from observatoire.ingest.report import ImportReport, Rejection
from observatoire.ingest.run import Derived, ImportRun
from observatoire.ingest.tables import CHUNK_ROWS, Table, find_column, open_table, read_table
from observatoire.ingest.vocabulary import load_vocabularies
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.batches import active_batch, next_id, replaced_before, set_status
from observatoire.store.computed import invalidate, mark_stale
from observatoire.store.ownership import claim_dataset
from observatoire.store.values import (
    batch_variables,
    refresh_variable_labels,
    save_column_labels,
    save_variables,
    series_periods,
    variable_labels,
)

__all__ = ["ImportReport", "Rejection", "import_file", "rollback"]

BUILT_IN = (MelodiConnector, LongLayoutConnector)  # registered on import, as ingest.qpv's is
_REFERENTIAL = ("COD_VAR", "TYPECOM", "MOD")  # dictionaries and COG files: named, not imported


def import_file(
    warehouse: Warehouse,
    path: str | Path,
    *,
    dry_run: bool = False,
    connector: str | Connector | None = None,
    level: str | None = None,
    period: str | None = None,
    partner: str | None = None,
    accepted: bool = False,
    user: str | None = None,
    on_step: Callable[[str], None] = lambda _: None,
    on_progress: Callable[[float], None] = lambda _: None,
    chunk_rows: int = CHUNK_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
    vocabulary_home: Path | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Import one file (see the module docstring); returns its report.

    ``partner``: the organisation the file is imported for (:mod:`.ownership` judges what it
    may write; a proposal is only validated, unless ``accepted`` by an analyst). ``on_step``
    receives the name of each step, ``on_progress`` the share of the file read.
    ``vocabulary_home``: the observatory's folder, whose own vocabularies are read too.
    ``origin``: where the file was fetched from (a producer's service and edition), kept
    with the import as its provenance.
    """
    path, partner = check_deposit(warehouse, path, partner, max_bytes)
    if is_geofile(path):
        raise FileFormatError(
            "fichier géographique, pas un tableau de valeurs : des contours IRIS s'importent "
            "avec « observatoire geo import-iris RÉFÉRENCE --contours FICHIER », ceux d'un "
            "zonage avec « observatoire zoning import NOM FICHIER »",
            path=path,
        )
    sniff(path)
    on_step("empreinte du fichier")
    sha256, size = fingerprint(path, max_bytes)
    on_step("lecture")
    expect = (
        connector.header_names()
        if isinstance(connector, Connector)
        else (*dict.fromkeys(n for c in connectors() for n in c.header_names()), *_REFERENTIAL)
    )
    stream = open_table(path, expect=expect, chunk_rows=chunk_rows)
    chunks = iter(stream)
    first = next(chunks)
    if first.has("COD_VAR") and first.has("LIB_VAR"):
        check_dictionary(partner, path)
        whole = pd.concat([first.frame, *(c.frame for c in chunks)], ignore_index=True)
        table = Table(first.path, whole, first.first_line)
        return _import_dictionary(warehouse, table, sha256, size, dry_run=dry_run)
    hint = _referential_hint(first) if connector is None else None
    if hint is not None:
        raise FileFormatError(hint, path=path)
    layout = recognise(first, connector=connector)
    if level is not None:
        layout.level = level
    own = True
    if partner is not None:
        layout, own = own_namespace(warehouse, layout, partner)
    _set_period(layout, period, path)
    _check_unique_variables(layout, path)
    variables = sorted({c.variable for c in layout.columns})
    verdict = judge(warehouse, layout=layout, partner=partner, own=own, path=path)
    if verdict is Verdict.PROPOSAL and not (dry_run or accepted):
        raise proposal_needed(layout.dataset, path)
    on_step(f"format reconnu : {layout.connector} ({layout.level})")
    existing = set(variable_labels(warehouse))
    reference = ReferenceCodes(warehouse, layout.level)
    if layout.by_name:
        reference.resolver = NameResolver(warehouse, first, layout)
    run = ImportRun(warehouse, layout, reference, extends_referential=partner is None or accepted)
    with open_batch(warehouse, dataset=layout.dataset, sha256=sha256, dry_run=dry_run) as slot:
        tx = slot.tx
        if tx is not None:
            run.batch = slot.batch
            run.next_series = next_id(tx, "series")
        for table in chain([first], chunks):
            run.add(table, tx)
            on_progress(stream.fraction)
        on_step("conversion vers la géographie actuelle" if run.tally.past_codes else "écriture")
        run.finish(tx)
        derived = run.derive(tx, load_vocabularies(vocabulary_home))
        variables = sorted({*variables, *(d.variable for d in derived)})
        report = run.report(path, sha256, size)
        report.notes = [*run.qpv_notes(dry_run), *report.notes]
        _check_something_read(report, path)
        report.dry_run = dry_run
        report.variables_created = [v for v in variables if v not in existing]
        report.variables_updated = [v for v in variables if v in existing]
        if slot.unchanged is not None:  # the very same file is in force: validated only
            report.batch, report.unchanged = slot.unchanged, True
        report.proposal = verdict is Verdict.PROPOSAL and not accepted
        if tx is not None:  # again, in the transaction: a concurrent import may have come first
            again = judge(tx, layout=layout, partner=partner, own=own, path=path)
            if again is Verdict.PROPOSAL and not accepted:
                raise proposal_needed(layout.dataset, path)
            _record(tx, layout, report, _labels_of(layout, path), derived, partner=partner,
                    user=user, origin=origin)  # fmt: skip
    return report


def _check_something_read(report: ImportReport, path: Path) -> None:
    """Refuse a file of which nothing could be read: no row under the header, every row
    rejected, or every value cell (nothing would be imported but an empty edition over the
    one in force)."""
    if report.rows_read == 0:
        notes = len(report.footer_lines)
        why = (
            f" : ses {notes} ligne(s) se lisent comme des notes d'une seule cellule (séparateur "
            "différent de celui de l'en-tête ?)"
            if notes
            else ""
        )
        raise FileFormatError(
            f"aucune ligne de données sous l'en-tête{why} ; rien n'a été importé", path=path
        )
    nothing_ok = report.statuses.get("ok", 0) == 0 and report.cells_rejected > 0
    if report.rows_imported == 0 or nothing_ok:
        first = report.examples[0] if report.examples else None
        what = "ligne" if report.rows_imported == 0 else "valeur"
        raise InvalidValueError(
            f"aucune {what} importable : {report.rows_rejected or report.cells_rejected} "
            f"rejet(s), le premier ici (« {first.value if first else ''} » : "
            f"{first.reason if first else 'illisible'}) ; rien n'a été importé",
            path=path,
            line=first.line if first else None,
            column=first.column if first else None,
        )


def _check_unique_variables(layout: Layout, path: Path) -> None:
    """Two columns may not feed the same variable for the same period."""
    seen: dict[tuple[str, str], str] = {}
    for spec in layout.columns:
        key = (spec.variable, spec.period)
        if key in seen:
            raise FileFormatError(
                f"les colonnes « {seen[key]} » et « {spec.column} » donnent toutes deux "
                f"{spec.variable} pour {spec.period or 'la même période'} : écrivez un "
                "descripteur pour les distinguer",
                path=path,
            )
        seen[key] = spec.column


def _set_period(layout: Layout, period: str | None, path: Path) -> None:
    """The period given by the user, for columns whose period the file does not tell; a clear
    error when some column has none."""
    if layout.period_column:
        return
    if period is not None:
        layout.columns = [
            c if c.period else dataclasses.replace(c, period=period) for c in layout.columns
        ]
    undated = [c.column for c in layout.columns if not c.period]
    if undated:
        raise InvalidValueError(
            f"période indéterminée (ni dans le nom du fichier ni dans les colonnes, ex. "
            f"{', '.join(undated[:3])}) : précisez-la avec --period, ex. --period 2024",
            path=path,
        )


def _referential_hint(table: Table) -> str | None:
    """The command to use for a referential file (COG, IRIS reference, EPCI composition),
    which is not a table of values."""
    if table.has("TYPECOM") or (table.has("MOD") and table.has("DATE_EFF")):
        return (
            "fichier du Code officiel géographique (INSEE) : il fait partie du référentiel, "
            f"importez son dossier avec « observatoire geo import-cog {table.path.parent} »"
        )
    if table.has("CODE_IRIS") and table.has("TYP_IRIS"):
        return (
            "référentiel des IRIS (INSEE) : importez-le avec "
            f"« observatoire geo import-iris {table.path} » (et --contours pour les contours)"
        )
    if table.has("CODGEO") and table.has("EPCI") and table.has("LIBEPCI"):
        return (
            "composition communale des EPCI : le référentiel tient déjà les EPCI en vigueur ; "
            "pour une composition passée, importez-la comme zonage : « observatoire zoning "
            f"import epci_ancien {table.path} --unit-column CODGEO --zone-column EPCI "
            "--name-column LIBEPCI »"
        )
    return None


def _labels_of(layout: Layout, path: Path) -> dict[str, tuple[str, str]]:
    labels = {column: (label, label) for column, label in layout.labels.items()}
    labels.update(_dictionary_labels(path))
    return labels


def _dictionary_labels(path: Path) -> dict[str, tuple[str, str]]:
    """Labels from an INSEE dictionary next to the file (``meta_<name>``) or in its zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            metas = [n for n in archive.namelist() if Path(n).name.lower().startswith("meta")]
        if metas:
            return _labels(read_table(path, member=Path(metas[0]).name, expect=("COD_VAR",)))
        return {}
    candidates = [p for p in path.parent.glob(f"meta_{path.stem}*") if p.is_file()]
    return _labels(read_table(candidates[0], expect=("COD_VAR",))) if candidates else {}


def _labels(table: Table) -> dict[str, tuple[str, str]]:
    frame = table.frame
    code = table.column("COD_VAR")
    short = table.column("LIB_VAR")
    long = find_column(list(frame.columns), ("LIB_VAR_LONG",)) or short
    unique = frame.drop_duplicates(code)
    return {
        str(c): (year_free(str(s)), str(lg))
        for c, s, lg in zip(unique[code], unique[short], unique[long], strict=True)
    }


_LABEL_YEAR = re.compile(
    r"\s*(\(\d{4}\)|(en|au|fin|au 31 décembre|entre \d{4} et)?\s*(19|20)\d{2})\s*$",
    re.IGNORECASE,
)


def year_free(label: str) -> str:
    """A dictionary label without its year: variables are stored without the year suffix of
    their column (``P13_POP`` and ``P18_POP`` are both ``rp.POP``), so their label is too.

    >>> year_free("Population en 2013"), year_free("Naissances entre 2013 et 2018")
    ('Population', 'Naissances')
    >>> year_free("Ets actifs 10 salariés ou plus au 31 décembre 2018"), year_free("Superficie")
    ('Ets actifs 10 salariés ou plus', 'Superficie')
    """
    cleaned = _LABEL_YEAR.sub("", label).strip()
    return cleaned or label


def _import_dictionary(
    warehouse: Warehouse, table: Table, sha256: str, size: int, *, dry_run: bool
) -> ImportReport:
    labels = _labels(table)
    report = ImportReport(
        file=table.path.name,
        sha256=sha256,
        size=size,
        connector="insee.dictionnaire",
        producer="INSEE",
        dataset="dictionnaire",
        level="",
        periods=[],
        rows_read=len(table.frame),
        rows_imported=len(labels),
        rows_rejected=0,
        cells_rejected=0,
        values_stored=0,
        statuses={},
        completeness={},
        variables_created=[],
        variables_updated=[],
        dry_run=dry_run,
    )
    if dry_run:
        return report
    frame = pd.DataFrame(
        [(c, s, lg) for c, (s, lg) in labels.items()],
        columns=["column_name", "label", "long_label"],
    )
    with warehouse.transaction() as tx:
        save_column_labels(tx, frame)
        refresh_variable_labels(tx)
    report.variables_updated = sorted(labels)
    return report


def _record(
    tx: Transaction,
    layout: Layout,
    report: ImportReport,
    labels: dict[str, tuple[str, str]],
    derived: list[Derived],
    *,
    partner: str | None,
    user: str | None,
    origin: str | None = None,
) -> None:
    """The import itself, its variables and their columns, once its values are written."""
    edition = (
        max(layout.periods, key=lambda p: sum(c.period == p for c in layout.columns))
        if layout.periods
        else max(report.periods, default="")
    )
    batch = report.batch
    assert batch is not None
    report.replaced = active_batch(tx, layout.dataset, edition=edition)
    if report.replaced is not None:
        set_status(tx, report.replaced, "replaced")
    # what it changes (its variables, and those of the import it replaces) is read as it was
    # until `compute` replaces it, at once
    changed = [c.variable for c in layout.columns] + [d.variable for d in derived]
    batches = [batch]
    if report.replaced is not None:
        changed += batch_variables(tx, report.replaced)
        batches.append(report.replaced)
    # of the periods both hold only (a new edition of 2019 leaves the other years alone)
    held = series_periods(tx, batches)
    periods = None if held.isna().any() else held.astype(str).tolist()
    mark_stale(tx, changed, periods)
    row = BatchRow(
        id=batch,
        dataset=layout.dataset,
        edition=edition,
        connector=layout.connector,
        producer=layout.producer,
        partner=partner,
        level=layout.level,
        periods=" ".join(layout.periods or report.periods),
        file_name=report.file,
        sha256=report.sha256,
        size=report.size,
        descriptor=layout.descriptor,
        imported_by=user,
        rows_read=report.rows_read,
        rows_imported=report.rows_imported,
        rows_rejected=report.rows_rejected,
        geography_year=report.converted_from,
        report=report.to_json(),
        confidentiality=layout.confidentiality,
        licence=layout.licence,
        frequency=layout.frequency,
        origin=origin,
    )
    claim_dataset(tx, layout.dataset, partner, row.imported_at, row.imported_by)
    row.write(tx)
    specs = {c.variable: c for c in layout.columns}
    old_labels = variable_labels(tx)
    variables = pd.DataFrame(
        [
            {
                "id": v,
                "source": s.source,
                "code": s.code,
                "label": labels.get(s.column, (None,))[0] or old_labels.get(v),
                "additive": s.additive,
                "producer": layout.producer,
                "kind": s.nature,
                "unit": s.unit,
            }
            for v, s in specs.items()
        ]
        + [
            {
                "id": d.variable,
                "source": d.variable.split(".", 1)[0],
                "code": d.variable.split(".", 1)[1],
                "label": _text_or(old_labels.get(d.variable), d.label),
                "additive": d.kind in ("count", "amount"),
                "producer": layout.producer,
                "kind": d.kind,
                "unit": "",
            }
            for d in {d.variable: d for d in derived}.values()
        ]
    )
    once = {d.variable: d for d in derived}.values()
    columns = pd.DataFrame(
        {
            "batch": batch,
            "column_name": [c.column for c in layout.columns]
            + [f"{d.variable} (vocabulaire {d.vocabulary})" for d in once],
            "variable": [c.variable for c in layout.columns] + [d.variable for d in once],
            "period": [c.period for c in layout.columns] + ["" for _ in once],
        }
    )
    save_variables(tx, variables, columns)
    refresh_variable_labels(tx)


def _text_or(label: object, default: str) -> str:
    """A label read back (None or NaN when there is none), else ``default``."""
    return label if isinstance(label, str) and label else default


def rollback(warehouse: Warehouse, batch: int) -> tuple[int, int | None]:
    """Withdraw import ``batch``; the version it replaced (if any) becomes active again.

    Returns (batch, restored batch or None).
    """
    with withdrawing(warehouse, batch) as (tx, row):
        invalidate(tx, variables=batch_variables(tx, batch))
        restored = replaced_before(tx, row.dataset, row.edition, batch)
        if restored is not None:
            set_status(tx, restored, "active")
    return batch, restored
