"""The warehouse's tables as Ibis expressions, and the relations the engine is built from.

Expressions are built on unbound tables (their schema comes from :mod:`observatoire.store.schema`)
and compiled to the warehouse's SQL dialect (DuckDB or PostgreSQL) by :func:`to_sql`: one
expression, every engine Ibis supports. Nothing here runs a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import ibis
import ibis.expr.types as ir

from observatoire.store.schema import TABLES

__all__ = ["facts", "members", "result", "table", "to_sql"]

_IBIS_TYPES = {
    "text": "string",
    "bigint": "int64",
    "int": "int32",
    "double": "float64",
    "bool": "boolean",
    "blob": "binary",
}


@cache
def table(name: str) -> ir.Table:
    """The unbound Ibis table of warehouse table ``name``."""
    definition = TABLES[name]
    schema = {column: _IBIS_TYPES[kind] for column, kind in definition.columns}
    return ibis.table(schema, name=name)


@cache
def result() -> ir.Table:
    """Every value of every indicator: the view ``indicator_result`` (the rows ``compute``
    stored and the series it linked, see :mod:`observatoire.store.computed`)."""
    definition = TABLES["indicator_value"]
    schema = {column: _IBIS_TYPES[kind] for column, kind in definition.columns}
    return ibis.table(schema, name="indicator_result")


def to_sql(expression: ir.Expr, dialect: str) -> str:
    """SQL for the warehouse's engine (``duckdb`` or ``postgres``)."""
    return str(ibis.to_sql(expression, dialect=dialect))


def facts(variables: list[str], level: str, *, dedupe: bool = True,
          periods: Sequence[str] | None = None) -> ir.Table:  # fmt: skip
    """Stored values of ``variables`` at ``level`` in the current geography, from imports in
    force, the latest import winning for each (variable, code, period) when several imports
    in force hold the variable (``dedupe``); totals only (no dimensions). Columns: variable,
    level, code, period, value, status, batch (the import), note (how a converted value was
    made). ``periods``: of those periods only."""
    series = table("series")
    cells = table("series_value")
    batches = table("import_batch").filter(lambda b: b.status == "active").select("id")
    chosen = series.filter(
        series.variable.isin(variables),
        series.level == level,
        series.geography == "current",
        series.dims == "",
        series.batch.isin(batches.id),
    )
    if periods is not None:
        chosen = chosen.filter(chosen.period.isin(list(periods)))
    joined = cells.join(chosen, cells.series == chosen.id).select(
        "variable", "level", "code", "period", "value", "status", "batch", "note"
    )
    if not dedupe:
        return joined
    window = ibis.window(
        group_by=[joined.variable, joined.level, joined.code, joined.period],
        order_by=ibis.desc(joined.batch),
    )
    ranked = joined.mutate(rank=ibis.row_number().over(window))
    return ranked.filter(ranked.rank == 0).drop("rank")


def members(source: str, target: str, *, zoning_version: int | None = None,
            unit_level: str | None = None) -> ir.Table:  # fmt: skip
    """Which territories of level ``source`` make each territory of ``target``, with their
    weight: columns code (the member), target_code, weight. ``target`` may be a zoning (then
    give its current version and unit level)."""
    parents = table("territory_parent")
    if zoning_version is None:
        if source == target:
            own = table("territory").filter(lambda t: t.level == source)
            return own.select(code=own.code, target_code=own.code, weight=ibis.literal(1.0))
        rows = parents.filter(parents.level == source, parents.parent_level == target)
        return rows.select(code=rows.code, target_code=rows.parent_code, weight=rows.weight)
    zone = table("zoning_member").filter(
        lambda m: (m.zoning == target) & (m.version == zoning_version)
    )
    if source == unit_level:
        return zone.select(code=zone.unit_code, target_code=zone.zone_code, weight=zone.weight)
    up = parents.filter(parents.level == source, parents.parent_level == unit_level)
    joined = up.join(zone, up.parent_code == zone.unit_code)
    return joined.select(
        code=joined.code, target_code=joined.zone_code, weight=joined.weight * joined.weight_right
    )
