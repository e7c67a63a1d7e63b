"""PostgreSQL backend (server mode).

Needs the ``postgres`` extra: ``pip install observatoire[postgres]``.

Two connections per warehouse: reads (autocommit: each sees what is committed when it runs)
and writes (opened at the first transaction). A transaction is the writing thread's alone:
the reads of other threads never run inside it (they would see its uncommitted rows, or
join it), and the writing thread's own reads do (they see its rows). One transaction at a
time per process; PostgreSQL orders those of several processes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from observatoire.errors import StorageError
from observatoire.store.base import Transaction, Warehouse, iter_rows
from observatoire.store.schema import TABLES

__all__ = ["PostgresWarehouse"]

_PLACEHOLDER = re.compile(r"\?")


def _sql(sql: str) -> str:
    """Portable ``?`` placeholders to psycopg's ``%s`` (literal ``%`` escaped)."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


# PostgreSQL type OIDs of real numbers: float4, float8, numeric.
_REAL = {700, 701, 1700}


def _frame(cursor: Any) -> pd.DataFrame:
    columns = [d.name for d in cursor.description] if cursor.description else []
    rows = cursor.fetchall() if cursor.description else []
    frame = pd.DataFrame(rows, columns=columns)
    for i, d in enumerate(cursor.description or ()):  # NULL reals are NaN, as in DuckDB
        if d.type_code in _REAL and frame.iloc[:, i].dtype == object:
            frame.isetitem(i, frame.iloc[:, i].astype("float64"))
    for column in frame.columns:  # BYTEA comes back as memoryview
        if len(frame) and isinstance(frame[column].iloc[0], memoryview):
            frame[column] = [bytes(v) if v is not None else None for v in frame[column]]
    return frame


class _PgTransaction(Transaction):
    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self.changed = True
        self.con.execute(_sql(sql), list(params))

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return _frame(self.con.execute(_sql(sql), list(params)))

    def insert(self, table: str, frame: pd.DataFrame, *, checked: bool = False) -> int:
        if frame.empty:
            return 0
        self.changed = True
        import psycopg

        columns = ", ".join(frame.columns)
        try:
            self._copy(table, columns, frame)
        except psycopg.errors.UniqueViolation as exc:
            raise StorageError(f"clé en double dans {table} : {exc.diag.message_detail}") from None
        return len(frame)

    def _copy(self, table: str, columns: str, frame: pd.DataFrame) -> None:
        kinds = dict(TABLES[table].columns) if table in TABLES else {}
        integers = [i for i, c in enumerate(frame.columns) if kinds.get(c) in ("int", "bigint")]
        with self.con.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in iter_rows(frame):
                if integers:  # pandas widens nullable integers to float
                    values = list(row)
                    for i in integers:
                        value = values[i]
                        if isinstance(value, float):
                            values[i] = int(value)
                    row = tuple(values)
                copy.write_row(row)


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, dsn: str, *, read_only: bool = False) -> None:
        try:
            import psycopg  # noqa: F401  (a clear error now)
        except ImportError:
            raise StorageError(
                "le moteur PostgreSQL demande psycopg : pip install 'observatoire[postgres]'"
            ) from None
        self._read_only = read_only
        self._dsn = dsn
        self.con = self._connect()
        self._writing: Any = None  # the connection of writes, opened at the first transaction
        self._writer: int | None = None  # the thread inside the transaction
        self._open: _PgTransaction | None = None
        self._write_lock = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        try:
            con = psycopg.connect(self._dsn, autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(f"connexion PostgreSQL impossible : {exc}") from None
        # JIT compiles the plans PostgreSQL thinks costly: for the reads of a page (a
        # territory's values, a level's ranks) it costs more than it saves (70 ms of 530)
        con.execute("SET jit = off")
        if self._read_only:
            con.execute("SET default_transaction_read_only = on")
        return con

    @property
    def read_only(self) -> bool:
        return self._read_only

    def _reader(self) -> Any:
        """The writing thread reads inside its transaction; every other thread outside."""
        if self._open is not None and threading.get_ident() == self._writer:
            return self._open.con
        return self.con

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return _frame(self._reader().execute(_sql(sql), list(params)))

    def has_table(self, name: str) -> bool:
        row = (
            self._reader()
            .execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = %s",
                [name],
            )
            .fetchone()
        )
        return bool(row and row[0])

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction; one opened inside another (same thread) is part of it."""
        if self._read_only:
            raise StorageError("connexion en lecture seule : écriture impossible")
        if self._open is not None and threading.get_ident() == self._writer:
            yield self._open
            return
        with self._write_lock:
            if self._writing is None or self._writing.closed:
                self._writing = self._connect()
            self._writer = threading.get_ident()
            try:
                with self._writing.transaction():
                    tx = self._open = _PgTransaction(self._writing)
                    yield tx
                    self._stamp_if_ready(tx)
            finally:
                self._writer = None
                self._open = None

    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """ANALYZE: autovacuum may not have seen an import that just ended, and a planner
        that believes a table of millions of rows empty picks nested loops."""
        if not self._read_only:
            for table in tables:
                self._reader().execute(f"ANALYZE {table}")

    def close(self) -> None:
        self.con.close()
        if self._writing is not None:
            self._writing.close()
