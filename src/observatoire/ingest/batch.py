"""What the two import pipelines share — a producer's statistics (:mod:`.pipeline`) and an
operators' extract of records (:mod:`.records`) are both *imports*, rows of the ledger
:mod:`observatoire.store.batches`:

    path, partner = check_deposit(warehouse, path, partner, max_bytes)   # before reading it
    sha256, size = fingerprint(path, max_bytes)
    with open_batch(warehouse, dataset=..., sha256=sha256, dry_run=...) as slot:
        ...                                     # slot.tx is None when nothing is written
        BatchRow(id=slot.batch, dataset=..., ...).write(slot.tx)
    with withdrawing(warehouse, batch) as (tx, row):
        ...                                     # put back what the import replaced
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from observatoire.errors import FileFormatError, InputError, ReferentialError
from observatoire.ingest.archives import check_archive
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.batches import active_batch, batch_record, insert_batch, next_id, set_status
from observatoire.store.partners import require_partner
from observatoire.store.territories import has_communes

__all__ = [
    "BatchRow",
    "BatchSlot",
    "check_deposit",
    "file_digest",
    "fingerprint",
    "open_batch",
    "withdrawing",
]


# -- the deposit ---------------------------------------------------------------------------
def check_deposit(
    warehouse: Warehouse, path: str | Path, partner: str | None, max_bytes: int
) -> tuple[Path, str | None]:
    """What every import checks first: the file exists and is not too large, the referential
    is built, the partner is known (its canonical code is returned)."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError("fichier introuvable", path=path)
    if not has_communes(warehouse):
        raise ReferentialError("référentiel absent : lancez « observatoire init »")
    if partner is not None:
        partner = require_partner(warehouse, partner)
    size_on_disk = path.stat().st_size
    if size_on_disk > max_bytes:
        raise FileFormatError(
            f"fichier de {size_on_disk / 1024**3:.1f} Go : au-delà de "
            f"{max_bytes / 1024**3:.0f} Go, découpez-le (par année ou par département) "
            "avant de l'importer",
            path=path,
        )
    return path, partner


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size, streamed (a 2 GB file is never held in memory for this)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fingerprint(path: Path, max_bytes: int) -> tuple[str, int]:
    """The file's SHA-256 and size; a zip is checked first for bombs (:mod:`.archives`)."""
    found = file_digest(path)
    if path.suffix.lower() == ".zip":
        check_archive(path, max_bytes)
    return found


def _current_user() -> str:
    """Who runs the import, for the ledger when no user is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "inconnu"


def _now_text() -> str:
    """Now, in UTC, as the ledger writes it (``2025-06-12T09:30:00+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- the import's number and transaction -----------------------------------------------------
@dataclass(frozen=True)
class BatchSlot:
    """Where an import writes: its transaction and number. ``tx`` is None when nothing is
    written: a dry run, or the very file of the import in force (``unchanged``, its number),
    which is validated only."""

    tx: Transaction | None
    batch: int | None = None
    unchanged: int | None = None


@contextmanager
def open_batch(
    warehouse: Warehouse, *, dataset: str, sha256: str, dry_run: bool
) -> Iterator[BatchSlot]:
    """The slot of a new import of ``dataset`` from the file ``sha256``: a transaction that
    commits when the block ends (all or nothing), and the import's number."""
    same = active_batch(warehouse, dataset, sha256=sha256)
    if dry_run or same is not None:
        yield BatchSlot(None, unchanged=None if dry_run else same)
        return
    with warehouse.transaction() as tx:
        yield BatchSlot(tx, next_id(tx, "import_batch"))


# -- the import's row --------------------------------------------------------------------------
@dataclass
class BatchRow:
    """One import's row of the ledger: what was imported, from which file, by whom (the
    system's user when not given), and its validation report (JSON). Columns left None are
    stored as NULL."""

    id: int
    dataset: str
    edition: str
    connector: str
    producer: str
    level: str
    periods: str
    file_name: str
    confidentiality: str
    licence: str
    frequency: str
    imported_by: str | None = None
    imported_at: str = field(default_factory=_now_text)
    status: str = "active"
    partner: str | None = None
    sha256: str | None = None
    size: int | None = None
    descriptor: str | None = None
    rows_read: int | None = None
    rows_imported: int | None = None
    rows_rejected: int | None = None
    geography_year: int | None = None
    report: str | None = None
    received_at: str | None = None  # when the file was received, if before its import
    origin: str | None = None  # the producer's service and edition it was fetched from

    def __post_init__(self) -> None:
        self.imported_by = self.imported_by or _current_user()

    def write(self, tx: Transaction) -> None:
        insert_batch(tx, dataclasses.asdict(self))


# -- withdrawing an import -------------------------------------------------------------------
@contextmanager
def withdrawing(warehouse: Warehouse, batch: int) -> Iterator[tuple[Transaction, pd.Series]]:
    """Withdraw import ``batch`` (it must be in force): marked ``rolled_back`` in a transaction
    that the block continues (to put back what it replaced) with the import's row."""
    row = batch_record(warehouse, batch)
    if row.status != "active":
        raise InputError(f"l'import n° {batch} n'est pas en vigueur (statut : {row.status})")
    with warehouse.transaction() as tx:
        set_status(tx, batch, "rolled_back")
        yield tx, row
