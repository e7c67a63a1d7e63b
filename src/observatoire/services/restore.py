"""Restoring an observatory from a backup (:mod:`.backup_format`) into a new home.

Nothing is written before the whole archive is read and checked (its manifest, the checksum
of every member, the gzip stream to its end) and the target found free: a directory that is
not empty is replaced only when asked (``replace``), a PostgreSQL schema that holds tables
likewise. The home is then built in a folder beside the target, its warehouse checked (the
data version of the backup), and renamed into place in one step; a home replaced is moved
aside first and removed once the new one is in place.

In server mode the database is loaded by ``pg_restore`` (one transaction) into the schema it
was dumped from, in the database of ``OBSERVATOIRE_DATABASE_URL``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from observatoire.errors import HomeError, InputError, StorageError
from observatoire.home import DATABASE_URL_ENV, DUCKDB_FILE, PSEUDONYM_KEY_FILE, Home
from observatoire.services.backup_format import (
    APP_FILE,
    Manifest,
    Member,
    read_archive,
)
from observatoire.store import generations, open_warehouse
from observatoire.store.appdb import APP_MIGRATIONS
from observatoire.store.backups import postgres_target, postgres_tool, restore_postgres
from observatoire.store.schema import SCHEMA_VERSION

__all__ = ["RestoreReport", "check_archive", "restore_home"]


@dataclass(frozen=True)
class RestoreReport:
    """A home restored: where, from what, how long, and what its user should know."""

    home: Path
    manifest: Manifest
    seconds: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Postgres:
    """Where and how a server-mode backup is loaded."""

    dsn: str
    tool: Path
    replace: bool


def check_archive(archive: Path) -> Manifest:
    """The manifest of ``archive`` once every member is checked; writes nothing."""
    return read_archive(archive)


def restore_home(
    archive: Path, target: Path, *, replace: bool = False, replace_database: bool = False
) -> RestoreReport:
    """Restore the backup ``archive`` as the home ``target``; ``replace``: the files of an
    observatory already there are replaced; ``replace_database``: the tables of the
    PostgreSQL schema too (apart: the database may serve another home)."""
    started = time.monotonic()
    target = Path(os.path.abspath(target))  # "." and "obs/.." have a name and a parent
    occupied = _check_target(target, replace)
    manifest = read_archive(archive)
    server = (
        _postgres(manifest, archive, target, replace_database)
        if manifest.backend == "postgres"
        else None
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.restauration-"))
    try:
        if occupied:
            os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
        _build(archive, manifest, staging, server)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    notes = _notes(manifest, target, occupied)
    return RestoreReport(target, manifest, time.monotonic() - started, tuple(notes))


def _check_target(target: Path, replace: bool) -> bool:
    """Whether ``target`` holds something (then ``replace`` is required)."""
    if not target.exists() and not target.is_symlink():
        return False
    if not target.is_dir() or target.is_symlink():
        raise InputError(
            "existe et n'est pas un dossier : choisissez un autre dossier", path=target
        )
    if not any(target.iterdir()):
        return False
    if not replace:
        raise InputError(
            "le dossier n'est pas vide : --force pour remplacer ce qu'il contient (mis de côté, "
            "puis supprimé une fois la restauration réussie)",
            path=target,
        )
    return True


def _postgres(manifest: Manifest, archive: Path, target: Path, replace: bool) -> _Postgres:
    """Where a server-mode backup goes, checked before anything is written."""
    dsn = os.environ.get(DATABASE_URL_ENV)
    if not dsn:
        raise HomeError(
            f"sauvegarde d'un observatoire en mode serveur (PostgreSQL) : définissez "
            f"{DATABASE_URL_ENV}, l'adresse de la base où la restaurer"
        )
    tool = postgres_tool("pg_restore")
    schema = manifest.postgres_schema
    if tool is None:
        raise HomeError(
            "pg_restore introuvable : installez le client PostgreSQL (Debian : apt-get install "
            "postgresql-client), ou restaurez à la main dans une base neuve — la base, puis les "
            "fichiers de l'observatoire :\n"
            f"  tar -xzf {archive} postgres.dump\n"
            "  pg_restore --single-transaction --exit-on-error --no-owner --no-privileges "
            f'--clean --if-exists --dbname="${DATABASE_URL_ENV}" postgres.dump\n'
            f"  mkdir {target} && tar -xzf {archive} -C {target} --strip-components=1 fichiers\n"
            f"(tables dans le schéma « {schema} » : le search_path de {DATABASE_URL_ENV} doit y "
            "mener)"
        )
    reached, tables = postgres_target(dsn, schema)
    if reached != schema:
        raise InputError(
            f"la sauvegarde contient le schéma PostgreSQL « {schema} », or {DATABASE_URL_ENV} "
            f"lit le schéma « {reached or '(aucun)'} » : faites-la mener à « {schema} » (ajoutez "
            f"options=-csearch_path%3D{schema} à son adresse)",
            path=archive,
        )
    if tables and not replace:
        raise InputError(
            f"le schéma « {schema} » de la base {_named(dsn)} ({DATABASE_URL_ENV}) contient "
            f"déjà {tables} table(s), peut-être celles d'un observatoire en service : restaurez "
            "dans une base neuve, ou --replace-database pour remplacer ses tables par celles de "
            "la sauvegarde",
            path=archive,
        )
    return _Postgres(dsn, tool, replace=bool(tables))


def _named(dsn: str) -> str:
    """A database named for people: host, port and name, never the password."""
    from urllib.parse import urlsplit

    parts = urlsplit(dsn)
    name = parts.path.lstrip("/") or "?"
    return f"« {name} » sur {parts.hostname or 'localhost'}:{parts.port or 5432}"


def _build(archive: Path, manifest: Manifest, home: Path, server: _Postgres | None) -> None:
    """The restored home in ``home`` (a new folder), its warehouse checked."""
    link = home / DUCKDB_FILE
    generation: list[Path] = []
    dump = home / ".postgres.dump"

    def place(member: Member) -> Path:
        if member.kind == "warehouse":
            generation.append(generations.start(link))
            return generation[-1]
        if member.kind == "appdb":
            return home / APP_FILE
        if member.kind == "postgres":
            return dump
        path = home / str(member.home_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    read_archive(archive, place, expected=manifest)
    if (home / PSEUDONYM_KEY_FILE).exists():
        (home / PSEUDONYM_KEY_FILE).chmod(0o600)
    Home.load(home)  # its settings read
    if server is None:
        generations.publish(link, generation[0])
        location = str(link)
    else:
        restore_postgres(
            server.dsn, dump, server.tool, schema=manifest.postgres_schema, replace=server.replace
        )
        for leftover in home.glob(".postgres.dump*"):
            leftover.unlink()
        location = server.dsn
    with open_warehouse(manifest.backend, location, read_only=True) as warehouse:
        found = warehouse.data_version()
    if found != manifest.data_version:
        raise StorageError(
            f"l'entrepôt restauré n'a pas la version de données de la sauvegarde ({found} au "
            f"lieu de {manifest.data_version})"
        )


def _swap(staging: Path, target: Path) -> None:
    """``staging`` renamed as ``target``; what ``target`` held moved aside, then removed."""
    aside = None
    if target.is_dir() and any(target.iterdir()):
        aside = target.with_name(f".{target.name}.ancien-{secrets.token_hex(3)}")
        os.rename(target, aside)
    elif target.is_dir():
        target.rmdir()
    try:
        os.rename(staging, target)
    except OSError:
        if aside is not None:
            os.rename(aside, target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _notes(manifest: Manifest, target: Path, replaced: bool) -> list[str]:
    notes = []
    if replaced:
        notes.append(f"l'observatoire qui était dans {target} a été remplacé")
    if manifest.key == "left_out":
        notes.append(
            "la sauvegarde ne contient pas la clé de pseudonymisation (--without-key) : "
            f"replacez la clé gardée à part dans {target / PSEUDONYM_KEY_FILE} (lisible par son "
            "seul propriétaire) ; sinon une nouvelle clé sera créée au premier import "
            "d'enregistrements, et les nouveaux pseudonymes ne correspondront pas aux anciens"
        )
    elif manifest.key == "environment":
        notes.append(
            "la clé de pseudonymisation venait de OBSERVATOIRE_PSEUDONYM_KEY : définissez-la "
            "de même pour cet observatoire, sinon les nouveaux pseudonymes ne correspondront "
            "pas aux anciens"
        )
    if manifest.backend == "postgres":
        notes.append(
            f"base restaurée dans le schéma « {manifest.postgres_schema} » de "
            f"{DATABASE_URL_ENV} : l'observatoire restauré la lit par cette même variable"
        )
    older = manifest.schema_version < SCHEMA_VERSION or (
        0 < manifest.app_version < len(APP_MIGRATIONS)
    )
    if older:
        notes.append(
            "l'observatoire sauvegardé date d'une version précédente : lancez "
            f"« observatoire --home {target} init » pour le mettre à jour"
        )
    return notes
