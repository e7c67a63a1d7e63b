"""Keeping the observatory current: for each inventory source that declares where its
editions are published (field ``distant``), which edition is newer than the one in force, and
fetching one into the normal, checked import.

An edition is *newer* when the producer's latest differs from the edition last fetched for the
source, published later; for a source never fetched, when it covers a later period than the
source's datasets in force (Melodi says which), else when it was published after the source's
last import (a source never imported: any edition is new). A fetch downloads to the home's
cache (``cache/distant/<source>/``, resumed if cut, checked against the producer's size and
checksum), then imports it as any file is imported — a dry run first on request — with the
remote and the edition kept as the import's origin. Nothing is half-imported: the import is
one transaction, and a failed download leaves no file under its name.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from observatoire.atomic import write_whole
from observatoire.csvfile import PLAIN, csv_text
from observatoire.errors import (
    BusyError,
    InputError,
    RemoteError,
    UnknownNameError,
)
from observatoire.home import Home
from observatoire.ingest.pipeline import ImportReport
from observatoire.inventory.remotes import Remote, parse_remote
from observatoire.remote.editions import (
    DATAGOUV,
    MELODI,
    Edition,
    Services,
    read_editions,
    service_name,
)
from observatoire.remote.http import MAX_DOWNLOAD, Polite
from observatoire.remote.melodi import melodi_table
from observatoire.services.accounts import Accounts
from observatoire.store.appdb import stamp
from observatoire.store.remotes import RemoteStore

if TYPE_CHECKING:
    from observatoire.observatory import Observatory
    from observatoire.services.inventory import Registry

__all__ = [
    "CACHE",
    "STATES",
    "Fetched",
    "Remotes",
    "SourceCheck",
    "default_services",
    "last_checks",
    "summarise",
    "summary_of",
    "withdrawn_imports",
]

CACHE = Path("cache") / "distant"  # in the home
STATES = {"nouvelle": "nouvelle édition disponible", "a_jour": "à jour", "erreur": "erreur"}
LIMITS = {"INSEE Melodi": 25}  # requests a minute: Melodi allows 30, then answers 429


def default_services(settings: Mapping[str, str] | None = None,
                     home: Path | None = None) -> Services:  # fmt: skip
    """The real services, each client throttled to its published limit (25 a minute for
    Melodi, 30 elsewhere), counted across the processes of ``home`` (the web server, cron,
    a user's command) in a file of its cache. Other addresses of the same APIs (a mirror, a
    test environment, the demo's fictitious producer): ``OBSERVATOIRE_MELODI_URL`` and
    ``OBSERVATOIRE_DATAGOUV_URL``, else the home's settings ``melodi_url`` and
    ``datagouv_url``."""
    settings = settings or {}

    def shared(name: str) -> Path | None:
        return home / CACHE / f".rythme-{_safe(name)}" if home is not None else None

    def base(name: str, default: str) -> str:
        given = os.environ.get(f"OBSERVATOIRE_{name.upper()}") or settings.get(name.lower())
        return (given or default).rstrip("/")

    return Services(make=lambda name: Polite(name, limit=LIMITS.get(name, 30),
                                             shared=shared(name)),
                    melodi=base("melodi_url", MELODI),
                    datagouv=base("datagouv_url", DATAGOUV))  # fmt: skip


@dataclass(frozen=True)
class SourceCheck:
    """What a check found for one source: its remote, the producer's latest edition, the
    edition (or import date) in force, and the verdict (``state`` of :data:`STATES`)."""

    source: str
    name: str
    remote: str
    latest: Edition | None
    in_force: str | None
    state: str
    message: str
    rests_on: int | None = None  # the import of the fetched edition found in force


@dataclass(frozen=True)
class Fetched:
    """A fetched edition: the file in the cache and the import's report (a dry run's, or the
    import's)."""

    source: str
    edition: Edition
    file: Path
    report: ImportReport


class Remotes:
    """The remotes of an observatory's inventory."""

    def __init__(self, obs: Observatory, registry: Registry, *,
                 services: Services | None = None) -> None:  # fmt: skip
        self.obs, self.registry = obs, registry
        # the settings as they are now (a server started earlier sees a changed address)
        self.services = services or default_services(Home.load(obs.home.path).settings,
                                                      obs.home.path)  # fmt: skip
        self.store = RemoteStore(registry.db)
        self.lock = _Locks(obs.home.path / CACHE)
        self.unreadable: Unreadable = []  # sources whose « distant » cannot be read

    def declared(self, idents: list[str] | None = None) -> Declared:
        """The sources with a remote (all, or those named: a named source without one is an
        error saying so)."""
        entries = {str(e["identifiant"]): e for e in self.registry.source_entries()}
        for ident in idents or []:
            if ident not in entries:
                raise UnknownNameError("source", ident, sorted(entries) or ["(inventaire vide)"])
            if not entries[ident].get("distant"):
                raise InputError(f"la source « {ident} » ne déclare pas où ses éditions sont "
                                 "publiées : ajoutez-lui le champ « distant » (observatoire "
                                 f"sources set {ident} distant=melodi:DS_…)")  # fmt: skip
        chosen = [entries[i] for i in idents] if idents else list(entries.values())
        found, self.unreadable = _remotes_of([e for e in chosen if e.get("distant")])
        if idents and self.unreadable:  # a source named: its own error
            raise self.unreadable[0][1]
        # an address an analyst declared is trusted (an intranet's file server may be one)
        self.services.declared |= {urlsplit(r.dataset).hostname or "" for _, r in found
                                   if r.kind == "url"}  # fmt: skip
        return found

    def check(self, idents: list[str] | None = None, *, actor: str | None = None,
              now: datetime | None = None) -> list[SourceCheck]:  # fmt: skip
        """Read each declared remote once and say, for each source, whether a newer edition
        than the one in force is published; the editions seen and the verdicts are kept
        (the Sources page shows them)."""
        now = now or datetime.now(UTC)
        declared = self.declared(idents)
        try:
            found = read_editions(sorted({r for _, r in declared}, key=str), self.services)
        finally:
            self.services.close()
        out, rows, checks = [], [], []
        active = imports_of(self.obs, "active")
        for entry, remote in declared:
            ident = str(entry["identifiant"])
            result = found[remote]
            if isinstance(result, RemoteError):
                verdict = SourceCheck(ident, str(entry.get("nom", ident)), str(remote), None,
                                      None, "erreur", str(result))  # fmt: skip
            else:
                verdict = self._judge(ident, str(entry.get("nom", ident)), remote, result,
                                      active)  # fmt: skip
                rows += [_row(ident, remote, e, now) for e in result]
            out.append(verdict)
            checks.append({"source": ident, "remote": str(remote), "checked_at": stamp(now),
                           "latest": verdict.latest.key if verdict.latest else None,
                           "state": verdict.state, "message": verdict.message,
                           "rests_on": verdict.rests_on})  # fmt: skip
        out += [SourceCheck(str(e["identifiant"]), str(e.get("nom", e["identifiant"])),
                            "(invalide)", None, None, "erreur", str(why))
                for e, why in self.unreadable]  # fmt: skip
        self.store.seen(rows, checks)
        Accounts(self.registry.db).record(actor, "vérification des éditions", None,
                                          summarise(out))  # fmt: skip
        return out

    def _judge(self, ident: str, name: str, remote: Remote, editions: list[Edition],
               active: set[int]) -> SourceCheck:  # fmt: skip
        if not editions:
            return SourceCheck(ident, name, str(remote), None, None, "erreur",
                               "aucune édition publiée")  # fmt: skip
        latest = editions[0]
        fetched = self.store.in_force(ident, active)
        if fetched is not None:
            newer = latest.key != fetched["edition"] and (
                not fetched["modified"] or (latest.modified or "") > str(fetched["modified"]))
            state = "nouvelle" if newer else "a_jour"
            message = (f"{latest.title} du {_day(latest.modified)} ; en vigueur : édition du "
                       f"{_day(fetched['modified'])} (import n° {fetched['batch']})")  # fmt: skip
            return SourceCheck(ident, name, str(remote), latest, str(fetched["edition"]), state,
                               message, rests_on=fetched["batch"])  # fmt: skip
        described = self.registry.source(ident)
        last = described.get("dernier_import")
        if last is None:
            return SourceCheck(ident, name, str(remote), latest, None, "nouvelle",
                               f"{latest.title} du {_day(latest.modified)} ; jamais "
                               "importée ici")  # fmt: skip
        held = str(described.get("periode_fin") or "")[:4]
        if latest.covers and held.isdigit():  # the periods say it: 2023 over 2022
            state = "nouvelle" if latest.covers[:4] > held else "a_jour"
            return SourceCheck(ident, name, str(remote), latest, held, state,
                               f"{latest.title} du {_day(latest.modified)}, jusqu'à "
                               f"{latest.covers} ; en vigueur : jusqu'à {held}")  # fmt: skip
        newer = (latest.modified or "")[:10] > str(last)  # else its date, after our import?
        state = "nouvelle" if newer else "a_jour"
        return SourceCheck(ident, name, str(remote), latest, str(last), state,
                           f"{latest.title} du {_day(latest.modified)} ; dernier import le "
                           f"{_day(str(last))}")  # fmt: skip

    def fetch(self, ident: str, *, edition: str | None = None, dry_run: bool = False,
              actor: str | None = None, now: datetime | None = None,
              max_bytes: int = MAX_DOWNLOAD) -> Fetched:  # fmt: skip
        """Download the source's latest edition (or the one named: its name or key) and
        import it through the normal pipeline (``dry_run``: checked and reported, nothing
        written but the downloaded file, kept in the cache for the real import). One fetch
        of a source at a time; a file beyond ``max_bytes`` is refused."""
        with self.lock(ident):
            return self._fetch(ident, edition, dry_run, actor, now or datetime.now(UTC),
                               max_bytes)  # fmt: skip

    def _fetch(self, ident: str, edition: str | None, dry_run: bool, actor: str | None,
               now: datetime, max_bytes: int) -> Fetched:  # fmt: skip
        ((_, remote),) = self.declared([ident])
        try:
            found = read_editions([remote], self.services)[remote]
            if isinstance(found, RemoteError):
                raise found
            chosen = _chosen(found, edition, ident)
            self.store.seen([_row(ident, remote, e, now) for e in found], [])
            folder = self.obs.home.path / CACHE / ident / _safe(chosen.key)
            if remote.query:  # a Melodi data query: its observations, as a coded table
                target = folder / f"{_safe(remote.dataset)}.csv"
                if not target.exists():
                    self._query(remote, target)
            else:
                target = folder / _safe(chosen.file_name)
                if not target.exists():  # a dry run's download serves the import
                    self.services.client(service_name(remote)).download(
                        chosen.url, target, size=chosen.size, checksum=chosen.checksum,
                        max_bytes=max_bytes)  # fmt: skip
        finally:
            self.services.close()
        origin = f"{remote} — {chosen.key} ({chosen.url})"
        try:
            report = self.obs.import_file(target, dry_run=dry_run, user=actor, origin=origin,
                                          max_bytes=max_bytes)  # fmt: skip
        except Exception:  # a file damaged on the way is not kept to be read again
            target.unlink(missing_ok=True)
            raise
        if not dry_run:
            self.store.fetched(ident, chosen.key, at=now, actor=actor, file=str(target),
                               batch=report.batch)  # fmt: skip
            said = (f"fichier identique à celui de l'import n° {report.batch}, rien de "
                    "changé" if report.unchanged else f"import n° {report.batch}")  # fmt: skip
            Accounts(self.registry.db).record(actor, "récupération d'une édition", ident,
                                              f"{chosen.key} : {said}")
        return Fetched(ident, chosen, target, report)

    def _query(self, remote: Remote, target: Path) -> None:
        """The observations of a Melodi data query written as ``target`` (Melodi's coded
        layout, read by the normal import), whole or not at all."""
        table = melodi_table(self.services.client(service_name(remote)), self.services.melodi,
                             remote.dataset, remote.query,
                             cache=self.obs.home.path / CACHE / "melodi")  # fmt: skip
        if table.empty:
            raise RemoteError(f"INSEE Melodi : {remote} : aucune observation pour ces filtres")
        write_whole(target, csv_text(table, PLAIN))


class _Locks:
    """One fetch of a source at a time, across processes (the web server, cron, a user's
    command): an exclusive lock on a file of the source's cache folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def __call__(self, ident: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f".{_safe(ident)}.verrou").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BusyError(f"la source « {ident} » est déjà en cours de récupération ; "
                                  "réessayez quand elle sera finie") from None  # fmt: skip
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def last_checks(registry: Registry,
                withdrawn: set[int] | None = None) -> dict[str, dict[str, object]]:  # fmt: skip
    """The last check of each source, by source, its state in words (``state_label``):
    only of the remote the source declares now (a check of a remote since removed or
    changed is no verdict on it); « à jour » no more when the import of the edition it
    found in force is among the imports ``withdrawn`` since (rolled back)."""
    found, _ = _remotes_of([e for e in registry.source_entries() if e.get("distant")])
    declared = {str(entry["identifiant"]): str(remote) for entry, remote in found}
    out: dict[str, dict[str, object]] = {}
    for source, row in RemoteStore(registry.db).checks().items():
        if declared.get(source) != row["remote"]:
            continue
        if row["state"] == "a_jour" and row["rests_on"] in (withdrawn or set()):
            row = {**row, "state": "nouvelle", "message": f"l'import n° {row['rests_on']} de "
                   "l'édition récupérée a été retiré depuis la vérification"}  # fmt: skip
        out[source] = {**row, "state_label": STATES.get(str(row["state"]), row["state"])}
    return out


def withdrawn_imports(obs: Observatory) -> set[int]:
    """The imports withdrawn (rolled back): a verdict kept may rest on one of them."""
    return imports_of(obs, "rolled_back")


def imports_of(obs: Observatory, status: str) -> set[int]:
    """The numbers of the imports in ``status`` (active, replaced, rolled_back)."""
    history = obs.import_history()
    return {int(b) for b in history.loc[history.status == status, "id"]}


Declared = list[tuple[dict[str, object], Remote]]
Unreadable = list[tuple[dict[str, object], InputError]]


def _remotes_of(entries: list[dict[str, object]]) -> tuple[Declared, Unreadable]:
    """The entries' remotes, and the entries whose « distant » is unreadable (stored before
    the check was as strict) with the reason."""
    found: Declared = []
    unreadable: Unreadable = []
    for entry in entries:
        try:
            found.append((entry, parse_remote(str(entry["distant"]))))
        except InputError as error:
            unreadable.append((entry, error))
    return found, unreadable


def summary_of(checks: Mapping[str, Mapping[str, object]]) -> str:
    """The last checks (:func:`last_checks`) in one line: when, and what they found."""
    if not checks:
        return ""
    states = [str(c["state"]) for c in checks.values()]
    when = max(str(c["checked_at"]) for c in checks.values())
    return (f"Dernière vérification le {_day(when[:10])} à {when[11:16]} : "
            f"{states.count('nouvelle')} nouvelle(s) édition(s), {states.count('a_jour')} à "
            f"jour, {states.count('erreur')} en erreur")  # fmt: skip


def summarise(found: list[SourceCheck]) -> str:
    """One line for the journal and the terminal: how many sources, new editions, errors."""
    states = [c.state for c in found]
    return (f"{len(found)} source(s) vérifiée(s) : {states.count('nouvelle')} nouvelle(s) "
            f"édition(s), {states.count('a_jour')} à jour, {states.count('erreur')} "
            "en erreur")  # fmt: skip


def _chosen(editions: list[Edition], asked: str | None, ident: str) -> Edition:
    if not editions:
        raise RemoteError(f"la source « {ident} » : aucune édition publiée")
    if asked is None:
        return editions[0]
    for edition in editions:
        if asked in (edition.key, edition.ident, edition.modified):
            return edition
    raise UnknownNameError("édition", asked, [e.key for e in editions])


def _row(source: str, remote: Remote, edition: Edition, now: datetime) -> dict[str, object]:
    checksum = f"{edition.checksum[0]}:{edition.checksum[1]}" if edition.checksum else None
    return {"source": source, "edition": edition.key, "remote": str(remote),
            "ident": edition.ident, "title": edition.title, "modified": edition.modified,
            "url": edition.url, "file_name": edition.file_name, "size": edition.size,
            "checksum": checksum, "covers": edition.covers, "first_seen": stamp(now)}  # fmt: skip


def _safe(name: str) -> str:
    """A producer's file name safe in the cache folder (no path, no hidden file)."""
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    return kept.lstrip(".") or "fichier"


def _day(text: str | None) -> str:
    """« 18/06/2025 » from an ISO date (or the text as given)."""
    if not text or len(text) < 10 or text[4] != "-":
        return text or "date inconnue"
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
