"""Storage: the warehouse interface and its backends (DuckDB, the embedded default; PostgreSQL)."""

from observatoire.store.base import Transaction, Warehouse, open_warehouse

__all__ = ["Transaction", "Warehouse", "open_warehouse"]
