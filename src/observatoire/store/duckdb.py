"""DuckDB backend: the embedded default, one file in the observatory home.

One process holds the file read-write at a time (DuckDB's own lock); readers open it read-only.
A second writer gets a clear :class:`~observatoire.errors.HomeError` instead of DuckDB's message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from observatoire.errors import HomeError, StorageError
from observatoire.store.base import Transaction, Warehouse, placeholders
from observatoire.store.schema import TABLES

__all__ = ["DuckDBWarehouse"]


class _DuckTransaction(Transaction):
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._n = 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self.con.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def insert(self, table: str, frame: pd.DataFrame, *, checked: bool = False) -> int:
        if frame.empty:
            return 0
        self._n += 1
        view = f"_insert_{self._n}"
        self.con.register(view, frame)
        try:
            columns = ", ".join(frame.columns)
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}")
        finally:
            self.con.unregister(view)
        if not checked:
            self._check_key(table, frame)
        return len(frame)

    def _check_key(self, table: str, frame: pd.DataFrame) -> None:
        """The primary key the schema declares, enforced here (see schema.create_sql)."""
        definition = TABLES.get(table)
        if definition is None or not definition.primary_key:
            return
        key = definition.primary_key
        columns = ", ".join(key)
        where, params = "", []
        if definition.scoped_by and definition.scoped_by in frame:
            scope = sorted({int(v) for v in frame[definition.scoped_by].unique()})
            where = f" WHERE {definition.scoped_by} IN ({placeholders(scope)})"
            params = scope
        duplicate = self.con.execute(
            f"SELECT {columns} FROM {table}{where} GROUP BY {columns} HAVING COUNT(*) > 1 LIMIT 1",
            params,
        ).fetchone()
        if duplicate:
            raise StorageError(
                f"clé en double dans {table} : {dict(zip(key, duplicate, strict=True))}"
            )


# DuckDB 1.5 writes a large append's row groups to the file before COMMIT ("optimistic
# writes"); a process killed while committing can then come back with those row groups and
# without the rest of the transaction (an import half-written: seen on the IRIS import, and
# reproduced with three tables, 3 kills in 60). Kept in memory until COMMIT instead, the
# transaction is whole or absent (0 in 150). tests/test_atomicity.py kills imports to check it.
CONFIG: dict[str, str | bool | int | float | list[str]] = {"enable_optimistic_write": False}
# DuckDB takes 80 % of the machine by default and keeps what a transaction writes in memory;
# bounded, it spills to disk instead: `compute` on every real national file at 1 GB takes 3 %
# longer than unbounded and peaks at 1.4 GB instead of 5.2 (benchmarks/bench_national.py).
MEMORY_LIMIT = os.environ.get("OBSERVATOIRE_DUCKDB_MEMORY", "1GB")


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._read_only = read_only
        # A connection is not to be shared between threads. The thread inside a transaction
        # uses the connection (and sees its own writes); every other read goes through a
        # cursor of its own thread (committed data). One transaction at a time.
        self._writer: int | None = None
        self._open: Transaction | None = None  # the transaction in progress
        self._write_lock = threading.Lock()
        self._local = threading.local()
        if read_only and not path.exists():
            raise HomeError(f"base introuvable : {path} (lancez « observatoire init »)")
        try:
            self.con = duckdb.connect(
                str(path), read_only=read_only, config={**CONFIG, "memory_limit": MEMORY_LIMIT}
            )
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise HomeError(
                    f"la base {path} est ouverte en écriture par un autre processus "
                    "(un seul processus écrit à la fois) : réessayez quand il aura fini"
                ) from None
            raise StorageError(f"impossible d'ouvrir {path} : {exc}") from None

    @property
    def read_only(self) -> bool:
        return self._read_only

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return self._reader().execute(sql, list(params)).df()

    def _reader(self) -> duckdb.DuckDBPyConnection:
        if threading.get_ident() == self._writer:
            return self.con
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
        return cursor

    def has_table(self, name: str) -> bool:
        rows = (
            self._reader()
            .execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [name])
            .fetchone()
        )
        return bool(rows and rows[0])

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction; a transaction opened inside another (same thread) is part of it:
        everything commits, or nothing, with the outermost."""
        if self._read_only:
            raise StorageError("connexion en lecture seule : écriture impossible")
        if self._writer == threading.get_ident() and self._open is not None:
            yield self._open
            return
        with self._write_lock:
            self._writer = threading.get_ident()
            try:
                yield from self._transaction()
            finally:
                self._writer = None
                self._open = None

    def _transaction(self) -> Iterator[Transaction]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            tx = self._open = _DuckTransaction(self.con)
            yield tx
            self._stamp_if_ready(tx)
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                raise StorageError(f"échec de la validation de la transaction : {exc}") from None

    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """Nothing to do: DuckDB keeps its statistics as it writes."""

    def close(self) -> None:
        self.con.close()
