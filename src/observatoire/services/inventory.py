"""The inventory as a service: sources, documents, needs and the work programme, stored in the
application database, linked to what the observatory holds (datasets in force, imports,
indicators, partners) and read under each reader's rights. Used by the CLI and the web app.

    registry = Registry(observatory, appdb)
    registry.sources(query="caf")            # with their imports, indicators, next edition
    registry.add_document(path, {...})       # stored, its text extracted and indexed
    registry.search_documents("hébergement", reader=ReadPolicy.parse("member", "op03"))
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.atomic import copy_whole
from observatoire.errors import AccessError, InputError, InvalidValueError, UnknownNameError
from observatoire.ingest.documents import extract_pages
from observatoire.inventory.documents import (
    DOCUMENT_FIELDS,
    MEDIA_TYPES,
    check_document,
    may_read,
)
from observatoire.inventory.fields import Entry, Field, Located, clean_entry, new_identifier
from observatoire.inventory.needs import (
    ACTION_FIELDS,
    NEED_FIELDS,
    check_need,
    uncovered,
)
from observatoire.inventory.sources import SOURCE_FIELDS, check_source, expected_edition, feeds
from observatoire.inventory.textsearch import excerpt, query_terms
from observatoire.secret.policy import ReadPolicy
from observatoire.store.appdb import AppDatabase
from observatoire.store.inventory import DocumentRow, DocumentStore, EntryTable, Hit
from observatoire.text import fold

if TYPE_CHECKING:
    from observatoire.observatory import Observatory

__all__ = ["Registry"]

DOCUMENTS = "documents"  # the folder of the home where the library's files are kept


def _clean(fields: Sequence[Field], item: Located, check: Any) -> Entry:
    entry = clean_entry(fields, item.raw, path=item.path, line=item.line)
    try:
        check(entry)
    except InvalidValueError as exc:
        raise InvalidValueError(
            exc.message, path=item.path, line=item.line, column=exc.column
        ) from None
    return entry


def _refuse(item: Located, column: str, message: str) -> InvalidValueError:
    return InvalidValueError(message, path=item.path, line=item.line, column=column)


class Registry:
    """Sources, documents, needs and actions of one observatory."""

    def __init__(self, obs: Observatory, db: AppDatabase) -> None:
        self.obs = obs
        self.db = db
        self._sources = EntryTable(db, "app_source")
        self._needs = EntryTable(db, "app_need")
        self._actions = EntryTable(db, "app_action")
        self._documents = DocumentStore(db)
        self.folder = obs.home.path / DOCUMENTS
        self._cached_links: (
            tuple[str, tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]] | None
        ) = None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sources ----------------------------------------------------------------------------
    def save_sources(self, items: Sequence[Located], actor: str | None) -> list[Entry]:
        """Check every source, then store them all (or none): an identifier given twice, an
        unknown partner or a malformed field is an error naming the file, line and field."""
        partners = set(self.obs.partners.names())
        entries, seen = [], set()
        for item in items:
            entry = _clean(SOURCE_FIELDS, item, check_source)
            if entry["identifiant"] in seen:
                raise _refuse(item, "identifiant", f"source « {entry['identifiant']} » en double")
            seen.add(entry["identifiant"])
            if entry.get("partenaire") and entry["partenaire"] not in partners:
                raise _refuse(
                    item,
                    "partenaire",
                    f"partenaire « {entry['partenaire']} » inconnu ; partenaires : "
                    f"{', '.join(sorted(partners)) or '(aucun : observatoire partners add)'}",
                )
            entries.append(entry)
        self._sources.put(entries, actor)
        return entries

    def _links(self) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
        """Datasets in force, imports, and the indicators of each dataset: read once per
        data version (the site's search asks for them at every query)."""
        version = self.obs.data_version()
        if self._cached_links is not None and self._cached_links[0] == version:
            return self._cached_links[1]
        links = self._read_links()
        self._cached_links = (version, links)
        return links

    def _read_links(self) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
        datasets = self.obs.datasets()
        columns = ["id", "dataset", "edition", "file_name", "imported_at", "imported_by",
                   "status", "rows_imported"]  # fmt: skip
        history = self.obs.import_history()
        imports = history[columns].sort_values("id").reset_index(drop=True)
        by_dataset: dict[str, list[str]] = {}
        for ident, fed in self.obs.datasets_of_indicators().items():
            for dataset in fed:
                by_dataset.setdefault(dataset, []).append(ident)
        return datasets, imports, by_dataset

    def _describe(
        self,
        entry: Entry,
        links: tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]],
        today: date,
        full: bool = False,
    ) -> dict[str, Any]:
        datasets, imports, by_dataset = links
        patterns = entry.get("jeux") or []
        # a mask, never a list: an empty list would select no column of an empty frame
        mine = datasets[datasets.dataset.map(lambda d: feeds(patterns, str(d))).astype(bool)]
        batches = imports[imports.dataset.map(lambda d: feeds(patterns, str(d))).astype(bool)]
        active = batches[batches.status == "active"]
        last = pd.Timestamp(str(active.imported_at.max())).date() if len(active) else None
        expected = expected_edition(entry, last)
        indicators = sorted({i for d in mine.dataset for i in by_dataset.get(str(d), [])})
        editions = sorted({e for row in mine.editions for e in str(row).split()})
        described = {
            **entry,
            # the periods the catalogue holds, where the inventory does not say
            "periode_debut": entry.get("periode_debut") or (editions[0] if editions else None),
            "periode_fin": entry.get("periode_fin") or (editions[-1] if editions else None),
            "jeux_lies": mine.dataset.astype(str).tolist(),
            "imports": len(active),
            "dernier_import": last.isoformat() if last else None,
            "edition_attendue": expected.isoformat() if expected else None,
            "en_retard": bool(expected is not None and today > expected),
            "indicateurs_lies": len(indicators),
        }
        if full:
            catalogue = self.obs.catalogue()
            described["jeux_detail"] = mine.to_dict("records")
            described["imports_detail"] = batches.sort_values("id", ascending=False).to_dict(
                "records"
            )
            described["indicateurs_detail"] = [
                {"id": i, "label": catalogue.get(i).label} for i in indicators if i in catalogue
            ]
            described["besoins"] = [
                n for n in self._needs.all() if entry["identifiant"] in (n.get("sources") or [])
            ]
        return described

    def sources(
        self,
        query: str = "",
        *,
        kind: str | None = None,
        theme: str | None = None,
        overdue: bool = False,
        today: date | None = None,
    ) -> list[dict[str, Any]]:
        """The inventory, with each source's datasets, imports, indicators and next edition;
        filtered by words (accents ignored), type, theme, or the overdue ones only."""
        today = today or date.today()
        links = self._links()
        words = fold(query).split()
        out = []
        for entry in self._sources.all():
            text = fold(" ".join(str(v) for v in entry.values() if v))
            if words and not all(w in text for w in words):
                continue
            if kind and entry.get("type") != kind:
                continue
            if theme and fold(theme) not in [fold(t) for t in entry.get("themes") or []]:
                continue
            described = self._describe(entry, links, today)
            if overdue and not described["en_retard"]:
                continue
            out.append(described)
        return out

    def source(self, ident: str, *, today: date | None = None) -> dict[str, Any]:
        entry = self._sources.get(ident)
        if entry is None:
            raise UnknownNameError("source", ident, self._sources.ids() or ["(inventaire vide)"])
        return self._describe(entry, self._links(), today or date.today(), full=True)

    def source_entries(self) -> list[Entry]:
        """The sources as the inventory holds them (nothing derived from the catalogue)."""
        return self._sources.all()

    def source_entry(self, ident: str) -> Entry | None:
        return self._sources.get(ident)

    def remove_source(self, ident: str) -> None:
        users = [n["identifiant"] for n in self._needs.all() if ident in (n.get("sources") or [])]
        if users:
            raise InputError(
                f"la source « {ident} » répond aux besoins {', '.join(users)} : "
                "retirez-la d'abord de ces besoins"
            )
        if not self._sources.delete(ident):
            raise UnknownNameError("source", ident, self._sources.ids() or ["(inventaire vide)"])

    # -- needs and the work programme -------------------------------------------------------
    def save_needs(
        self, items: Sequence[Located], actor: str | None, actions: Sequence[Located] = ()
    ) -> tuple[list[Entry], list[Entry]]:
        """Check programme ``actions`` and needs (the sources, indicators and action a need
        names exist, among those stored or given here), give identifiers to the new ones,
        then store them all in one transaction, or nothing."""
        done_actions = self._check_actions(actions)
        sources = set(self._sources.ids())
        known_actions = set(self._actions.ids()) | {a["identifiant"] for a in done_actions}
        catalogue = self.obs.catalogue()
        taken = list(self._needs.ids())
        entries = []
        for item in items:
            entry = _clean(NEED_FIELDS, item, check_need)
            entry["statut"] = entry["statut"] or "exprime"
            entry["priorite"] = entry["priorite"] or "moyenne"
            entry["exprime_le"] = entry["exprime_le"] or date.today().isoformat()
            for key, known, what in (
                ("sources", sources, "source"),
                ("indicateurs", set(catalogue.indicators), "indicateur"),
            ):
                unknown = [v for v in entry[key] if v not in known]
                if unknown:
                    raise _refuse(item, key, f"{what} « {unknown[0]} » inconnu(e)")
            if entry.get("action") and entry["action"] not in known_actions:
                raise _refuse(item, "action", f"action « {entry['action']} » inconnue du programme")
            if not entry["identifiant"]:
                entry["identifiant"] = new_identifier(f"B{entry['exprime_le'][:4]}", taken)
            taken.append(entry["identifiant"])
            entries.append(entry)
        with self.db.transaction() as run:
            self._actions.put(done_actions, actor, run)
            self._needs.put(entries, actor, run)
        return entries, done_actions

    def _check_actions(self, items: Sequence[Located]) -> list[Entry]:
        taken = list(self._actions.ids())
        entries = []
        for item in items:
            entry = _clean(ACTION_FIELDS, item, lambda _: None)
            entry["statut"] = entry["statut"] or "prevue"
            if not entry["identifiant"]:
                entry["identifiant"] = new_identifier(f"P{entry['annee']}", taken)
            taken.append(entry["identifiant"])
            entries.append(entry)
        return entries

    def needs(self, *, open_only: bool = False, status: str | None = None) -> list[Entry]:
        listed = self._needs.all()
        if status:
            listed = [n for n in listed if n.get("statut") == status]
        return uncovered(listed) if open_only else listed

    def need(self, ident: str) -> dict[str, Any]:
        entry = self._needs.get(ident)
        if entry is None:
            raise UnknownNameError("besoin", ident, self._needs.ids() or ["(registre vide)"])
        catalogue = self.obs.catalogue()
        return {
            **entry,
            "sources_detail": [
                {"identifiant": s, "nom": (self._sources.get(s) or {}).get("nom", s)}
                for s in entry.get("sources") or []
            ],
            "indicateurs_detail": [
                {"id": i, "label": catalogue.get(i).label if i in catalogue else i}
                for i in entry.get("indicateurs") or []
            ],
            "action_detail": self._actions.get(entry["action"]) if entry.get("action") else None,
        }

    def need_entry(self, ident: str) -> Entry | None:
        return self._needs.get(ident)

    def remove_need(self, ident: str) -> None:
        if not self._needs.delete(ident):
            raise UnknownNameError("besoin", ident, self._needs.ids() or ["(registre vide)"])

    def programme(self, year: int | None = None) -> list[dict[str, Any]]:
        """The work programme of ``year`` (every year when None): its actions, each with the
        needs it takes up."""
        needs = self._needs.all()
        return [
            {**a, "besoins": [n for n in needs if n.get("action") == a["identifiant"]]}
            for a in self._actions.all()
            if year is None or a.get("annee") == year
        ]

    def action_entry(self, ident: str) -> Entry:
        entry = self._actions.get(ident)
        if entry is None:
            raise UnknownNameError("action", ident, self._actions.ids() or ["(programme vide)"])
        return entry

    def programme_years(self) -> list[int]:
        return sorted({int(a["annee"]) for a in self._actions.all()})

    def remove_action(self, ident: str) -> None:
        users = [n["identifiant"] for n in self._needs.all() if n.get("action") == ident]
        if users:
            raise InputError(f"l'action « {ident} » prend en charge les besoins {', '.join(users)}")
        if not self._actions.delete(ident):
            raise UnknownNameError("action", ident, self._actions.ids() or ["(programme vide)"])

    # -- documents --------------------------------------------------------------------------
    def add_document(
        self,
        path: Path,
        raw: Mapping[str, object],
        actor: str | None,
        *,
        origin: str | None = None,
        file_name: str | None = None,
        ident: str | None = None,
    ) -> DocumentRow:
        """File a document: its text is extracted (an unreadable file is refused before
        anything is written), the file kept under its checksum, the record and its search
        index written in one transaction. A document with the same ``origin`` (a generated
        portrait, say) is replaced."""
        file_name = file_name or path.name
        suffix = Path(file_name).suffix.lower()
        if suffix not in MEDIA_TYPES:
            raise InputError(
                f"type de fichier non pris en charge ; types acceptés : {', '.join(MEDIA_TYPES)}",
                path=file_name,
            )
        entry = _clean(DOCUMENT_FIELDS, Located(raw, path=file_name), check_document)
        entry["acces"] = entry["acces"] or "interne"
        entry["type"] = entry["type"] or "autre"
        if entry.get("partenaire"):
            partners = set(self.obs.partners.names())
            if entry["partenaire"] not in partners:
                raise InvalidValueError(
                    f"partenaire « {entry['partenaire']} » inconnu",
                    path=file_name,
                    column="partenaire",
                )
        pages = extract_pages(path)
        digest = hashlib.sha256()
        with path.open("rb") as read:
            for block in iter(lambda: read.read(1024**2), b""):
                digest.update(block)
        stored_as = digest.hexdigest() + suffix
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / stored_as
        if not target.exists():  # content-addressed: a file already there is this one
            copy_whole(path, target)
        previous = self._documents.by_origin(origin) if origin else None
        if ident is None:
            ident = (
                previous.id
                if previous
                else new_identifier(f"D{date.today().year}", self._documents.ids())
            )
        row = DocumentRow(
            id=ident,
            entry=entry,
            file_name=file_name,
            stored_as=stored_as,
            media_type=MEDIA_TYPES[suffix],
            size=path.stat().st_size,
            origin=origin,
            pages=len(pages),
            updated_at="",
            updated_by=actor,
        )
        self._documents.put(row, pages, actor)
        self._prune()
        return row

    def _prune(self) -> None:
        """Remove the files no document points to any more."""
        kept = self._documents.stored_files()
        if self.folder.exists():
            for file in self.folder.iterdir():
                if file.is_file() and file.name not in kept and not file.name.endswith(".partiel"):
                    file.unlink(missing_ok=True)

    def update_document(self, ident: str, raw: Mapping[str, object], actor: str | None) -> Entry:
        self._document_row(ident)
        entry = _clean(DOCUMENT_FIELDS, Located(raw), check_document)
        entry["acces"] = entry["acces"] or "interne"
        entry["type"] = entry["type"] or "autre"
        self._documents.update_entry(ident, entry, actor)
        return entry

    def remove_document(self, ident: str) -> None:
        self._document_row(ident)
        self._documents.delete(ident)
        self._prune()

    def reindex_documents(self, actor: str | None) -> int:
        """Extract the text of every document again and rebuild the search index."""
        rows = self._documents.all()
        for row in rows:
            pages = extract_pages(self.folder / row.stored_as)  # stored with its suffix
            self._documents.put(row, pages, actor)
        return len(rows)

    def _document_row(self, ident: str) -> DocumentRow:
        row = self._documents.get(ident)
        if row is None:
            raise UnknownNameError("document", ident, ["(voir observatoire documents list)"])
        return row

    def documents(
        self,
        *,
        reader: ReadPolicy,
        kind: str | None = None,
        theme: str | None = None,
        territory: str | None = None,
        indicator: str | None = None,
    ) -> list[DocumentRow]:
        """The documents a reader may see, newest first, filtered by type, theme, territory
        (``commune:93066``) or indicator."""
        # a territory's or an indicator's page asks at every view: only its documents are read
        rows = self._documents.all(mentioning=territory or indicator)
        rows = [d for d in rows if may_read(d.entry, reader.value, reader.organisation)]
        if kind:
            rows = [d for d in rows if d.entry.get("type") == kind]
        if theme:
            rows = [
                d for d in rows if fold(theme) in [fold(t) for t in d.entry.get("themes") or []]
            ]
        if territory:
            rows = [d for d in rows if territory in (d.entry.get("territoires") or [])]
        if indicator:
            rows = [d for d in rows if indicator in (d.entry.get("indicateurs") or [])]
        return sorted(rows, key=lambda d: (d.entry.get("date") or "", d.id), reverse=True)

    def document(self, ident: str, *, reader: ReadPolicy) -> DocumentRow:
        """A document the reader may see (else an AccessError, without saying more)."""
        row = self._document_row(ident)
        if not may_read(row.entry, reader.value, reader.organisation):
            raise AccessError("document réservé : connectez-vous avec un compte qui y a accès")
        return row

    def document_file(self, row: DocumentRow) -> Path:
        return self.folder / row.stored_as

    def search_documents(self, query: str, *, reader: ReadPolicy, limit: int = 50) -> list[Hit]:
        """Documents holding every word of ``query`` (accents, case, plurals ignored) that
        the reader may see, best first, each with the page and passage where it is found."""
        wanted = query_terms(query)
        readable = self.documents(reader=reader)
        hits = self._documents.search(wanted, readable)[:limit]
        texts = self._documents.pages_of([h.document.id for h in hits])  # one read for all
        out = []
        for hit in hits:
            for number, text in enumerate(texts.get(hit.document.id, []), start=1):
                passage = excerpt(text, wanted)
                if passage is not None:
                    out.append(Hit(hit.document, hit.score, number, passage))
                    break
            else:
                out.append(hit)  # found in its title or metadata
        return out

    def file_portraits(
        self,
        written: Sequence[tuple[Path, Mapping[str, object]]],
        reader: ReadPolicy,
        actor: str | None,
    ) -> int:
        """File generated portraits in the library (each replaces its previous edition):
        ``written`` pairs a file with its territory card (level, code, name)."""
        access = {"public": "public", "member": "membres"}.get(reader.value, "interne")
        for path, card in written:
            level, code, name = str(card["level"]), str(card["code"]), str(card["name"])
            self.add_document(
                path,
                {
                    "titre": f"Portrait social — {name}",
                    "type": "portrait",
                    "auteurs": [self.obs.home.settings.get("name") or "Observatoire"],
                    "date": date.today().isoformat(),
                    "themes": ["cadrage", "social"],
                    "territoires": [f"{level}:{code}"],
                    "acces": access,
                },
                actor,
                origin=f"portrait:{level}:{code}:{reader.value}:{path.suffix.lstrip('.')}",
            )
        return len(written)

    def file_restitution(
        self,
        path: Path,
        *,
        collection: str,
        operator: str | None = None,
        territory: str | None = None,
        actor: str | None,
    ) -> DocumentRow:
        """File a completeness restitution report: an operator's is for its partner
        organisation (and the analysts), a territory's or the whole collection's internal.
        A report made again the same day replaces that day's."""
        partner = None
        if operator:
            found = self.obs.records.operators(collection)
            linked = found.partner[found.code == operator].dropna()
            partner = str(linked.iloc[0]) if len(linked) else None
        who = (
            f"opérateur {operator}"
            if operator
            else f"territoire {territory}"
            if territory
            else "tous les opérateurs"
        )
        today = date.today().isoformat()
        return self.add_document(
            path,
            {
                "titre": "Restitution de complétude — "
                f"{self.obs.records.collection(collection).label} "
                f"— {who} ({today})",
                "type": "restitution",
                "auteurs": [self.obs.home.settings.get("name") or "Observatoire"],
                "date": today,
                "themes": ["complétude"],
                "territoires": [territory] if territory else [],
                "acces": "partenaire" if partner else "interne",
                "partenaire": partner,
            },
            actor,
            origin=f"restitution:{collection}:{operator or territory or '*'}:{today}:"
            f"{path.suffix.lstrip('.')}",
        )
