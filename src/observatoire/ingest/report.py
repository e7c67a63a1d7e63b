"""What an import did: the validation report, and the tally it is built from chunk by chunk."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from observatoire.errors import printable

__all__ = ["EXAMPLES_PER_REASON", "ImportReport", "Rejection", "Tally"]

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
    footer_lines: list[str] = field(default_factory=list)
    # what the reader should know that is neither a rejection nor a count: rows of an
    # aggregate left out, territories added to the referential, names read as codes
    notes: list[str] = field(default_factory=list)
    batch: int | None = None
    replaced: int | None = None
    dry_run: bool = False
    unchanged: bool = False
    # a partner's file that an analyst must accept before it is imported (ingest.ownership)
    proposal: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


@dataclass
class Tally:
    """Counts gathered over the chunks of a file, turned into an :class:`ImportReport`."""

    rows_read: int = 0
    rows_rejected: int = 0
    cells_rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[Rejection] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    ok_cells: dict[str, int] = field(default_factory=dict)
    periods: set[str] = field(default_factory=set)
    past_codes: int = 0
    footer: list[str] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)  # a note → how many rows it concerns
    _shown: dict[str, int] = field(default_factory=dict)

    def reject(self, line: int, column: str, value: str | None, reason: str) -> None:
        """Count one rejection; keep it as an example while there are few of its kind.

        ``value`` is only built for the examples kept (``None`` when the caller defers it).
        """
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if self._shown.get(reason, 0) < EXAMPLES_PER_REASON:
            self._shown[reason] = self._shown.get(reason, 0) + 1
            shown = Rejection(line, printable(column), _shortened(printable(value or "")),
                              reason)  # fmt: skip
            self.examples.append(shown)

    def note(self, text: str, rows: int = 1) -> None:
        """A remark on ``rows`` rows (an aggregate line left out…), counted by its text."""
        self.notes[text] = self.notes.get(text, 0) + rows

    def wants_example(self, reason: str) -> bool:
        return self._shown.get(reason, 0) < EXAMPLES_PER_REASON

    def add_statuses(self, column: str, counts: dict[str, int]) -> None:
        for status, n in counts.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.ok_cells[column] = self.ok_cells.get(column, 0) + counts.get("ok", 0)

    @property
    def rows_kept(self) -> int:
        return self.rows_read - self.rows_rejected

    def completeness(self, columns: list[str]) -> dict[str, float]:
        kept = self.rows_kept
        return {c: round(self.ok_cells.get(c, 0) / kept, 4) if kept else 0.0 for c in columns}


def _shortened(value: str, keep: int = 120) -> str:
    """A rejected value as an example shows it: its start, and its length when longer.

    >>> _shortened("12,5x"), _shortened("9" * 200, keep=10)
    ('12,5x', '9999999999… (200 caractères)')
    """
    return value if len(value) <= keep else f"{value[:keep]}… ({len(value)} caractères)"
