"""Storage: the warehouse interface and its backends (DuckDB, the embedded default; PostgreSQL).

:func:`open_warehouse` chooses the backend; the interface (:mod:`.base`) knows none of them.
"""

from __future__ import annotations

from pathlib import Path

from observatoire.errors import UnknownNameError
from observatoire.store.base import Transaction, Warehouse

__all__ = ["BACKENDS", "Transaction", "Warehouse", "open_warehouse"]


def _duckdb(location: str, read_only: bool) -> Warehouse:
    from observatoire.store.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(Path(location), read_only=read_only)


def _postgres(location: str, read_only: bool) -> Warehouse:
    from observatoire.store.postgres import PostgresWarehouse

    return PostgresWarehouse(location, read_only=read_only)


BACKENDS = {"duckdb": _duckdb, "postgres": _postgres}


def open_warehouse(backend: str, location: str, *, read_only: bool = False) -> Warehouse:
    """Open the warehouse ``location`` (a file for DuckDB, a DSN for PostgreSQL)."""
    try:
        factory = BACKENDS[backend]
    except KeyError:
        raise UnknownNameError("moteur de stockage", backend, list(BACKENDS)) from None
    return factory(location, read_only)
