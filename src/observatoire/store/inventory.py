"""The inventory in the application database: sources, needs and programme actions (one JSON
body per entry), documents with their extracted text and their search index.

Every write is one transaction: a batch of entries loaded from a file is stored whole or not
at all; a document, its pages and its terms together.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from observatoire.inventory.fields import Entry
from observatoire.inventory.textsearch import terms
from observatoire.store.appdb import AppDatabase
from observatoire.store.base import placeholders

__all__ = ["DocumentRow", "DocumentStore", "EntryTable", "Hit"]

# A word of a document's title or metadata weighs as much as this many in its text.
METADATA_WEIGHT = 5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class EntryTable:
    """Entries of one kind (``app_source``, ``app_need``, ``app_action``) by identifier."""

    def __init__(self, db: AppDatabase, table: str) -> None:
        if table not in ("app_source", "app_need", "app_action"):
            raise ValueError(table)
        self.db = db
        self.table = table

    def all(self) -> list[Entry]:
        frame = self.db.query(f"SELECT body, updated_at, updated_by FROM {self.table} ORDER BY id")
        return [
            {**json.loads(b), "_modifie_le": at, "_modifie_par": by}
            for b, at, by in zip(frame.body, frame.updated_at, frame.updated_by, strict=True)
        ]

    def ids(self) -> list[str]:
        return [str(i) for i in self.db.query(f"SELECT id FROM {self.table} ORDER BY id").id]

    def get(self, ident: str) -> Entry | None:
        frame = self.db.query(
            f"SELECT body, updated_at, updated_by FROM {self.table} WHERE id = ?", [ident]
        )
        if frame.empty:
            return None
        row = frame.iloc[0]
        return {
            **json.loads(row.body),
            "_modifie_le": row.updated_at,
            "_modifie_par": row.updated_by,
        }

    def put(self, entries: Sequence[Entry], actor: str | None, run: Any = None) -> None:
        """Create or replace ``entries`` (keyed by their ``identifiant``), all together (in
        the transaction ``run`` when given, see :meth:`AppDatabase.transaction`)."""
        if run is None:
            with self.db.transaction() as run:
                self.put(entries, actor, run)
            return
        now = _now()
        for entry in entries:
            body = {k: v for k, v in entry.items() if not k.startswith("_")}
            run(f"DELETE FROM {self.table} WHERE id = ?", [entry["identifiant"]])
            run(
                f"INSERT INTO {self.table} (id, body, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                [entry["identifiant"], json.dumps(body, ensure_ascii=False), now, actor],
            )

    def delete(self, ident: str) -> bool:
        found = self.get(ident) is not None
        self.db.execute(f"DELETE FROM {self.table} WHERE id = ?", [ident])
        return found


@dataclass(frozen=True)
class DocumentRow:
    """A document of the library: its metadata and the file it is stored as."""

    id: str
    entry: Entry
    file_name: str
    stored_as: str
    media_type: str
    size: int
    origin: str | None
    pages: int
    updated_at: str
    updated_by: str | None


@dataclass(frozen=True)
class Hit:
    """A document a search found, how well it matches, and where (page 0: its metadata)."""

    document: DocumentRow
    score: float
    page: int | None = None
    excerpt: tuple[str, str, str] | None = None


def metadata_text(entry: Entry) -> str:
    """The words of a document's metadata that a search looks into."""
    parts: list[str] = []
    for key in ("titre", "resume", "auteurs", "themes", "territoires", "indicateurs"):
        value = entry.get(key)
        parts.extend(value if isinstance(value, list) else [str(value or "")])
    return " ".join(parts)


class DocumentStore:
    """The library's records: documents, the text of their pages, the terms they hold."""

    def __init__(self, db: AppDatabase) -> None:
        self.db = db

    def _rows(self, where: str = "", params: Sequence[object] = ()) -> list[DocumentRow]:
        frame = self.db.query(
            "SELECT id, body, file_name, stored_as, media_type, size, origin, pages, updated_at, "
            f"updated_by FROM app_document {where} ORDER BY id",
            params,
        )
        return [
            DocumentRow(
                id=str(r.id),
                entry=json.loads(r.body),
                file_name=str(r.file_name),
                stored_as=str(r.stored_as),
                media_type=str(r.media_type),
                size=int(r.size),
                origin=None if r.origin is None else str(r.origin),
                pages=int(r.pages),
                updated_at=str(r.updated_at),
                updated_by=None if r.updated_by is None else str(r.updated_by),
            )
            for r in frame.itertuples()
        ]

    def all(self, mentioning: str | None = None) -> list[DocumentRow]:
        """Every document, or those whose metadata may hold the value ``mentioning`` (a
        prefilter in SQL: the caller checks the field)."""
        if mentioning is None:
            return self._rows()
        return self._rows("WHERE body LIKE ?", [f'%"{mentioning}"%'])

    def get(self, ident: str) -> DocumentRow | None:
        found = self._rows("WHERE id = ?", [ident])
        return found[0] if found else None

    def by_origin(self, origin: str) -> DocumentRow | None:
        found = self._rows("WHERE origin = ?", [origin])
        return found[0] if found else None

    def ids(self) -> list[str]:
        return [str(i) for i in self.db.query("SELECT id FROM app_document").id]

    def put(self, row: DocumentRow, pages: Sequence[str], actor: str | None) -> None:
        """Create or replace a document with the text of its pages, and index it."""
        weights: Counter[str] = Counter()
        for term, count in terms(metadata_text(row.entry)).items():
            weights[term] += count * METADATA_WEIGHT
        for page in pages:
            weights.update(terms(page))
        with self.db.transaction() as run:
            self._delete(run, row.id)
            run(
                "INSERT INTO app_document (id, body, file_name, stored_as, media_type, size, "
                "origin, pages, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row.id,
                    json.dumps(row.entry, ensure_ascii=False),
                    row.file_name,
                    row.stored_as,
                    row.media_type,
                    row.size,
                    row.origin,
                    len(pages),
                    _now(),
                    actor,
                ],
            )
            for number, text in enumerate(pages, start=1):
                run(
                    "INSERT INTO app_document_page (document, page, text) VALUES (?, ?, ?)",
                    [row.id, number, text],
                )
            for term, weight in weights.items():
                run(
                    "INSERT INTO app_document_term (term, document, weight) VALUES (?, ?, ?)",
                    [term, row.id, weight],
                )

    def update_entry(self, ident: str, entry: Entry, actor: str | None) -> None:
        """New metadata for a document (its text unchanged)."""
        row = self.get(ident)
        if row is None:
            raise KeyError(ident)
        self.put(DocumentRow(**{**row.__dict__, "entry": entry}), self.pages(ident), actor)

    @staticmethod
    def _delete(run: object, ident: str) -> None:
        for table, column in (
            ("app_document_term", "document"),
            ("app_document_page", "document"),
            ("app_document", "id"),
        ):
            run(f"DELETE FROM {table} WHERE {column} = ?", [ident])  # type: ignore[operator]

    def delete(self, ident: str) -> None:
        with self.db.transaction() as run:
            self._delete(run, ident)

    def stored_files(self) -> set[str]:
        return {
            str(s) for s in self.db.query("SELECT DISTINCT stored_as FROM app_document").stored_as
        }

    def pages(self, ident: str) -> list[str]:
        frame = self.db.query(
            "SELECT text FROM app_document_page WHERE document = ? ORDER BY page", [ident]
        )
        return [str(t) for t in frame.text]

    def pages_of(self, idents: Sequence[str]) -> dict[str, list[str]]:
        """The text of each page of several documents, in one query."""
        if not idents:
            return {}
        marks = placeholders(idents)
        frame = self.db.query(
            f"SELECT document, text FROM app_document_page WHERE document IN ({marks}) "
            "ORDER BY document, page",
            list(idents),
        )
        out: dict[str, list[str]] = {}
        for document, text in zip(frame.document, frame.text, strict=True):
            out.setdefault(str(document), []).append(str(text))
        return out

    def search(self, wanted: Sequence[str], readable: Iterable[DocumentRow]) -> list[Hit]:
        """The ``readable`` documents holding every query term of ``wanted`` (as the start of
        one of their terms), best first (tf-idf), each with the first passage that matches."""
        allowed = {d.id: d for d in readable}
        if not wanted or not allowed:
            return []
        # a prefix search the index answers: GLOB in SQLite (case-sensitive, so it uses the
        # primary key); LIKE in PostgreSQL (terms are lowercase ASCII: nothing to escape)
        operator, wildcard = ("GLOB", "*") if self.db.dialect == "sqlite" else ("LIKE", "%")
        clause = " OR ".join(f"term {operator} ?" for _ in wanted)
        found = self.db.query(
            f"SELECT term, document, weight FROM app_document_term WHERE {clause}",
            [w + wildcard for w in wanted],
        )
        weights: dict[tuple[str, str], int] = {}
        for term, document, weight in zip(found.term, found.document, found.weight, strict=True):
            if document not in allowed:
                continue
            for want in wanted:
                if term.startswith(want):
                    key = (want, document)
                    weights[key] = weights.get(key, 0) + int(weight)
        total = max(len(allowed), 1)
        spread = {w: sum(1 for k in weights if k[0] == w) for w in wanted}
        scores: dict[str, float] = {}
        matched: dict[str, int] = {}
        for (want, document), weight in weights.items():
            idf = math.log(1 + total / max(spread[want], 1))
            scores[document] = scores.get(document, 0.0) + math.log1p(weight) * idf
            matched[document] = matched.get(document, 0) + 1
        complete = [d for d in scores if matched[d] == len(wanted)]
        ranked = sorted(complete, key=lambda d: (-scores[d], allowed[d].entry.get("titre", "")))
        return [Hit(allowed[d], round(scores[d], 3)) for d in ranked]
