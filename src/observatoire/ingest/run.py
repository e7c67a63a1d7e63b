"""One import under way (:func:`observatoire.ingest.pipeline.import_file`): its chunks'
values written as they come, the rows that may need a geography conversion held until the end
and converted, the catalogue's variables derived from a long file's dimensions, the counts for
the report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.catalog.vocabulary import SeriesKey, Vocabulary
from observatoire.ingest.checks import SERIES_KEY, VALUE_COLUMNS, ChunkRows, KeySet, ReferenceCodes
from observatoire.ingest.connectors import Layout
from observatoire.ingest.qpv import QpvBuilder, missing_note, new_qpv
from observatoire.ingest.report import ImportReport, Tally
from observatoire.ingest.tables import Table
from observatoire.ingest.vocabulary import derivations
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.territories import fallback_passage, has_cog, load_vintages
from observatoire.store.values import write_derived, write_series
from observatoire.territories.vintages import convert_long

__all__ = ["Derived", "ImportRun"]


@dataclasses.dataclass(frozen=True)
class Derived:
    """A catalogue variable a vocabulary made of an import's dimensions, for one period."""

    variable: str
    period: str
    label: str
    kind: str
    vocabulary: str


class ImportRun:
    """One import under way: the chunks' values written as they come, the rows that may need a
    geography conversion held until the end, the counts for the report."""

    def __init__(self, warehouse: Warehouse, layout: Layout, reference: ReferenceCodes, *,
                 extends_referential: bool = True) -> None:  # fmt: skip
        self.warehouse = warehouse
        self.layout = layout
        self.reference = reference
        self.tally = Tally()
        self.keys = KeySet()
        self.held: list[pd.DataFrame] = []
        self.values_stored = 0
        self.batch: int | None = None
        self.converted_from: int | None = None
        self.series: dict[tuple[str, ...], int] = {}
        self.next_series = 0
        # whether QPV the file names may be added to the referential: not by a partner's
        # file that no analyst accepted (the referential is the observatory's)
        self.extends_referential = extends_referential
        self._qpv: QpvBuilder | None = None
        self.qpv_added = 0
        self.qpv_missing: list[str] = []

    def add(self, table: Table, tx: Transaction | None) -> None:
        if self.layout.level == "qpv" and self.extends_referential:
            self._add_qpv(table, tx)
        rows = ChunkRows(table, self.layout, self.reference, self.tally)
        rows.check_codes(self.keys)
        values = rows.values()
        if table.footer:
            self.tally.footer = table.footer
        if self.reference.changing or self.reference.past:
            held = values.code.isin(self.reference.changing | self.reference.past).to_numpy()
            if held.any():
                self.held.append(_plain(values[held]))
                values = values[~held]
        self._write(values, tx)

    def _add_qpv(self, table: Table, tx: Transaction | None) -> None:
        """The QPV of this chunk the referential does not know yet, added to it in the
        import's transaction (:mod:`observatoire.ingest.qpv`)."""
        if self._qpv is None:
            self._qpv = QpvBuilder(self.warehouse)
        added = new_qpv(self._qpv, table, self.layout, self.reference.known)
        self.reference.known |= added.codes
        self.qpv_added += len(added.codes)
        self.qpv_missing += added.missing
        if tx is not None:
            added.write(tx)

    def qpv_notes(self, dry_run: bool) -> list[str]:
        """What the import does to the QPV level, for the report."""
        if not self.qpv_added:
            return []
        verb = "seraient ajoutés" if dry_run else "ajoutés"
        notes = [f"{self.qpv_added} QPV {verb} au référentiel (niveau qpv), d'après ce fichier"]
        return notes + ([missing_note(self.qpv_missing)] if self.qpv_missing else [])

    def _write(self, values: pd.DataFrame, tx: Transaction | None) -> None:
        """Store values: each row goes to its series (created on first use), in one insert."""
        self.values_stored += int((values.geography == "current").sum())
        if not len(values):
            return
        groups = values.groupby(SERIES_KEY, observed=True, sort=False, dropna=False)
        index = groups.ngroup().to_numpy()
        _, first = np.unique(index, return_index=True)
        keys = values[SERIES_KEY].iloc[first].astype(object).itertuples(index=False, name=None)
        ids = np.empty(len(first), dtype=np.int64)
        new = []
        for position, raw in enumerate(keys):
            key = tuple("" if pd.isna(k) else str(k) for k in raw)
            if key not in self.series:
                self.series[key] = self.next_series + len(self.series)
                new.append((self.series[key], *key))
            ids[position] = self.series[key]
        if tx is None:  # a dry run: the series are known (for the derivations), not written
            return
        series = pd.DataFrame(new, columns=["id", *SERIES_KEY]).assign(batch=self.batch)
        cells = values[["code", "value", "status", "note"]].assign(series=ids[index])
        # in code order: a territory's values then sit in a few row groups, found from their
        # zone maps by the reads of one territory (indicators linked to their series are
        # read there: a commune's profile among 7.8 M values, 17 ms → 2.4 ms)
        write_series(tx, series, cells.sort_values("code", kind="stable"))

    def finish(self, tx: Transaction | None) -> None:
        """Write the rows held back: converted if the file is in a past geography."""
        if not self.held:
            return
        held = pd.concat(self.held, ignore_index=True)
        self.held = []
        if self.tally.past_codes:
            held = self._convert(held)
        self._write(held, tx)

    def derive(self, tx: Transaction | None, vocabularies: list[Vocabulary]) -> list[Derived]:
        """The catalogue's variables the vocabularies make of this import's series (totals of
        a long file's dimensions), written in the import's transaction."""
        keys = [SeriesKey(i, *key[:4]) for key, i in self.series.items() if key[4] == "current"]
        counts = {c.variable for c in self.layout.columns if c.additive}
        found, why = derivations(vocabularies, keys, counts)
        rows, sources, derived = [], [], []
        for vocabulary, made in found:
            key = (made.target, made.level, made.period, "", "current")
            if key in self.series:
                continue
            self.series[key] = self.next_series + len(self.series)
            rows.append((self.series[key], *key))
            sources.append(made.sources)
            derived.append(Derived(made.target, made.period, vocabulary.labels[made.target],
                                   vocabulary.kinds[made.target], vocabulary.name))  # fmt: skip
        if tx is not None:
            frame = pd.DataFrame(rows, columns=["id", *SERIES_KEY]).assign(batch=self.batch)
            write_derived(tx, frame, sources)
        targets = sorted({d.variable for d in derived})
        if targets:
            names = sorted({d.vocabulary for d in derived})
            self.tally.note(f"variables du catalogue dérivées des dimensions (vocabulaire "
                            f"{', '.join(names)}) : {', '.join(targets)}", 0)  # fmt: skip
        for reason in why:
            self.tally.note(reason, 0)
        return derived

    def _convert(self, long: pd.DataFrame) -> pd.DataFrame:
        """Values of a past geography, converted to the current one.

        Only the territories that changed are converted; their sources are also kept as
        published (``geography = 'published'``). Unchanged territories are stored once, as
        current.
        """
        layout = self.layout
        at_level = (long.level == layout.level).to_numpy()
        codes = sorted(long.code[at_level].unique())
        if layout.level == "iris":  # IRIS of merged or recoded communes (ReferenceCodes)
            moves = self.reference.moves
            held = sorted((set(codes) | self.reference.expected) - set(moves))
            passage = pd.DataFrame(
                {
                    "old_code": [*moves, *held],
                    "new_code": [*moves.values(), *held],
                    "weight": 1.0,
                    "estimated": False,
                }
            )
            targets = set(passage.new_code[passage.old_code.isin(codes)])
            passage = passage[passage.new_code.isin(targets)]
        elif has_cog(self.warehouse):
            vintages = load_vintages(self.warehouse)
            year = vintages.infer_year(codes)
            passage = vintages.passage_into(year, codes)
            self.converted_from = year
        else:
            passage = fallback_passage(self.warehouse)
            reached = set(passage.new_code[passage.old_code.isin(codes)])
            passage = passage[passage.new_code.isin(reached)]
        sources = passage.groupby("new_code").old_code.transform("size")
        moved = (passage.old_code != passage.new_code) | (passage.weight != 1) | (sources > 1)
        changed = passage[passage.new_code.isin(set(passage.new_code[moved]))]
        touched = long.code.isin(set(changed.old_code)).to_numpy() & at_level
        additive = {c.variable for c in layout.columns if c.additive}
        converted = convert_long(long[touched], changed, additive=additive)
        converted = converted.assign(level=layout.level, geography="current")
        published = long[touched].assign(geography="published")
        return pd.concat([long[~touched], published, converted], ignore_index=True)[VALUE_COLUMNS]

    def report(self, path: Path, sha256: str, size: int) -> ImportReport:
        layout, tally = self.layout, self.tally
        return ImportReport(
            file=path.name,
            sha256=sha256,
            size=size,
            connector=layout.connector,
            producer=layout.producer,
            dataset=layout.dataset,
            level=layout.level,
            periods=sorted(tally.periods) if layout.period_column else layout.periods,
            rows_read=tally.rows_read,
            rows_imported=tally.rows_kept,
            rows_rejected=tally.rows_rejected,
            cells_rejected=tally.cells_rejected,
            values_stored=self.values_stored,
            statuses=dict(tally.statuses),
            completeness=tally.completeness([c.column for c in layout.columns]),
            variables_created=[],
            variables_updated=[],
            converted_from=self.converted_from,
            converted_codes=tally.past_codes,
            rejections=dict(tally.reasons),
            examples=list(tally.examples),
            footer_lines=tally.footer,
            notes=[f"{text} ({n} lignes)" if n > 1 else text for text, n in tally.notes.items()],
            batch=self.batch,
        )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain text (for the few rows grouped by a conversion)."""
    return frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"})
