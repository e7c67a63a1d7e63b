"""The warehouse interface: what the rest of the platform may ask of a database.

Two backends implement it: DuckDB (embedded, the default: one file in the observatory home) and
PostgreSQL (server mode). Callers write portable SQL with ``?`` placeholders and pass frames to
:meth:`Transaction.insert`; every change happens inside :meth:`Warehouse.transaction`, which
commits all or nothing (an import killed half-way leaves the base as it was).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from uuid import uuid4

import pandas as pd

from observatoire.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES, create_sql

__all__ = ["Readable", "Transaction", "Warehouse", "iter_rows", "placeholders"]


class Transaction(ABC):
    """One open transaction: everything done through it commits together or not at all."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement with ``?`` placeholders."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run a query inside the transaction (sees its uncommitted changes)."""

    @abstractmethod
    def insert(self, table: str, frame: pd.DataFrame, *, checked: bool = False) -> int:
        """Append the rows of ``frame`` (columns named as the table's) and return their count.

        The table's primary key is enforced, unless ``checked``: the caller has made sure the
        rows are unique (engines without indexes then skip a costly verification).
        """

    def replace(
        self, table: str, frame: pd.DataFrame, where: str = "", params: Sequence[object] = ()
    ) -> int:
        """Delete the rows matching ``where`` (all rows if empty), then insert ``frame``."""
        self.execute(f"DELETE FROM {table}" + (f" WHERE {where}" if where else ""), params)
        return self.insert(table, frame)

    def stamp(self) -> None:
        """Record a new data version (see :meth:`Warehouse.data_version`); the backends call it
        last in every transaction that commits."""
        self.execute("DELETE FROM meta WHERE key = 'data_version'")
        self.execute("INSERT INTO meta (key, value) VALUES ('data_version', ?)", [uuid4().hex])


class Warehouse(ABC):
    """A database holding the referential and, later, the statistics."""

    dialect: str
    # Told (a message in French) when a write has to wait for another process's.
    on_wait: Callable[[str], None] | None = None

    @abstractmethod
    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run a read-only query with ``?`` placeholders and return a DataFrame."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A context manager: commit on success, roll back on any exception."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and, for DuckDB, the file lock)."""

    @property
    @abstractmethod
    def read_only(self) -> bool:
        """Whether this connection may write."""

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside see one data version where the engine can promise it (DuckDB: one
        generation per web request); elsewhere each query sees what is committed when it
        runs."""
        return nullcontext()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared helpers ---------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self.has_table("meta"):
            return 0
        rows = self.query("SELECT value FROM meta WHERE key = ?", ["schema_version"])
        return int(rows.value.iloc[0]) if len(rows) else 0

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether a table called ``name`` exists."""

    def migrate(self) -> int:
        """Create the tables of every migration not yet applied; return the schema version."""
        current = self.schema_version()
        if current >= SCHEMA_VERSION:
            return current
        with self.transaction() as tx:
            # another process may have migrated meanwhile (workers starting together)
            current = self.schema_version()
            if current >= SCHEMA_VERSION:
                return current
            for step in MIGRATIONS[current:]:
                for action in step:
                    if action in TABLES:
                        for statement in create_sql(TABLES[action], self.dialect):
                            tx.execute(statement)
                    else:
                        tx.execute(action)
            tx.replace(
                "meta",
                pd.DataFrame({"key": ["schema_version"], "value": [str(SCHEMA_VERSION)]}),
                "key = ?",
                ["schema_version"],
            )
        return SCHEMA_VERSION

    @abstractmethod
    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """Bring the planner's statistics of ``tables`` up to date after a large write."""

    def data_version(self) -> str:
        """A token that changes with every committed write, from any process: answers built
        from the data may be cached under it."""
        rows = self.query("SELECT value FROM meta WHERE key = 'data_version'")
        return "" if rows.empty else str(rows.value.iloc[0])

    def _stamp_if_ready(self, tx: Transaction) -> None:
        """:meth:`Transaction.stamp`, once the schema holds ``meta``."""
        if not getattr(self, "_has_meta", False):
            self._has_meta = self.has_table("meta")
        if self._has_meta:
            tx.stamp()

    def meta(self) -> dict[str, str]:
        frame = self.query("SELECT key, value FROM meta")
        return dict(zip(frame.key, frame.value, strict=True))

    def set_meta(self, key: str, value: str) -> None:
        """Set one ``meta`` entry (the demo's notice, a setting stored with the data)."""
        with self.transaction() as tx:
            tx.replace("meta", pd.DataFrame({"key": [key], "value": [value]}), "key = ?", [key])

    def count(self, table: str, where: str = "", params: Sequence[object] = ()) -> int:
        sql = f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {where}" if where else "")
        return int(self.query(sql, params).n.iloc[0])


# What a read may go through: the warehouse, or an open transaction (which sees its own writes).
Readable = Warehouse | Transaction


def placeholders(values: Iterable[object]) -> str:
    """One ``?`` per value, for an ``IN (…)`` list.

    >>> placeholders(["93001", "93066"])
    '?, ?'
    """
    return ", ".join("?" for _ in values)


def iter_rows(frame: pd.DataFrame) -> Iterator[tuple[object, ...]]:
    """Rows as plain Python values, NaN and NaT as None (for drivers that copy row by row)."""
    clean = frame.astype(object).where(frame.notna(), None)
    for row in clean.itertuples(index=False, name=None):
        yield tuple(v.item() if hasattr(v, "item") else v for v in row)
