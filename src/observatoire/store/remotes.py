"""Producers' editions in the application database: each edition a source's remote was seen
to publish (``app_remote_edition``), when it was fetched and which import it became, and the
verdict of each source's last check (``app_remote_check``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from observatoire.store.appdb import AppDatabase, stamp
from observatoire.store.base import iter_rows

__all__ = ["EditionRow", "RemoteStore"]

EditionRow = dict[str, Any]
_EDITION = ("source", "edition", "remote", "ident", "title", "modified", "url", "file_name",
            "size", "checksum", "covers", "first_seen", "fetched_at", "fetched_by", "file",
            "batch")  # fmt: skip
_CHECK = ("source", "remote", "checked_at", "latest", "state", "message", "rests_on")


class RemoteStore:
    """The editions seen and fetched, and the last check of each source."""

    def __init__(self, db: AppDatabase) -> None:
        self.db = db

    def seen(self, rows: Sequence[EditionRow], checks: Sequence[EditionRow]) -> None:
        """Record editions seen (an edition seen before keeps its first sighting and its
        fetch) and the verdict of each source checked, together."""
        with self.db.transaction() as run:
            for row in rows:  # an edition seen before keeps its first sighting
                names = [c for c in _EDITION if c in row]
                run(f"INSERT INTO app_remote_edition ({', '.join(names)}) VALUES "
                    f"({', '.join('?' for _ in names)}) ON CONFLICT (source, edition) DO NOTHING",
                    [row[c] for c in names])  # fmt: skip
            for check in checks:
                run("DELETE FROM app_remote_check WHERE source = ?", [check["source"]])
                marks = ", ".join("?" for _ in _CHECK)
                run(f"INSERT INTO app_remote_check ({', '.join(_CHECK)}) VALUES ({marks})",
                    [check.get(c) for c in _CHECK])  # fmt: skip

    def fetched(self, source: str, edition: str, *, at: datetime, actor: str | None,
                file: str, batch: int | None) -> None:  # fmt: skip
        """Mark an edition fetched into ``file`` and imported as ``batch`` (None: a dry run,
        not recorded); the source's last check then says it is in force."""
        if batch is None:
            return
        with self.db.transaction() as run:
            run("UPDATE app_remote_edition SET fetched_at = ?, fetched_by = ?, file = ?, "
                "batch = ? WHERE source = ? AND edition = ?",
                [stamp(at), actor, file, batch, source, edition])  # fmt: skip
            run("UPDATE app_remote_check SET state = 'a_jour', message = ?, rests_on = ? "
                "WHERE source = ? AND latest = ?",
                [f"édition récupérée (import n° {batch})", batch, source, edition])  # fmt: skip

    def in_force(self, source: str, active: set[int]) -> EditionRow | None:
        """The edition of ``source`` last fetched whose import is still in force (its
        number in ``active``: not withdrawn nor replaced since), or None."""
        frame = self.db.query(
            f"SELECT {', '.join(_EDITION)} FROM app_remote_edition WHERE source = ? AND "
            "batch IS NOT NULL ORDER BY fetched_at DESC", [source])  # fmt: skip
        return next((row for row in _rows(frame) if row["batch"] in active), None)

    def editions(self, source: str) -> list[EditionRow]:
        """Every edition of ``source`` seen, the newest first."""
        frame = self.db.query(
            f"SELECT {', '.join(_EDITION)} FROM app_remote_edition WHERE source = ? "
            "ORDER BY modified DESC, first_seen DESC", [source])  # fmt: skip
        return _rows(frame)

    def checks(self) -> dict[str, EditionRow]:
        """The last check of each source checked, by source."""
        frame = self.db.query(f"SELECT {', '.join(_CHECK)} FROM app_remote_check")
        return {str(r["source"]): r for r in _rows(frame)}


def _rows(frame: pd.DataFrame) -> list[EditionRow]:
    """The rows as plain values (:func:`~observatoire.store.base.iter_rows`: NULLs as
    None), sizes and import numbers as integers."""
    columns = [str(c) for c in frame.columns]
    out: list[EditionRow] = [dict(zip(columns, row, strict=True)) for row in iter_rows(frame)]
    for row in out:
        for key in ("size", "batch", "rests_on"):
            if row.get(key) is not None:
                row[key] = int(row[key])
    return out
