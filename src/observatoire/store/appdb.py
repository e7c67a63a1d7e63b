"""The application database: accounts, sessions, API tokens, login attempts, audit log.

Kept apart from the statistics: SQLite (a file in the home, WAL journal so that several server
processes share it) by default; PostgreSQL in server mode (tables prefixed ``app_`` in the
warehouse's database). Both are driven with the same portable SQL (``?`` placeholders) and
migrated by numbered steps recorded in ``app_meta``. Moments are kept as ISO 8601 text in UTC
(:func:`stamp`), compared as text.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.errors import StorageError
from observatoire.store.versions import MIGRATED_BY, refuse_newer, release

__all__ = ["APP_FILE", "APP_MIGRATIONS", "AppDatabase", "open_appdb", "stamp"]

APP_FILE = "application.sqlite"  # the SQLite application database, in the home

# Each step: statements run once, in order, inside one transaction.
APP_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE app_meta (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE TABLE app_user (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, "
        "role TEXT NOT NULL, organisation TEXT, password_hash TEXT NOT NULL, "
        "active INTEGER NOT NULL, created_at TEXT NOT NULL)",
        "CREATE TABLE app_session (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
        "created_at TEXT NOT NULL, expires_at TEXT NOT NULL)",
        "CREATE TABLE app_token (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
        "label TEXT, created_at TEXT NOT NULL, last_used TEXT)",
        "CREATE TABLE app_login_attempt (login TEXT NOT NULL, client TEXT NOT NULL, "
        "at TEXT NOT NULL)",
        "CREATE INDEX idx_app_login_attempt ON app_login_attempt (login, at)",
        "CREATE TABLE app_audit (at TEXT NOT NULL, actor TEXT, action TEXT NOT NULL, "
        "target TEXT, detail TEXT, client TEXT)",
        "CREATE INDEX idx_app_audit_at ON app_audit (at)",
    ),
    # 2: the inventory (sources, observation needs, work programme actions, documents), kept
    # here because analysts edit it from the web while several server processes read it.
    (
        "CREATE TABLE app_source (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, updated_by TEXT)",
        "CREATE TABLE app_need (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, updated_by TEXT)",
        "CREATE TABLE app_action (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, updated_by TEXT)",
        "CREATE TABLE app_document (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
        "file_name TEXT NOT NULL, stored_as TEXT NOT NULL, media_type TEXT NOT NULL, "
        "size BIGINT NOT NULL, origin TEXT UNIQUE, pages INTEGER NOT NULL, "
        "updated_at TEXT NOT NULL, updated_by TEXT)",
        "CREATE TABLE app_document_page (document TEXT NOT NULL, page INTEGER NOT NULL, "
        "text TEXT NOT NULL, PRIMARY KEY (document, page))",
        "CREATE TABLE app_document_term (term TEXT NOT NULL, document TEXT NOT NULL, "
        "weight INTEGER NOT NULL, PRIMARY KEY (term, document))",
        "CREATE INDEX idx_app_document_term_document ON app_document_term (document)",
    ),
    # 3: logins throttled per account and per client, successes counted too (the rows of
    # migration 1 were failures); the addresses each account signed in from; API tokens with a
    # number, an expiry (tokens created before: one year after their creation) and a date of
    # revocation (a revoked token is refused with its date rather than as unknown).
    (
        "ALTER TABLE app_login_attempt ADD COLUMN kind TEXT NOT NULL DEFAULT 'failure'",
        "CREATE INDEX idx_app_login_attempt_client ON app_login_attempt (client, at)",
        "CREATE TABLE app_known_client (user_id TEXT NOT NULL, client TEXT NOT NULL, "
        "last_at TEXT NOT NULL, PRIMARY KEY (user_id, client))",
        "CREATE INDEX idx_app_session_user ON app_session (user_id)",
        "ALTER TABLE app_token ADD COLUMN id TEXT",
        "ALTER TABLE app_token ADD COLUMN expires_at TEXT",
        "ALTER TABLE app_token ADD COLUMN revoked_at TEXT",
        "UPDATE app_token SET id = substr(token_hash, 1, 12), expires_at = replace("
        "CAST(CAST(substr(created_at, 1, 4) AS INTEGER) + 1 AS TEXT) || substr(created_at, 5), "
        "'-02-29T', '-02-28T')",
        "CREATE UNIQUE INDEX idx_app_token_id ON app_token (id)",
        "CREATE INDEX idx_app_token_user ON app_token (user_id)",
    ),
    # 4: the data-quality review (issue 25): its flags (points de vigilance) with the state
    # analysts give them, every change of state, each review, and the periods each indicator
    # had at each level at the last review (a vintage that disappears is seen).
    (
        "CREATE TABLE app_quality_flag (id TEXT PRIMARY KEY, domain TEXT NOT NULL, "
        "check_name TEXT NOT NULL, severity TEXT NOT NULL, subject TEXT NOT NULL, "
        "level TEXT NOT NULL, code TEXT NOT NULL, period TEXT NOT NULL, message TEXT NOT NULL, "
        "detail TEXT NOT NULL, batch BIGINT, state TEXT NOT NULL, comment TEXT, set_by TEXT, "
        "set_at TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, review BIGINT)",
        "CREATE INDEX idx_app_quality_flag_subject ON app_quality_flag (subject, level, code)",
        "CREATE TABLE app_quality_event (flag TEXT NOT NULL, at TEXT NOT NULL, actor TEXT, "
        "state_from TEXT, state_to TEXT NOT NULL, comment TEXT)",
        "CREATE INDEX idx_app_quality_event_flag ON app_quality_event (flag)",
        "CREATE TABLE app_quality_review (id BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT, "
        "scope TEXT NOT NULL, raised BIGINT NOT NULL, new BIGINT NOT NULL, "
        "resolved BIGINT NOT NULL, seconds DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE app_quality_periods (indicator TEXT NOT NULL, level TEXT NOT NULL, "
        "periods TEXT NOT NULL, PRIMARY KEY (indicator, level))",
    ),
    # 5: a flag resolved by a review keeps the judgement an analyst had given it (confirmé,
    # faux positif): raised again (a vintage withdrawn and imported again), it takes it back.
    ("ALTER TABLE app_quality_flag ADD COLUMN judged TEXT",),
    # 6: producers' editions (issue 27): each edition a source's remote was seen to publish,
    # when it was fetched and the import it became; the last check of each source.
    (
        "CREATE TABLE app_remote_edition (source TEXT NOT NULL, edition TEXT NOT NULL, "
        "remote TEXT NOT NULL, ident TEXT NOT NULL, title TEXT, modified TEXT, url TEXT NOT NULL, "
        "file_name TEXT NOT NULL, size BIGINT, checksum TEXT, covers TEXT, "
        "first_seen TEXT NOT NULL, fetched_at TEXT, fetched_by TEXT, file TEXT, batch BIGINT, "
        "PRIMARY KEY (source, edition))",
        "CREATE TABLE app_remote_check (source TEXT PRIMARY KEY, remote TEXT NOT NULL, "
        "checked_at TEXT NOT NULL, latest TEXT, state TEXT NOT NULL, message TEXT)",
    ),
    # 7: the import a check's verdict rests on (the fetched edition found in force): withdrawn
    # since, the verdict « à jour » is no more.
    ("ALTER TABLE app_remote_check ADD COLUMN rests_on BIGINT",),
)


def stamp(moment: datetime, timespec: str = "seconds") -> str:
    """``moment`` as the application database keeps it: ISO 8601 text, which sorts as the
    moments do (all of them in UTC).

    >>> from datetime import UTC
    >>> stamp(datetime(2026, 3, 1, 8, 30, 5, 250, tzinfo=UTC))
    '2026-03-01T08:30:05+00:00'
    """
    return moment.isoformat(timespec=timespec)


class AppDatabase:
    """A small SQL store with ``?`` placeholders, thread-safe, all-or-nothing transactions."""

    dialect: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self._path = Path(url.removeprefix("sqlite:///"))
            self._con: Any = self._sqlite()
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgres"
            import psycopg

            try:
                self._con = psycopg.connect(url, autocommit=True)
            except psycopg.Error as exc:
                raise StorageError(f"base applicative PostgreSQL injoignable : {exc}") from None
        else:
            raise StorageError(f"adresse de base applicative non reconnue : {url}")

    def _sqlite(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA busy_timeout=5000")
        return con

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("%", "%%").replace("?", "%s")

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock:
            cursor = self._con.execute(self._sql(sql), list(params))
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return pd.DataFrame(cursor.fetchall(), columns=columns)

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        with self.transaction() as run:
            run(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Yields ``run(sql, params)``; everything run commits together or not at all."""
        with self._lock:
            if self.dialect == "sqlite":
                self._con.execute("BEGIN IMMEDIATE")
                try:
                    yield lambda sql, params=(): self._con.execute(sql, list(params))
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
                self._con.execute("COMMIT")
            else:
                with self._con.transaction():
                    yield lambda sql, params=(): self._con.execute(self._sql(sql), list(params))

    def migrate(self, *, home: str | Path | None = None) -> int:
        """Apply the steps of :data:`APP_MIGRATIONS` not yet applied (recording which release
        applied them); the version reached. A database a later release migrated is refused
        (naming ``home``), never migrated down."""
        known = len(APP_MIGRATIONS)
        with self.transaction() as run:
            found = self._meta() if self._has_meta() else {}
            current = int(found.get("version", 0))
            refuse_newer("sa base applicative", home, current, known, found.get(MIGRATED_BY))
            for step in APP_MIGRATIONS[current:]:
                for statement in step:
                    run(statement)
            if current < known:
                for key, value in (("version", str(known)), (MIGRATED_BY, release())):
                    run("DELETE FROM app_meta WHERE key = ?", [key])
                    run("INSERT INTO app_meta (key, value) VALUES (?, ?)", [key, value])
        return known

    def _meta(self) -> dict[str, str]:
        """``app_meta``, read inside the migration's transaction."""
        rows = self._con.execute("SELECT key, value FROM app_meta").fetchall()
        return {str(key): str(value) for key, value in rows}

    def _has_meta(self) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'app_meta'"
        else:
            sql = (
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = 'app_meta'"
            )
        row = self._con.execute(sql).fetchone()
        return bool(row and row[0])

    def backup_to(self, target: Path) -> None:
        """A consistent copy of this SQLite database as ``target``: SQLite's online backup,
        one read transaction while other processes go on writing (WAL); the copy is one
        self-contained file (rollback journal). PostgreSQL has its own tool: ``pg_dump``."""
        if self.dialect != "sqlite":
            raise StorageError("copie en ligne : base SQLite seulement (PostgreSQL : pg_dump)")
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            with self._lock:
                self._con.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()

    def close(self) -> None:
        with self._lock:
            self._con.close()


def open_appdb(home: Path, backend: str, dsn: str | None = None) -> AppDatabase:
    """The application database of a home: ``application.sqlite`` in it, or the PostgreSQL
    database ``dsn`` when the warehouse is there too. Migrated on opening (refused when a
    later release migrated it)."""
    url = f"sqlite:///{home / APP_FILE}" if backend != "postgres" else str(dsn)
    database = AppDatabase(url)
    try:
        database.migrate(home=home)
    except BaseException:
        database.close()
        raise
    return database
