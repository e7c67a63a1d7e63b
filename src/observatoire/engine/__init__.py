"""The indicator engine: indicators of the catalogue computed for every territory, in the
database (Ibis expressions compiled for DuckDB or PostgreSQL)."""

from observatoire.engine.compute import COLUMNS, DEFAULT_THRESHOLD, compute_indicator

__all__ = ["COLUMNS", "DEFAULT_THRESHOLD", "compute_indicator"]
