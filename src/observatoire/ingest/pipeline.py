"""The import pipeline: a producer's file in, a validation report out, values stored atomically.

Steps: check the file (size, SHA-256, zip sanity) → read it (:mod:`~observatoire.ingest.tables`)
→ recognise its format (:mod:`~observatoire.ingest.connectors`) → normalise and check the codes
against the referential → parse every cell (numbers, secret markers) → convert values published
in a past geography → report → write everything in one transaction (unless ``dry_run``).

Re-importing the same dataset and edition creates a new version; the previous one is kept as
``replaced`` and comes back with :func:`rollback`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.catalog.numbers import ParsedColumn, parse_numbers
from observatoire.catalog.statuses import ValueStatus
from observatoire.errors import FileFormatError, InputError, ReferentialError
from observatoire.ingest.connectors import CODE_COLUMNS, Connector, Layout, recognise
from observatoire.ingest.tables import Table, find_column, read_table
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.partners import require_partner
from observatoire.store.territories import codebook, fallback_passage, load_vintages
from observatoire.territories.codes import CodeBook, CodeStatus, normalise_codes
from observatoire.territories.vintages import convert_long

__all__ = ["ImportReport", "Rejection", "import_file", "rollback"]

# Imports are read in memory (about ten times the file's size at the peak): beyond this size a
# file is refused with a clear message rather than exhausting the machine.
MAX_FILE_BYTES = 1024**3
MAX_ZIP_MEMBERS = 200
MAX_ZIP_RATIO = 200  # uncompressed / compressed; beyond, a zip bomb is suspected
MAX_UNCOMPRESSED = 4 * 1024**3
EXAMPLES_PER_REASON = 20


@dataclass
class Rejection:
    """One rejected row or cell, where it was and why."""

    line: int
    column: str
    value: str
    reason: str


@dataclass
class ImportReport:
    """What an import did, or would do with ``dry_run``. Serialisable as JSON."""

    file: str
    sha256: str
    size: int
    connector: str
    producer: str
    dataset: str
    level: str
    periods: list[str]
    rows_read: int
    rows_imported: int
    rows_rejected: int
    cells_rejected: int
    values_stored: int
    statuses: dict[str, int]
    completeness: dict[str, float]
    variables_created: list[str]
    variables_updated: list[str]
    converted_from: int | None = None
    converted_codes: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    examples: list[Rejection] = field(default_factory=list)
    batch: int | None = None
    replaced: int | None = None
    dry_run: bool = False
    unchanged: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size, streamed (a 2 GB file is never held in memory for this)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check_archive(path: Path) -> None:
    """Refuse zips with too many members or an implausible compression ratio (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"archive zip illisible ({exc})", path=path) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise FileFormatError(f"archive de {len(infos)} fichiers : trop de membres", path=path)
    packed = sum(i.compress_size for i in infos) or 1
    unpacked = sum(i.file_size for i in infos)
    if unpacked > min(MAX_UNCOMPRESSED, MAX_FILE_BYTES) or unpacked / packed > MAX_ZIP_RATIO:
        raise FileFormatError(
            f"archive suspecte : {unpacked / 1e6:.0f} Mo décompressés pour {packed / 1e6:.1f} Mo "
            "(bombe zip ?)",
            path=path,
        )


def import_file(
    warehouse: Warehouse,
    path: str | Path,
    *,
    dry_run: bool = False,
    connector: str | Connector | None = None,
    level: str | None = None,
    partner: str | None = None,
    user: str | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> ImportReport:
    """Import one file (see the module docstring); returns its report."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError("fichier introuvable", path=path)
    if warehouse.count("territory", "level = 'commune'") == 0:
        raise ReferentialError("référentiel absent : lancez « observatoire init »")
    if partner is not None:
        partner = require_partner(warehouse, partner)
    size_on_disk = path.stat().st_size
    if size_on_disk > MAX_FILE_BYTES:
        raise FileFormatError(
            f"fichier de {size_on_disk / 1024**3:.1f} Go : au-delà de "
            f"{MAX_FILE_BYTES / 1024**3:.0f} Go, découpez-le (par année ou par département) "
            "avant de l'importer",
            path=path,
        )
    on_step("empreinte du fichier")
    sha256, size = file_digest(path)
    if path.suffix.lower() == ".zip":
        check_archive(path)
    on_step("lecture")
    expect = (
        connector.header_names() if isinstance(connector, Connector) else (*CODE_COLUMNS, "COD_VAR")
    )
    table = read_table(path, expect=expect)
    if table.has("COD_VAR") and table.has("LIB_VAR"):
        return _import_dictionary(warehouse, table, sha256, size, dry_run=dry_run)
    layout = recognise(table, connector=connector)
    if level is not None:
        layout.level = level
    on_step(f"format reconnu : {layout.connector} ({layout.level})")
    labels = {column: (label, label) for column, label in layout.labels.items()}
    labels.update(_dictionary_labels(path))
    rows = _Rows(table, layout)
    rows.check_codes(warehouse)
    on_step("valeurs")
    long = rows.values()
    report = rows.report(path, sha256, size)
    report.dry_run = dry_run
    if layout.period_column:
        report.periods = sorted(set(long.period.dropna()))
    past = rows.past_geography()
    if past is not None:
        on_step("conversion vers la géographie actuelle")
        long = _convert(warehouse, long, past, layout, report)
    existing = set(warehouse.query("SELECT id FROM variable").id)
    variables = sorted({c.variable for c in layout.columns})
    report.variables_created = [v for v in variables if v not in existing]
    report.variables_updated = [v for v in variables if v in existing]
    report.values_stored = int((long.geography == "current").sum())
    if dry_run:
        return report
    on_step("écriture")
    _write(warehouse, layout, long, report, labels, partner=partner, user=user)
    return report


class _Rows:
    """The rows of a recognised table, their codes, cells and rejections."""

    def __init__(self, table: Table, layout: Layout) -> None:
        self.table = table
        self.layout = layout
        self.rejections: list[Rejection] = []
        self.counts: dict[str, int] = {}
        raw = table.frame[layout.code_column].map(lambda c: layout.code_map.get(c, c))
        self.codes, bad = normalise_codes(raw, layout.level)
        self.keep = np.ones(len(raw), dtype=bool)
        for position in bad:
            self._reject(
                int(position), layout.code_column, str(raw.iloc[position]), "code mal formé"
            )
        self.status = np.full(len(raw), CodeStatus.CURRENT.value, dtype=object)
        self.levels = np.full(len(raw), layout.level, dtype=object)
        self.cells_rejected = 0

    def _reject(
        self, position: int, column: str, value: str, reason: str, *, row: bool = True
    ) -> None:
        if row:
            self.keep[position] = False
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if sum(1 for r in self.rejections if r.reason == reason) < EXAMPLES_PER_REASON:
            self.rejections.append(Rejection(self.table.line_of(position), column, value, reason))

    def check_codes(self, warehouse: Warehouse) -> None:
        """Vectorised: current codes pass, arrondissements municipaux in commune files go to
        the ``arm`` level, codes of a past geography are marked for conversion, unknown codes
        and duplicates are rejected."""
        level = self.layout.level
        column = self.layout.code_column
        codes = self.codes
        book: CodeBook | None = None
        if level in ("commune", "iris"):  # the COG history is read only where it serves
            book = codebook(warehouse, "commune")
            arm = set(warehouse.query("SELECT code FROM territory WHERE level = 'arm'").code)
            communes = set(book.current) | arm
        if level == "commune" and book is not None:
            self.levels[codes.isin(arm).to_numpy()] = "arm"
            current = codes.isin(communes).to_numpy()
            past = codes.isin(set(book.past)).to_numpy() & ~current
            self.status[past] = CodeStatus.PAST.value
            unknown = ~current & ~past
        elif level == "iris" and book is not None:
            iris = set(warehouse.query("SELECT code FROM territory WHERE level = 'iris'").code)
            if iris:
                unknown = ~codes.isin(iris).to_numpy()
            else:
                prefix = codes.str[:5]
                unknown = ~(prefix.isin(communes) | prefix.isin(set(book.past))).to_numpy()
        else:
            known = warehouse.query("SELECT code FROM territory WHERE level = ?", [level]).code
            unknown = ~codes.isin(set(known)).to_numpy()
        rejected = np.flatnonzero(unknown & self.keep)
        hints = None
        if len(rejected) and level != "iris":  # nearest codes, only when some are unknown
            hints = book if book is not None else codebook(warehouse, level)
        for position in rejected:
            code = codes.iloc[position]
            shown = code
            if hints is not None and self.counts.get("code inconnu", 0) < EXAMPLES_PER_REASON:
                close = hints.nearest(code)
                shown = f"{code} (proches : {', '.join(close)})" if close else code
            self._reject(int(position), column, shown, "code inconnu")
        key = codes
        if self.layout.period_column:
            key = key + "|" + self.table.frame[self.layout.period_column].str.strip()
        if self.layout.dim_columns:
            key = key + "|" + pd.Series(self.dims(), index=key.index)
        duplicated = key.duplicated() & pd.Series(self.keep)
        for position in np.flatnonzero(duplicated.to_numpy()):
            self._reject(int(position), column, codes.iloc[position], "code en double")

    def past_geography(self) -> np.ndarray | None:
        mask = self.keep & (self.status == CodeStatus.PAST.value)
        return mask if mask.any() else None

    def values(self) -> pd.DataFrame:
        """Parse every kept cell: numbers and statuses, with the cell-level checks (not a
        number, negative count, out of range, a part larger than its total)."""
        keep = np.flatnonzero(self.keep)
        frames = []
        self.statuses: dict[str, int] = {}
        self.completeness: dict[str, float] = {}
        layout = self.layout
        periods = (
            self.table.frame[layout.period_column].iloc[keep].str.strip().to_numpy()
            if layout.period_column
            else None
        )
        dims = self.dims()[keep]
        parsed_by_column = {}
        for spec in layout.columns:
            cells = self.table.frame[spec.column].iloc[keep]
            parsed = parse_numbers(cells, empty=layout.empty, markers=layout.markers)
            parsed_by_column[spec.column] = parsed
            self._drop(parsed.invalid, keep, spec.column, cells, parsed, "valeur non numérique")
            if spec.additive:
                self._drop(
                    np.flatnonzero(parsed.values < 0),
                    keep,
                    spec.column,
                    cells,
                    parsed,
                    "comptage négatif",
                )
            bounds, total = layout.checks.get(spec.column, (None, None))
            if bounds is not None:
                low, high = bounds
                outside = np.flatnonzero((parsed.values < low) | (parsed.values > high))
                self._drop(
                    outside,
                    keep,
                    spec.column,
                    cells,
                    parsed,
                    f"valeur hors de l'intervalle [{low:g} ; {high:g}]",
                )
            if total is not None:
                whole = parsed_by_column.get(total) or parse_numbers(
                    self.table.frame[total].iloc[keep], empty=layout.empty, markers=layout.markers
                )
                larger = np.flatnonzero(parsed.values > whole.values)
                self._drop(
                    larger,
                    keep,
                    spec.column,
                    cells,
                    parsed,
                    f"partie supérieure à son total ({total})",
                )
            statuses = parsed.statuses
            frames.append(
                pd.DataFrame(
                    {
                        "variable": spec.variable,
                        "level": self.levels[keep],
                        "code": self.codes.iloc[keep].to_numpy(),
                        "period": periods if periods is not None else spec.period,
                        "dims": dims,
                        "value": parsed.values,
                        "status": statuses,
                    }
                )
            )
            ok = int((statuses == ValueStatus.OK.value).sum())
            self.completeness[spec.column] = round(ok / len(keep), 4) if len(keep) else 0.0
            for status, n in pd.Series(statuses).value_counts().items():
                self.statuses[str(status)] = self.statuses.get(str(status), 0) + int(n)
        long = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(
                columns=["variable", "level", "code", "period", "dims", "value", "status"]
            )
        )
        long["geography"] = "current"
        long["note"] = None
        return long

    def dims(self) -> np.ndarray:
        """Each row's dimensions in canonical form (sorted ``name=value`` joined by ``|``)."""
        columns = sorted(self.layout.dim_columns)
        if not columns:
            return np.full(len(self.keep), "", dtype=object)
        joined = columns[0] + "=" + self.table.frame[columns[0]].str.strip()
        for column in columns[1:]:
            joined = joined + "|" + column + "=" + self.table.frame[column].str.strip()
        return joined.to_numpy(dtype=object)

    def _drop(
        self,
        positions: np.ndarray,
        keep: np.ndarray,
        column: str,
        cells: pd.Series,
        parsed: ParsedColumn,
        reason: str,
    ) -> None:
        """Reject cells (not their row): no value, status missing, reported."""
        for position in positions:
            self._reject(int(keep[position]), column, str(cells.iloc[position]), reason, row=False)
        parsed.values[positions] = np.nan
        parsed.statuses[positions] = ValueStatus.MISSING.value
        self.cells_rejected += len(positions)

    def report(self, path: Path, sha256: str, size: int) -> ImportReport:
        layout = self.layout
        rejected_rows = int((~self.keep).sum())
        return ImportReport(
            file=path.name,
            sha256=sha256,
            size=size,
            connector=layout.connector,
            producer=layout.producer,
            dataset=layout.dataset,
            level=layout.level,
            periods=layout.periods,
            rows_read=len(self.keep),
            rows_imported=len(self.keep) - rejected_rows,
            rows_rejected=rejected_rows,
            cells_rejected=self.cells_rejected,
            values_stored=0,
            statuses=self.statuses,
            completeness=self.completeness,
            variables_created=[],
            variables_updated=[],
            rejections=dict(self.counts),
            examples=list(self.rejections),
        )


def _convert(
    warehouse: Warehouse, long: pd.DataFrame, past: np.ndarray, layout: Layout, report: ImportReport
) -> pd.DataFrame:
    """Values of a file in a past geography, converted to the current one.

    Only the territories that changed are converted; their sources are also kept as published
    (``geography = 'published'``). Unchanged territories are stored once, as current.
    """
    at_level = (long.level == layout.level).to_numpy()
    codes = sorted(long.code[at_level].unique())
    if warehouse.count("cog_event"):
        vintages = load_vintages(warehouse)
        year = vintages.infer_year(codes)
        passage = vintages.passage(year, codes=codes)
        report.converted_from = year
    else:
        passage = fallback_passage(warehouse)
        passage = passage[passage.old_code.isin(codes)]
    sources = passage.groupby("new_code").old_code.transform("size")
    moved = (passage.old_code != passage.new_code) | (passage.weight != 1) | (sources > 1)
    changed = passage[passage.new_code.isin(set(passage.new_code[moved]))]
    touched = long.code.isin(set(changed.old_code)).to_numpy() & at_level
    additive = {c.variable for c in layout.columns if c.additive}
    converted = convert_long(long[touched], changed, additive=additive)
    converted = converted.assign(level=layout.level, geography="current")
    published = long[touched].assign(geography="published")
    report.converted_codes = int(past.sum())
    return pd.concat([long[~touched], published, converted], ignore_index=True)


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
        str(c): (str(s), str(lg))
        for c, s, lg in zip(unique[code], unique[short], unique[long], strict=True)
    }


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
        kept = tx.query("SELECT * FROM variable_label")
        kept = kept[~kept.column_name.isin(set(frame.column_name))]
        tx.replace("variable_label", pd.concat([kept, frame], ignore_index=True))
        _refresh_labels(tx)
    report.variables_updated = sorted(labels)
    return report


_LABELLED = (
    "FROM batch_column b JOIN variable_label l ON l.column_name = b.column_name "
    "WHERE b.variable = variable.id"
)


def _refresh_labels(tx: Transaction) -> None:
    """Give variables the label of any dictionary entry of a column that fed them."""
    tx.execute(
        f"UPDATE variable SET label = (SELECT MIN(l.label) {_LABELLED}) "
        f"WHERE EXISTS (SELECT 1 {_LABELLED})"
    )


def _write(
    warehouse: Warehouse,
    layout: Layout,
    long: pd.DataFrame,
    report: ImportReport,
    labels: dict[str, tuple[str, str]],
    *,
    partner: str | None,
    user: str | None,
) -> None:
    edition = (
        max(layout.periods, key=lambda p: sum(c.period == p for c in layout.columns))
        if layout.periods
        else max(report.periods, default="")
    )
    same = warehouse.query(
        "SELECT id FROM import_batch WHERE dataset = ? AND edition = ? AND status = 'active' "
        "AND sha256 = ?",
        [layout.dataset, edition, report.sha256],
    )
    if len(same):  # the very same file is already in force: nothing to do
        report.batch, report.unchanged = int(same.id.iloc[0]), True
        return
    with warehouse.transaction() as tx:
        batch = int(tx.query("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM import_batch").n.iloc[0])
        previous = tx.query(
            "SELECT id FROM import_batch WHERE dataset = ? AND edition = ? AND status = 'active'",
            [layout.dataset, edition],
        )
        if len(previous):
            report.replaced = int(previous.id.iloc[0])
            tx.execute(
                "UPDATE import_batch SET status = 'replaced' WHERE id = ?", [report.replaced]
            )
        report.batch = batch
        tx.insert(
            "import_batch",
            pd.DataFrame(
                [
                    {
                        "id": batch,
                        "dataset": layout.dataset,
                        "edition": edition,
                        "connector": layout.connector,
                        "producer": layout.producer,
                        "partner": partner,
                        "level": layout.level,
                        "periods": " ".join(layout.periods),
                        "file_name": report.file,
                        "sha256": report.sha256,
                        "size": report.size,
                        "descriptor": layout.descriptor,
                        "imported_by": user or _user(),
                        "imported_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
                        "status": "active",
                        "rows_read": report.rows_read,
                        "rows_imported": report.rows_imported,
                        "rows_rejected": report.rows_rejected,
                        "geography_year": report.converted_from,
                        "report": report.to_json(),
                    }
                ]
            ),
        )
        specs = {c.variable: c for c in layout.columns}
        stored = tx.query("SELECT id, label FROM variable")
        old_labels = dict(zip(stored.id, stored.label, strict=True))
        variables = pd.DataFrame(
            [
                {
                    "id": v,
                    "source": s.source,
                    "code": s.code,
                    "label": labels.get(s.column, (None,))[0] or old_labels.get(v),
                    "additive": s.additive,
                    "producer": layout.producer,
                }
                for v, s in specs.items()
            ]
        )
        tx.execute(
            "DELETE FROM variable WHERE id IN (" + ", ".join("?" for _ in specs) + ")", list(specs)
        )
        tx.insert("variable", variables)
        tx.insert(
            "batch_column",
            pd.DataFrame(
                {
                    "batch": batch,
                    "column_name": [c.column for c in layout.columns],
                    "variable": [c.variable for c in layout.columns],
                    "period": [c.period for c in layout.columns],
                }
            ),
        )
        tx.insert(
            "observation",
            _compact(long.assign(batch=batch))[
                [
                    "batch",
                    "variable",
                    "level",
                    "code",
                    "period",
                    "dims",
                    "value",
                    "status",
                    "geography",
                    "note",
                ]
            ],
        )
        _refresh_labels(tx)


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Repetitive text columns as categories: the warehouse reads them several times faster."""
    repetitive = [
        c for c in ("variable", "level", "period", "status", "geography", "note") if c in frame
    ]
    return frame.astype({c: "category" for c in repetitive})


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "inconnu"


def rollback(warehouse: Warehouse, batch: int) -> tuple[int, int | None]:
    """Withdraw import ``batch``; the version it replaced (if any) becomes active again.

    Returns (batch, restored batch or None).
    """
    rows = warehouse.query(
        "SELECT dataset, edition, status FROM import_batch WHERE id = ?", [batch]
    )
    if rows.empty:
        raise InputError(f"import n° {batch} inconnu (voir « observatoire imports list »)")
    if rows.status.iloc[0] != "active":
        raise InputError(
            f"l'import n° {batch} n'est pas en vigueur (statut : {rows.status.iloc[0]})"
        )
    dataset, edition = rows.dataset.iloc[0], rows.edition.iloc[0]
    with warehouse.transaction() as tx:
        tx.execute("UPDATE import_batch SET status = 'rolled_back' WHERE id = ?", [batch])
        previous = tx.query(
            "SELECT MAX(id) AS id FROM import_batch WHERE dataset = ? AND edition = ? "
            "AND status = 'replaced' AND id < ?",
            [dataset, edition, batch],
        )
        restored = previous.id.iloc[0]
        if pd.notna(restored):
            tx.execute("UPDATE import_batch SET status = 'active' WHERE id = ?", [int(restored)])
            return batch, int(restored)
    return batch, None
