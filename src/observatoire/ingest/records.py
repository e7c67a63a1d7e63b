# Size (~620 lines): one streamed import of an operators' extract — chunked reading against
# the schema and the cube tally share one transaction and its state; versioning and owners are
# in record_versions; the reading and the tally (_Reading, _Cube) can go to a module next.
"""Importing operators' extracts (CSV/XLSX) into a collection of records.

Steps: read the collection's schema (``<home>/collections/*.yaml``) → stream the file in chunks
→ refuse direct identifiers (names, NIR, phones, e-mails; :mod:`observatoire.quality.identifiers`),
hash the columns declared ``identifiant: hacher`` → read each record against the schema
(:mod:`observatoire.quality.evaluate`); records without operator, commune or a readable date are
rejected, line by line → add the chunk to the cube (counts by operator, commune and month) →
write the import, its records (keys only), its cube, and republish the collection's measures as
variables of the indicator engine. One transaction: a failure or a kill leaves the base as it was.

Versioning: an import covers (operator, month) pairs. An earlier import in force whose pairs the
new file covers entirely is *replaced* (and comes back with
:func:`observatoire.ingest.record_versions.rollback_records`); a file
that covers an earlier import only in part is refused, naming it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.errors import InputError, printable
from observatoire.ingest.archives import MAX_FILE_BYTES
from observatoire.ingest.batch import (
    BatchRow,
    check_deposit,
    fingerprint,
    open_batch,
)
from observatoire.ingest.pseudonyms import hash_values, secret_of
from observatoire.ingest.rawtext import sniff
from observatoire.ingest.record_measures import CONNECTOR, dataset_of, publish_measures
from observatoire.ingest.record_versions import check_owners, covered_imports, register_operators
from observatoire.ingest.tables import CHUNK_ROWS, Table, find_column, open_table
from observatoire.quality.calendar import received_day
from observatoire.quality.evaluate import Evaluated, evaluate_chunk, iso_text
from observatoire.quality.identifiers import find_identifiers
from observatoire.quality.schema import (
    KEY_ROLES,
    CollectionSchema,
    schema_from_dict,
)
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.batches import set_status
from observatoire.store.records import write_cube, write_records
from observatoire.store.territories import arm_communes, commune_parts, territory_codes
from observatoire.text import fold

__all__ = [
    "COLLECTIONS_DIRECTORY",
    "RecordsReport",
    "import_records",
    "load_collections",
    "publish_measures",
]

COLLECTIONS_DIRECTORY = "collections"
PARALLEL_BYTES = 20 * 1024**2  # above, pseudonyms are computed by a worker process
EXAMPLES = 20


def load_collections(home: Path) -> dict[str, CollectionSchema]:
    """The collections declared in ``<home>/collections/*.yaml``, by name."""
    from observatoire.yamlfile import load_yaml

    out: dict[str, CollectionSchema] = {}
    directory = home / COLLECTIONS_DIRECTORY
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.y*ml")):
        data = load_yaml(path.read_text(encoding="utf-8"), path, "collection", located=True)
        schema = schema_from_dict(data, str(path))
        if schema.name in out:
            raise InputError(
                f"collection {schema.name} déjà déclarée dans {out[schema.name].origin}", path=path
            )
        out[schema.name] = schema
    return out


@dataclass
class RecordsReport:
    """What an import of records did (or would do with ``dry_run``). Serialisable as JSON."""

    file: str
    sha256: str
    size: int
    collection: str
    rows_read: int = 0
    records_kept: int = 0
    records_rejected: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, object]] = field(default_factory=list)
    invalid_cells: dict[str, int] = field(default_factory=dict)
    invalid_examples: list[dict[str, object]] = field(default_factory=list)
    completeness: dict[str, float | None] = field(default_factory=dict)
    score: float | None = None
    violations: dict[str, int] = field(default_factory=dict)
    operators: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    absent_fields: list[str] = field(default_factory=list)
    hashed_columns: list[str] = field(default_factory=list)
    batch: int | None = None
    replaced: list[int] = field(default_factory=list)
    dry_run: bool = False
    unchanged: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=1)


# -- reading the file ------------------------------------------------------------------------
OPERATOR_COLUMN = "(opérateur du dépôt)"


def _map_columns(
    schema: CollectionSchema, header: list[str], path: Path, *, operator: str | None = None
) -> dict[str, str]:
    """Role and field name → the file's column (case and accents ignored). The operator's
    column may be absent when the extract is one operator's (``operator`` given); the optional
    roles (operator's name, person) may be absent."""
    from observatoire.errors import MissingColumnError

    mapped: dict[str, str] = {}
    for role, wanted in schema.columns.items():
        found = find_column(header, [wanted])
        if found is None and role == "operateur" and operator is not None:
            found = OPERATOR_COLUMN
        elif found is None and role in KEY_ROLES:
            raise MissingColumnError([wanted], header, path=path)
        if found is not None:
            mapped[role] = found
    for spec in schema.fields:
        found = find_column(header, [spec.column, spec.name])
        if found is not None:
            mapped[spec.name] = found
    return mapped


def _communes(warehouse: Warehouse) -> Callable[[pd.Series], pd.Series]:
    """Codes → current commune: current codes, municipal arrondissements (Paris, Lyon,
    Marseille) and former communes (déléguées, associées); Excel's lost leading zero restored."""
    current = territory_codes(warehouse, "commune")
    table = {c: c for c in current}
    arm = arm_communes(warehouse)
    table.update(zip(arm.code, arm.parent_code, strict=True))
    parts = commune_parts(warehouse)
    for code, now in zip(parts.code, parts.current_code, strict=True):
        table.setdefault(code, now)

    def resolve(codes: pd.Series) -> pd.Series:
        found, uniques = pd.factorize(codes)
        mapped = []
        for code in uniques:
            text = str(code).strip().upper()
            if len(text) == 4 and text.isdigit():
                text = "0" + text
            elif len(text) > 6 and text[5] in " -–:" and text[:5] in table:
                text = text[:5]  # « 93066 - Saint-Denis »
            mapped.append(table.get(text))
        out = np.array([*mapped, None], dtype=object)
        return pd.Series(out[np.where(found < 0, len(uniques), found)], index=codes.index)

    return resolve


class _Cube:
    """The counts of an import by operator, commune and month, summed chunk after chunk."""

    def __init__(self, schema: CollectionSchema) -> None:
        self.schema = schema
        self.parts: list[pd.DataFrame] = []
        self.names: dict[str, str] = {}

    def add(self, ev: Evaluated) -> None:
        keys = ev.keys
        if not len(keys):
            return
        # one group number per (operator, commune, month), then a weighted count per column
        parts = [
            pd.factorize(keys[c].to_numpy(dtype=object)) for c in ("operator", "commune", "month")
        ]
        combined = np.zeros(len(keys), dtype=np.int64)
        for codes, uniques in parts:
            combined = combined * len(uniques) + codes
        found, group = np.unique(combined, return_inverse=True)
        levels, remainder = [], found
        for _codes, uniques in reversed(parts):
            levels.append(np.asarray(uniques, dtype=object)[remainder % len(uniques)])
            remainder = remainder // len(uniques)
        index = pd.MultiIndex.from_arrays(levels[::-1], names=["operator", "commune", "month"])
        size = len(index)

        def count(values: np.ndarray) -> np.ndarray:
            return np.bincount(group, weights=values, minlength=size)

        wide = {"records": np.bincount(group, minlength=size).astype(float)}
        for name, values in ev.expected.items():
            wide[f"e|{name}"] = count(values)
            wide[f"f|{name}"] = count(values & ev.filled[name])
            wide[f"i|{name}"] = count(values & ev.invalid[name])
        for name in ev.judged:
            wide[f"j|{name}"] = count(ev.judged[name])
            wide[f"v|{name}"] = count(ev.violated[name])
        for name in ev.measure_value:
            wide[f"m|{name}"] = count(ev.measure_value[name])
            wide[f"n|{name}"] = count(ev.measure_evaluable[name])
        self.parts.append(pd.DataFrame(wide, index=index))
        named = keys.dropna(subset=["operator_name"]).drop_duplicates("operator")
        self.names.update(zip(named.operator, named.operator_name, strict=True))

    def total(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame()
        whole = pd.concat(self.parts).groupby(level=[0, 1, 2], sort=True).sum()
        counts = [c for c in whole.columns if not c.startswith("m|")]
        whole[counts] = whole[counts].round().astype(np.int64)
        self.parts = [whole]
        return whole

    def tables(self, batch: int) -> dict[str, pd.DataFrame]:
        """The long tables record_group, record_cell, record_rule, record_measure."""
        whole = self.total()
        if whole.empty:
            return {}
        keys = whole.index.to_frame(index=False)
        keys.insert(0, "batch", batch)
        out = {"record_group": keys.assign(records=whole.records.to_numpy())}

        def long(
            prefixes: tuple[str, str, str],
            names: list[str],
            label: str,
            columns: tuple[str, str, str],
        ) -> pd.DataFrame:
            parts = []
            for name in names:
                part = keys.assign(**{label: name})
                for prefix, column in zip(prefixes, columns, strict=True):
                    if prefix:
                        part[column] = whole[f"{prefix}|{name}"].to_numpy()
                parts.append(part)
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

        measured = [f.name for f in self.schema.measured]
        out["record_cell"] = long(
            ("e", "f", "i"), measured, "field", ("expected", "filled", "invalid")
        )
        out["record_rule"] = long(
            ("j", "v", ""), [r.id for r in self.schema.rules], "rule", ("judged", "violated", "")
        )
        out["record_measure"] = long(
            ("m", "n", ""),
            [m.id for m in self.schema.measures],
            "measure",
            ("value", "evaluable", ""),
        )
        return {k: v for k, v in out.items() if not v.empty}


class _Reading:
    """One extract being read, chunk after chunk: its columns, the identifier check, each
    record read against the schema, the counts for the report and the cube."""

    def __init__(
        self,
        warehouse: Warehouse,
        schema: CollectionSchema,
        path: Path,
        first: Table,
        key: bytes,
        report: RecordsReport,
        operator: str | None = None,
    ) -> None:
        header = [str(c) for c in first.frame.columns]
        columns = _map_columns(schema, header, path, operator=operator)
        # one operator's extract without an operator column: every record is that operator's
        self.constant = operator if columns["operateur"] == OPERATOR_COLUMN else None
        self.schema, self.path, self.columns, self.report = schema, path, columns, report
        report.absent_fields = [f.name for f in schema.fields if f.name not in columns]
        used = set(columns.values())
        report.ignored_columns = [c for c in header if c not in used]
        hashed = [columns[f.name] for f in schema.fields if f.identifier and f.name in columns]
        if "personne" in columns:
            hashed.append(columns["personne"])
        self.hashed = report.hashed_columns = hashed
        self.skip_content = [*hashed, *(columns[r] for r in ("commune", "date")), OPERATOR_COLUMN]
        # a declared field whose values are checked (codes, numbers, dates) is not judged by
        # its name; the key columns neither
        self.skip_header = [
            *hashed,
            *(
                columns[f.name]
                for f in schema.fields
                if f.name in columns and not f.identifier and f.kind.value != "texte"
            ),
            *(columns[r] for r in schema.columns if r != "personne" and r in columns),
        ]
        self.resolve = _communes(warehouse)
        self.cube = _Cube(schema)
        self.scope: set[tuple[str, str]] = set()
        self.secret = secret_of(key)
        self.markers = sorted({fold(m, spaces=True) for m in schema.missing})

    def submit(
        self, pool: ProcessPoolExecutor | _Inline, table: Table
    ) -> dict[str, Future[np.ndarray]]:
        """Start hashing the identifier columns of ``table``."""
        return {
            column: pool.submit(
                hash_values, table.frame[column].to_numpy(dtype=object), self.secret, self.markers
            )
            for column in self.hashed
        }

    def read(self, table: Table, jobs: dict[str, Future[np.ndarray]]) -> Evaluated:
        frame = table.frame
        if self.constant is not None:
            frame = frame.assign(**{OPERATOR_COLUMN: self.constant})
        self.report.rows_read += len(frame)
        factorize = _factorizer(frame)
        findings = find_identifiers(
            frame,
            first_line=table.first_line,
            skip_content=self.skip_content,
            skip_header=self.skip_header,
            factorize=factorize,
        )
        if findings:
            raise _identifier_error(findings, self.path)

        def pseudonyms(values: pd.Series) -> pd.Series:
            hashed = pd.Series(jobs[str(values.name)].result(), index=frame.index, dtype=object)
            return hashed if len(hashed) == len(values) else hashed.loc[values.index]

        ev = evaluate_chunk(
            self.schema,
            frame,
            self.columns,
            first_line=table.first_line,
            communes=self.resolve,
            pseudonymise=pseudonyms,
            factorize=factorize,
        )
        _tally(self.report, ev)
        self.cube.add(ev)
        pairs = ev.keys[["operator", "month"]].drop_duplicates()
        self.scope.update(zip(pairs.operator, pairs.month, strict=True))
        return ev


# -- the import ------------------------------------------------------------------------------
def import_records(
    warehouse: Warehouse,
    path: str | Path,
    schema: CollectionSchema,
    *,
    key: bytes,
    dry_run: bool = False,
    partner: str | None = None,
    operator: str | None = None,
    user: str | None = None,
    on_progress: Callable[[float], None] = lambda _: None,
    chunk_rows: int = CHUNK_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
    received: str | None = None,
) -> RecordsReport:
    """Import one extract of ``schema``'s collection (see the module docstring).

    ``received`` (AAAA-MM-JJ): the day the extract was received, when it is imported later
    (its timeliness is judged from that day).

    ``key``: the observatory's pseudonymisation key (identifier columns are hashed with it).
    ``operator``: the operator of every record, for one operator's extract that has no
    operator column.
    """
    if operator is not None and not operator.strip():
        raise InputError("code d'opérateur vide")
    if received is not None:
        received = received_day(received)
    path, partner = check_deposit(warehouse, path, partner, max_bytes)
    sniff(path)
    # Pseudonyms of a large file are computed by a worker process (the second core), one chunk
    # ahead: while the main process reads chunk k + 1, the worker hashes it. The worker starts
    # now, while the file's digest is computed.
    parallel = path.stat().st_size > PARALLEL_BYTES and (os.cpu_count() or 1) > 1
    workers: ProcessPoolExecutor | _Inline = (
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        if parallel
        else _Inline()
    )
    workers.submit(hash_values, np.array([], dtype=object), b"", [])
    with workers as pool:
        return _import(
            warehouse,
            path,
            schema,
            key,
            pool,
            dry_run=dry_run,
            partner=partner,
            operator=operator.strip() if operator else None,
            user=user,
            on_progress=on_progress,
            chunk_rows=chunk_rows,
            max_bytes=max_bytes,
            received=received,
        )


def _import(
    warehouse: Warehouse,
    path: Path,
    schema: CollectionSchema,
    key: bytes,
    pool: ProcessPoolExecutor | _Inline,
    *,
    dry_run: bool,
    partner: str | None,
    operator: str | None,
    user: str | None,
    on_progress: Callable[[float], None],
    chunk_rows: int,
    max_bytes: int,
    received: str | None = None,
) -> RecordsReport:
    sha256, size = fingerprint(path, max_bytes)
    stream = open_table(path, expect=list(schema.columns.values()), chunk_rows=chunk_rows)
    chunks: Iterator[Table] = iter(stream)
    first = next(chunks)
    report = RecordsReport(path.name, sha256, size, schema.name, dry_run=dry_run)
    reading = _Reading(warehouse, schema, path, first, key, report, operator)
    cube = reading.cube
    dataset = dataset_of(schema.name)
    with open_batch(warehouse, dataset=dataset, sha256=sha256, dry_run=dry_run) as slot:
        tx, batch = slot.tx, slot.batch
        current: Table | None = first
        jobs = reading.submit(pool, first)
        for following in chain(chunks, [None]):
            following_jobs = reading.submit(pool, following) if following is not None else {}
            assert current is not None
            ev = reading.read(current, jobs)
            if tx is not None and len(ev.keys):
                write_records(
                    tx,
                    ev.keys[["line", "operator", "commune", "person"]].assign(
                        batch=batch, day=iso_text(ev.keys.day.to_numpy())
                    ),
                )
            on_progress(stream.fraction)
            current, jobs = following, following_jobs
        scope = reading.scope
        _summarise(report, cube, schema)
        if received is not None and report.months and received < f"{report.months[-1]}-01":
            raise InputError(
                f"reçue le {received}, une extraction qui contient des enregistrements de "
                f"{report.months[-1]} : date de réception impossible", path=path,
            )  # fmt: skip
        if not report.records_kept:
            raise InputError(
                "aucun enregistrement valide (opérateur, commune et date sont obligatoires) : "
                + "; ".join(f"{k} ({n})" for k, n in report.rejections.items()),
                path=path,
            )
        reader = warehouse if tx is None else tx
        check_owners(reader, schema.name, sorted({o for o, _ in scope}), partner, path)
        replaced = covered_imports(reader, schema.name, scope, path)
        report.replaced = replaced
        if slot.unchanged is not None:
            report.batch, report.unchanged = slot.unchanged, True
        if tx is not None and batch is not None:
            report.batch = batch
            _write(tx, schema, report, cube, scope, partner=partner, user=user,
                   received=received)
    return report


def _factorizer(frame: pd.DataFrame) -> Callable[[str], tuple[np.ndarray, Any]]:
    """Each column of a chunk factorised once (codes, distinct values), on demand."""
    done: dict[str, tuple[np.ndarray, Any]] = {}

    def factorize(column: str) -> tuple[np.ndarray, Any]:
        if column not in done:
            done[column] = pd.factorize(frame[column])
        return done[column]

    return factorize


class _Inline:
    """An executor that runs each task at once (small files: no worker process to start)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, function: Callable[..., np.ndarray], *args: object) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        future.set_result(function(*args))
        return future


def _identifier_error(findings: list, path: Path) -> InputError:
    first = findings[0]
    listed = "; ".join(f.message for f in findings)
    return InputError(
        f"identifiants directs dans l'extraction ({listed}). Les enregistrements doivent être "
        "pseudonymisés : supprimez ces colonnes, ou déclarez-les « identifiant: hacher » dans "
        "le schéma de la collection pour qu'elles soient remplacées par un pseudonyme",
        path=path,
        line=first.line,
        column=first.column,
    )


def _tally(report: RecordsReport, ev: Evaluated) -> None:
    report.records_kept += len(ev.keys)
    report.records_rejected += len(ev.rejected)
    for line, column, value, reason in ev.rejected:
        report.rejections[reason] = report.rejections.get(reason, 0) + 1
        if sum(1 for e in report.examples if e["reason"] == reason) < EXAMPLES:
            report.examples.append(
                {"line": line, "column": column, "value": printable(str(value)), "reason": reason}
            )
    for name, invalid in ev.invalid.items():
        count = int(invalid.sum())
        if count:
            report.invalid_cells[name] = report.invalid_cells.get(name, 0) + count
    for line, column, value, reason in ev.invalid_examples:
        if len(report.invalid_examples) < 4 * EXAMPLES:
            report.invalid_examples.append(
                {"line": line, "column": column, "value": printable(str(value)), "reason": reason}
            )
    for name, violated in ev.violated.items():
        report.violations[name] = report.violations.get(name, 0) + int(violated.sum())


def _summarise(report: RecordsReport, cube: _Cube, schema: CollectionSchema) -> None:
    whole = cube.total()
    if whole.empty:
        return
    expected_total, filled_total = 0.0, 0.0
    for spec in schema.measured:
        expected = float(whole[f"e|{spec.name}"].sum())
        filled = float(whole[f"f|{spec.name}"].sum())
        report.completeness[spec.name] = round(100 * filled / expected, 2) if expected else None
        expected_total += spec.weight * expected
        filled_total += spec.weight * filled
    report.score = round(100 * filled_total / expected_total, 2) if expected_total else None
    report.operators = sorted(whole.index.get_level_values(0).unique())
    report.months = sorted(whole.index.get_level_values(2).unique())


def _write(
    tx: Transaction,
    schema: CollectionSchema,
    report: RecordsReport,
    cube: _Cube,
    scope: set[tuple[str, str]],
    *,
    partner: str | None,
    user: str | None,
    received: str | None = None,
) -> None:
    batch = report.batch
    assert batch is not None
    for old in report.replaced:
        set_status(tx, old, "replaced")
    register_operators(tx, schema.name, cube.names, sorted({o for o, _ in scope}), partner)
    months = report.months
    edition = f"{months[0]}…{months[-1]}" if months[0] != months[-1] else months[0]
    schema_text = Path(schema.origin).read_bytes() if Path(schema.origin).is_file() else b""
    BatchRow(
        id=batch,
        dataset=dataset_of(schema.name),
        edition=edition,
        connector=CONNECTOR,
        producer=", ".join(report.operators[:5]) + (" …" if len(report.operators) > 5 else ""),
        partner=partner,
        level="commune",
        periods=" ".join(sorted({m[:4] for m in months})),
        file_name=report.file,
        sha256=report.sha256,
        size=report.size,
        descriptor=f"{schema.origin} (sha256 {hashlib.sha256(schema_text).hexdigest()[:12]})",
        imported_by=user,
        rows_read=report.rows_read,
        rows_imported=report.records_kept,
        rows_rejected=report.records_rejected,
        report=report.to_json(),
        confidentiality="partenaire",
        licence="",
        frequency="",
        received_at=received,
    ).write(tx)
    write_cube(
        tx,
        batch,
        schema.name,
        pd.DataFrame(sorted(scope), columns=["operator", "month"]),
        cube.tables(batch),
    )
    publish_measures(tx, schema)
