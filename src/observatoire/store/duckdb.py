"""DuckDB backend: the embedded default, files in the observatory home.

DuckDB lets one process hold a file read-write, and then no other process may read it. The
warehouse is therefore a series of immutable files (:mod:`observatoire.store.generations`):
every process reads the published one, read-only; a transaction is written to a copy, by one
process at a time (the home's write lock), and published whole when it commits. So the
command line reads and writes while ``serve`` runs, with one worker or several, and the server
sees each write at its next request without a restart.

Reads see the data committed when they run (as PostgreSQL's default): a query outside any
:meth:`DuckDBWarehouse.snapshot` reads the newest generation; inside one (a web request, from
every thread it uses), one generation throughout, the one published at its start or, after
a write of its own, that write's. The thread inside a transaction reads its own writes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from observatoire.errors import HomeError, StorageError
from observatoire.store import generations
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
# transaction is whole or absent (0 in 150). Since generations, a write killed at any moment is
# discarded whole anyway (its copy is never published); the setting is kept as a second guard.
# tests/test_atomicity.py kills imports to check it.
CONFIG: dict[str, str | bool | int | float | list[str]] = {"enable_optimistic_write": False}
# DuckDB takes 80 % of the machine by default and keeps what a transaction writes in memory;
# bounded, it spills to disk instead: `compute` on every real national file at 1 GB takes 3 %
# longer than unbounded and peaks at 1.4 GB instead of 5.2 (benchmarks/bench_national.py).
MEMORY_LIMIT = os.environ.get("OBSERVATOIRE_DUCKDB_MEMORY", "1GB")




def _connect(file: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(
            str(file), read_only=read_only, config={**CONFIG, "memory_limit": MEMORY_LIMIT}
        )
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():  # a process of a release before generations
            raise HomeError(
                f"la base {file} est ouverte en écriture par un autre processus (une version "
                "précédente d'observatoire) : réessayez quand il aura fini"
            ) from None
        raise StorageError(f"impossible d'ouvrir {file} : {exc}") from None


class _Generation:
    """A published file opened read-only, shared by the threads of this process (a cursor
    each: a DuckDB connection is not to be shared between threads)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.con = _connect(file, read_only=True)
        self.users = 0  # pins and queries in progress
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
            with self._lock:
                self._cursors.append(cursor)
        return cursor

    def close(self) -> None:
        with self._lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self.con.close()


@dataclass
class _Pin:
    """The generation a snapshot reads (moved to a newer one by a write of its own)."""

    generation: _Generation


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._read_only = read_only
        self._lock = threading.Lock()  # guards the generations and their users
        self._write_lock = threading.Lock()  # one transaction at a time in this process
        self._writer: int | None = None  # the thread inside the transaction
        self._open: _DuckTransaction | None = None
        self._pin: ContextVar[_Pin | None] = ContextVar(f"duckdb_pin_{id(self)}", default=None)
        self._current: _Generation | None = None
        self._retired: list[_Generation] = []
        if generations.current(path) is None:
            if read_only:
                raise HomeError(f"base introuvable : {path} (lancez « observatoire init »)")
            with self.transaction():
                pass  # publishes an empty generation
        self._current = self._open_current()

    @property
    def read_only(self) -> bool:
        return self._read_only

    # -- reading ----------------------------------------------------------------------------
    def _open_current(self) -> _Generation:
        for _ in range(20):
            file = generations.current(self.path)
            if file is None:
                break
            try:
                return _Generation(file)
            except StorageError:
                if file.exists():
                    raise
                # swept between the link's reading and the opening: read the link again
        raise HomeError(f"base introuvable : {self.path} (lancez « observatoire init »)")

    def _newest(self) -> _Generation:
        """The generation published last, opened if new (call with ``self._lock`` held)."""
        if self._current is None:
            raise StorageError(f"base {self.path} fermée")
        if generations.current(self.path) != self._current.file:
            previous, self._current = self._current, self._open_current()
            self._retired.append(previous)
        return self._current

    def _take(self) -> _Generation:
        with self._lock:
            generation = self._newest()
            generation.users += 1
            return generation

    def _give_back(self, generation: _Generation | None = None) -> None:
        """Release ``generation``, and close the older ones no one reads any more."""
        with self._lock:
            if generation is not None:
                generation.users -= 1
            idle = [g for g in self._retired if g.users == 0]
            self._retired = [g for g in self._retired if g.users > 0]
        for old in idle:
            old.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside (from any thread the context is carried to) sees one generation."""
        if self._pin.get() is not None:
            yield
            return
        pin = _Pin(self._take())
        token = self._pin.set(pin)
        try:
            yield
        finally:
            self._pin.reset(token)
            self._give_back(pin.generation)

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        if threading.get_ident() == self._writer and self._open is not None:
            return self._open.con.execute(sql, list(params)).df()
        pin = self._pin.get()
        if pin is not None:
            return pin.generation.cursor().execute(sql, list(params)).df()
        generation = self._take()
        try:
            return generation.cursor().execute(sql, list(params)).df()
        finally:
            self._give_back(generation)

    def has_table(self, name: str) -> bool:
        sql = "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = ?"
        return bool(self.query(sql, [name]).n.iloc[0])

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction, written to a new generation published when it commits; one opened
        inside another (same thread) is part of it: all commits, or nothing, with the
        outermost. Waits while another process writes (``on_wait`` is told)."""
        if self._read_only:
            raise StorageError("connexion en lecture seule : écriture impossible")
        if self._writer == threading.get_ident() and self._open is not None:
            yield self._open
            return
        with self._write_lock:
            lock = generations.WriteLock(self.path, self.on_wait)
            lock.acquire()
            try:
                yield from self._write()
            finally:
                lock.release()

    def _write(self) -> Iterator[Transaction]:
        file = generations.start(self.path)
        published = False
        try:
            con = _connect(file, read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                self._writer = threading.get_ident()
                tx = self._open = _DuckTransaction(con)
                try:
                    yield tx
                    self._stamp_if_ready(tx)
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                try:
                    con.execute("COMMIT")
                    con.execute("CHECKPOINT")
                except duckdb.Error as exc:
                    raise StorageError(
                        f"échec de la validation de la transaction : {exc}"
                    ) from None
            finally:
                self._writer = None
                self._open = None
                con.close()
            generations.publish(self.path, file)
            published = True
        finally:
            if not published:
                generations.discard(file)
        self._follow()

    def _follow(self) -> None:
        """After a write, this process reads it: the newest generation, the snapshot of the
        writing context included."""
        if self._current is None:
            return
        with self._lock:
            newest = self._newest()
            pin = self._pin.get()
            if pin is not None and pin.generation is not newest:
                newest.users += 1
                pin.generation.users -= 1
                pin.generation = newest
        self._give_back()

    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """Nothing to do: DuckDB keeps its statistics as it writes."""

    def close(self) -> None:
        with self._lock:
            open_ = [g for g in (self._current, *self._retired) if g is not None]
            self._current = None
            self._retired = []
        for generation in open_:
            generation.close()
