"""Backing an observatory up while it serves: one archive (:mod:`.backup_format`) of a
snapshot of each database and of the home's files, never a copy of a file under a writer.

- the warehouse (DuckDB): the generation published when the backup begins, copied from its
  open handle (:func:`observatoire.store.generations.open_current`): a published generation
  never changes, writers publish newer ones meanwhile;
- the application database (SQLite): SQLite's online backup, one read transaction (writers
  go on, thanks to its WAL);
- in server mode, PostgreSQL: ``pg_dump`` on one exported snapshot
  (:mod:`observatoire.store.backups`), warehouse and application tables together;
- the documents the snapshot of the application database references: content-addressed,
  never changed once stored; one missing is an error (after retries, in case a removal was
  pruning it), never a silently incomplete backup;
- every other file of the home (settings, collections, own indicators, dashboards, portrait
  settings and templates, proposals waiting for a decision, the files the observatory
  keeps…): each is replaced whole when it changes (a rename), so each is read whole; one that
  changes between its reading and its writing into the archive starts the backup again;
- the pseudonymisation key, unless left out (``with_key=False``).

The warehouse and the application database are two snapshots taken one after the other (less
than a second apart): their writes are never one transaction anyway.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from observatoire.errors import HomeError, InputError
from observatoire.home import (
    DUCKDB_FILE,
    PSEUDONYM_KEY_ENV,
    PSEUDONYM_KEY_FILE,
    SETTINGS_FILE,
    Home,
)
from observatoire.services.backup_format import (
    APP_FILE,
    BLOCK,
    FILES,
    KINDS,
    Manifest,
    Member,
    MemberChanged,
    digest,
    engine_file,
    write_archive,
)
from observatoire.services.inventory import DOCUMENTS
from observatoire.store import generations, open_warehouse
from observatoire.store.appdb import APP_MIGRATIONS, AppDatabase
from observatoire.store.backups import (
    Snapshot,
    app_contents,
    dump_postgres,
    postgres_tool,
)
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.store.versions import refuse_newer

__all__ = ["ATTEMPTS", "BackupReport", "backup_home"]

ATTEMPTS = 3  # a backup that meets a file changing under it starts again, so many times


@dataclass(frozen=True)
class BackupReport:
    """A backup written: its archive, manifest, size, duration, and what was left out."""

    archive: Path
    manifest: Manifest
    size: int
    seconds: float
    notes: tuple[str, ...]


@dataclass
class _Found:
    """The members gathered so far, where to read each, and the notes for the user."""

    members: list[Member] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, kind: str, source: Path) -> None:
        size, sha256 = digest(source)
        self.members.append(Member(name, kind, size, sha256))
        self.sources.append(source)


def backup_home(
    home: Home, target: Path, *, with_key: bool = True, replace: bool = False
) -> BackupReport:
    """Back ``home`` up into the archive ``target`` (written whole or not at all, readable
    by its owner only); ``replace``: an existing ``target`` is replaced."""
    target = Path(os.path.abspath(target))
    _check_target(home, target, replace)
    started = time.monotonic()
    failure: MemberChanged | None = None
    for _ in range(ATTEMPTS):
        try:
            manifest, size, notes = _attempt(home, target, with_key)
        except MemberChanged as exc:
            failure = exc
            continue
        return BackupReport(target, manifest, size, time.monotonic() - started, notes)
    raise HomeError(f"sauvegarde impossible après {ATTEMPTS} essais : {failure}")


def _check_target(home: Home, target: Path, replace: bool) -> None:
    if target.is_dir():
        raise InputError(
            "c'est un dossier : donnez le nom du fichier de la sauvegarde "
            f"(ex. {target / 'observatoire-AAAA-MM-JJ.tar.gz'})",
            path=target,
        )
    if target.exists() and not replace:
        raise InputError("le fichier existe déjà : --force pour le remplacer", path=target)
    if not target.parent.is_dir():
        raise InputError(f"dossier introuvable : {target.parent}", path=target)
    if target.resolve().is_relative_to(home.path.resolve()):
        raise InputError(
            "une sauvegarde ne s'écrit pas dans l'observatoire qu'elle sauvegarde (elle s'y "
            "inclurait, et disparaîtrait avec lui) : choisissez un autre dossier",
            path=target,
        )


def _attempt(home: Home, target: Path, with_key: bool) -> tuple[Manifest, int, tuple[str, ...]]:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as folder:
        staging = Path(folder)
        found = _Found()
        if home.backend == "postgres":
            snapshot = _postgres(home, staging, found)
        else:
            schema_version, data_version = _warehouse(home, staging, found)
            app_version, documents = _appdb(home, staging, found)
            snapshot = Snapshot(schema_version, data_version, app_version, documents)
        # a home a later release migrated is not this release's to save (nor to restore)
        refuse_newer("son entrepôt", home.path, snapshot.schema_version, SCHEMA_VERSION, None)
        steps = len(APP_MIGRATIONS)
        refuse_newer("sa base applicative", home.path, snapshot.app_version, steps, None)
        _documents(home, snapshot.documents, found)
        key = _home_files(home, found, with_key)
        manifest = Manifest(
            backend=home.backend,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            schema_version=snapshot.schema_version,
            app_version=snapshot.app_version,
            data_version=snapshot.data_version,
            key=key,
            members=tuple(found.members),
            postgres_schema=snapshot.schema,
        )
        size = write_archive(target, manifest, found.sources)
    return manifest, size, tuple(found.notes)


def _warehouse(home: Home, staging: Path, found: _Found) -> tuple[int, str]:
    """The published generation, copied; its schema and data versions."""
    copy = staging / str(KINDS["warehouse"])
    with generations.open_current(home.path / DUCKDB_FILE) as handle, copy.open("wb") as out:
        shutil.copyfileobj(handle, out, BLOCK)
    with open_warehouse("duckdb", str(copy), read_only=True) as warehouse:
        versions = warehouse.schema_version(), warehouse.data_version()
    found.add(copy.name, "warehouse", copy)
    return versions


def _appdb(home: Home, staging: Path, found: _Found) -> tuple[int, set[str]]:
    """The application database copied online; its version and its documents' files."""
    source = home.path / APP_FILE
    if not source.is_file():  # never opened yet: nothing to keep
        return 0, set()
    copy = staging / APP_FILE
    live = AppDatabase(f"sqlite:///{source}")
    try:
        live.backup_to(copy)
    finally:
        live.close()
    snapshot = AppDatabase(f"sqlite:///{copy}")
    try:
        contents = app_contents(snapshot)
    finally:
        snapshot.close()  # hashed once closed: reading it touches its header
    found.add(APP_FILE, "appdb", copy)
    return contents


def _postgres(home: Home, staging: Path, found: _Found) -> Snapshot:
    tool = postgres_tool("pg_dump")
    if tool is None:
        raise HomeError(
            "pg_dump introuvable : installez le client PostgreSQL (Debian : apt-get install "
            "postgresql-client, de la version du serveur ou plus récente), ou sauvegardez à la "
            "main la base puis les fichiers de l'observatoire :\n"
            '  pg_dump --format=custom --schema=public --dbname="$OBSERVATOIRE_DATABASE_URL" '
            "--file=observatoire.dump    (le schéma de l'observatoire : public par défaut)\n"
            f"  tar -czf observatoire-fichiers.tar.gz -C {home.path} ."
        )
    dump = staging / str(KINDS["postgres"])
    snapshot = dump_postgres(home.location, dump, tool)
    found.add(dump.name, "postgres", dump)
    return snapshot


def _documents(home: Home, documents: set[str], found: _Found) -> None:
    folder = home.path / DOCUMENTS
    for name in sorted(documents):
        path = folder / name
        try:
            if "/" in name or not path.is_file():
                raise FileNotFoundError(name)
            found.add(f"{FILES}{DOCUMENTS}/{name}", "document", path)
        except FileNotFoundError:
            raise MemberChanged(
                f"le fichier {DOCUMENTS}/{name}, que la bibliothèque référence, est absent de "
                f"l'observatoire {home.path}"
            ) from None


def _home_files(home: Home, found: _Found, with_key: bool) -> str:
    """Every other file of the home; what became of the key."""
    for path in _walk(home.path, found):
        relative = path.relative_to(home.path).as_posix()
        kind = {SETTINGS_FILE: "settings", PSEUDONYM_KEY_FILE: "key"}.get(relative, "file")
        if kind == "key" and not with_key:
            continue
        try:
            found.add(FILES + relative, kind, path)
        except FileNotFoundError:  # removed meanwhile: no longer part of the home
            continue
    if os.environ.get(PSEUDONYM_KEY_ENV):
        found.notes.append(
            f"clé de pseudonymisation : celle en usage vient de {PSEUDONYM_KEY_ENV}, elle "
            "n'est ni dans l'observatoire ni dans la sauvegarde ; gardez-la à part, avec autant "
            "de soin : sans elle, les pseudonymes à venir ne correspondront plus aux anciens"
        )
        return "environment"
    if not (home.path / PSEUDONYM_KEY_FILE).is_file():
        return "none"
    if not with_key:
        found.notes.append(
            "clé de pseudonymisation laissée de côté (--without-key) : gardez-la à part "
            f"({home.path / PSEUDONYM_KEY_FILE}) ; sans elle, un observatoire restauré fera "
            "des pseudonymes qui ne correspondent plus aux anciens"
        )
        return "left_out"
    return "included"


def _walk(root: Path, found: _Found) -> list[Path]:
    """The regular files of the home but the engine's own, the documents (taken from the
    application database) and files being written; links and special files are noted."""
    files = []
    for directory, folders, names in os.walk(root):
        here = Path(directory)
        if here == root:
            # the documents come from the application database; the engines' folders (a
            # generation's spill folder) are theirs
            folders[:] = [f for f in folders if f != DOCUMENTS and not engine_file(f)]
        folders.sort()
        for name in sorted(names + [f for f in folders if (here / f).is_symlink()]):
            path = here / name
            if (here == root and engine_file(name)) or name.endswith(".partiel"):
                continue
            if path.is_symlink() or not path.is_file():
                found.notes.append(f"laissé de côté (lien ou fichier spécial) : {path}")
                continue
            files.append(path)
    return files
