"""What a backup asks of the databases: the contents of an application database copy, and
PostgreSQL's own tools (``pg_dump``, ``pg_restore``) run on one consistent snapshot.

The embedded engines are copied as files (:func:`observatoire.store.generations.open_current`
for DuckDB, :meth:`observatoire.store.appdb.AppDatabase.backup_to` for SQLite); PostgreSQL is
dumped by ``pg_dump`` in its custom format, from a snapshot exported by a transaction that
also reads the data version and the documents' files, so that all three agree. A dump holds
the observatory's schema only (the one its DSN's ``search_path`` leads to) and is restored
into the schema of the same name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatoire.errors import StorageError
from observatoire.store.appdb import AppDatabase
from observatoire.store.inventory import DocumentStore

__all__ = [
    "Snapshot",
    "app_contents",
    "dump_postgres",
    "postgres_target",
    "postgres_tool",
    "quoted_schema",
    "restore_postgres",
]

# Debian installs each major version's client tools here; the newest one reads every older
# server (pg_dump refuses a server newer than itself).
DEBIAN_TOOLS = Path("/usr/lib/postgresql")
# Entries of a dump's table of contents that create or comment the schema itself: left out of
# a restore, so that a dump of ``public`` loads into a new database (which has its own).
_SCHEMA_ENTRY = re.compile(r"^\d+;\s+\d+\s+\d+\s+(SCHEMA\s+-\s|(COMMENT|ACL)\s+-\s+SCHEMA\s)")


def app_contents(db: AppDatabase) -> tuple[int, set[str]]:
    """The migration version of a SQLite application database (a copy) and the files its
    documents are stored as (names in the home's ``documents`` folder)."""
    known = db.query("SELECT name FROM sqlite_master WHERE type = 'table'").name
    tables = {str(t) for t in known}
    if "app_meta" not in tables:
        return 0, set()
    found = db.query("SELECT value FROM app_meta WHERE key = 'version'")
    version = int(found.value.iloc[0]) if len(found) else 0
    documents = DocumentStore(db).stored_files() if "app_document" in tables else set()
    return version, documents


def postgres_tool(name: str) -> Path | None:
    """``pg_dump`` or ``pg_restore``: Debian's newest, else the one on the ``PATH``."""

    def major(folder: Path) -> int:
        return int(folder.name) if folder.name.isdigit() else 0

    if DEBIAN_TOOLS.is_dir():
        for folder in sorted(DEBIAN_TOOLS.iterdir(), key=major, reverse=True):
            if (folder / "bin" / name).is_file():
                return folder / "bin" / name
    found = shutil.which(name)
    return Path(found) if found else None


def quoted_schema(schema: str) -> str:
    """``schema`` as an exact pattern of ``pg_dump --schema`` (case and dots kept).

    >>> quoted_schema('Obs"93')
    '"Obs""93"'
    """
    return '"' + schema.replace('"', '""') + '"'


@dataclass(frozen=True)
class Snapshot:
    """What the databases of a backup hold: the warehouse's schema version and data version,
    the application database's migration and its documents' files; the PostgreSQL schema
    dumped (empty for the embedded engines)."""

    schema_version: int
    data_version: str
    app_version: int
    documents: set[str]
    schema: str = ""


def _connect(dsn: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StorageError(
            "le moteur PostgreSQL demande psycopg : pip install 'observatoire[postgres]'"
        ) from None
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise StorageError(f"connexion PostgreSQL impossible : {exc}") from None


def _without_password(dsn: str) -> tuple[str, dict[str, str]]:
    """``dsn`` without its password, and the environment that gives it to the tool (a
    command line is visible to every user of the machine; an environment is not)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    password = params.pop("password", None)
    environment = dict(os.environ)
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), environment


def _run(command: list[str], what: str, dsn: str | None = None) -> str:
    environment = None
    if dsn is not None:
        bare, environment = _without_password(dsn)
        command = [*command, f"--dbname={bare}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise StorageError(f"{what} a échoué (code {done.returncode}) : {detail}")
    return done.stdout


def dump_postgres(dsn: str, target: Path, tool: Path) -> Snapshot:
    """``pg_dump`` (custom format) of the schema ``dsn`` leads to, into ``target``, on the
    snapshot of a transaction that reads the data version and the documents meanwhile."""
    con = _connect(dsn)
    try:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = con.execute("SELECT pg_export_snapshot()").fetchone()[0]
        schema = con.execute("SELECT current_schema()").fetchone()[0]
        if schema is None:
            raise StorageError(
                "le search_path de la base PostgreSQL ne mène à aucun schéma existant"
            )
        tables = {
            str(row[0])
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchall()
        }
        meta: dict[str, str] = {}
        if "meta" in tables:
            meta = dict(
                con.execute(
                    "SELECT key, value FROM meta WHERE key IN ('schema_version', 'data_version')"
                ).fetchall()
            )
        app_version, documents = 0, set()
        if "app_meta" in tables:
            row = con.execute("SELECT value FROM app_meta WHERE key = 'version'").fetchone()
            app_version = int(row[0]) if row else 0
        if "app_document" in tables:
            rows = con.execute("SELECT DISTINCT stored_as FROM app_document").fetchall()
            documents = {str(r[0]) for r in rows}
        command = [
            str(tool), "--format=custom", f"--schema={quoted_schema(schema)}",
            f"--snapshot={snapshot}", f"--file={target}",
        ]  # fmt: skip
        _run(command, "pg_dump", dsn)
        con.execute("COMMIT")
    finally:
        con.close()
    return Snapshot(
        schema_version=int(meta.get("schema_version", 0)),
        data_version=meta.get("data_version", ""),
        app_version=app_version,
        documents=documents,
        schema=str(schema),
    )


def postgres_target(dsn: str, schema: str) -> tuple[str | None, int]:
    """Where ``dsn``'s tables will be read from once ``schema`` exists (the first schema of
    its ``search_path`` that exists, or is ``schema``), and how many tables ``schema`` holds
    now."""
    con = _connect(dsn)
    try:
        path, user = con.execute("SELECT current_setting('search_path'), current_user").fetchone()
        existing = {str(r[0]) for r in con.execute("SELECT nspname FROM pg_namespace").fetchall()}
        count = con.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchone()[0]
    finally:
        con.close()
    for entry in (e.strip() for e in str(path).split(",")):
        name = str(user) if entry in ("$user", '"$user"') else entry
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('""', '"')
        if name and (name in existing or name == schema):
            return name, int(count)
    return None, int(count)


def restore_postgres(dsn: str, dump: Path, tool: Path, *, schema: str, replace: bool) -> None:
    """Load ``dump`` into ``dsn``'s database, schema ``schema`` (created if needed), in one
    transaction; ``replace``: the tables of the dump already there are dropped first."""
    listing = _run([str(tool), "--list", str(dump)], "pg_restore --list")
    kept = [line for line in listing.splitlines() if not _SCHEMA_ENTRY.match(line)]
    contents = dump.with_name(dump.name + ".liste")
    contents.write_text("\n".join(kept) + "\n", encoding="utf-8")
    import psycopg.sql

    con = _connect(dsn)
    try:
        statement = psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
        con.execute(statement.format(psycopg.sql.Identifier(schema)))
    finally:
        con.close()
    command = [
        str(tool), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
        f"--use-list={contents}", *(["--clean", "--if-exists"] if replace else []), str(dump),
    ]  # fmt: skip
    _run(command, "pg_restore", dsn)
