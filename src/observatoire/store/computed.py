"""Stored indicator values: reads, the masks of the statistical secret applied for an
audience, and the invalidation that keeps them consistent with the data.

Values are read from the view ``indicator_result`` (:data:`RESULT`): the rows ``compute``
stored (``indicator_value``) and the series it linked (``indicator_link``: counts published
for the territories themselves, read where the import stored them). Only ``compute`` and the
invalidation below write the two tables."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from observatoire.catalog.statuses import ValueStatus
from observatoire.store.base import Transaction, Warehouse, placeholders
from observatoire.store.schema import LINKED_VALUES, RESULT_COLUMNS
from observatoire.store.territories import within_clause

__all__ = [
    "PENDING_NOTE",
    "RESULT",
    "SECRET_NOTE",
    "VALUE_TABLES",
    "computed_indicator_levels",
    "computed_scope",
    "confidentiality_of",
    "delete_rows",
    "delete_values",
    "freeze_date",
    "invalidate",
    "is_computed",
    "mark_stale",
    "masks_ready",
    "rank_computed",
    "read_computed",
    "remember_scope",
    "result_rows",
    "stale_indicators",
    "stale_periods",
    "status_counts",
    "stored_counts",
    "territory_profile",
    "variable_datasets",
    "variable_diffusion",
]

RESULT = "indicator_result"  # every value of every indicator (read it, never the tables)
VALUE_TABLES = ("indicator_value", "indicator_link")  # the two tables behind it
SECRET_NOTE = "secret statistique"
# an audience's masks (m) and whether they are up to date (s) beside each value (v)
_MASKS = (
    " LEFT JOIN value_mask m ON m.audience = ? AND m.indicator = v.indicator "
    "AND m.level = v.level AND m.code = v.code AND m.period = v.period "
    "LEFT JOIN secret_state s ON s.audience = ? AND s.indicator = v.indicator"
)
PENDING_NOTE = "secret statistique en cours d'application (lancez « observatoire compute »)"


def result_rows(where: str, params: list[object]) -> tuple[str, list[object]]:
    """The rows of ``indicator_result`` satisfying ``where`` (on its columns, unqualified), as
    a subquery and its parameters: the condition applied to each of its two parts. A reader
    keeping the territories inside another one (a semi-join) goes through this: PostgreSQL
    does not push such a join into the view's UNION and scans every stored value (a
    département's communes: 460 ms instead of 2 ms at 1/10 of France)."""
    sql = (f"(SELECT {RESULT_COLUMNS} FROM indicator_value WHERE {where} UNION ALL "
           f"SELECT * FROM ({LINKED_VALUES}) AS linked WHERE {where})")  # fmt: skip
    return sql, [*params, *params]


def invalidate(tx: Transaction, *, variables: Iterable[str] = (), level: str | None = None) -> None:
    """Delete the stored values a change makes stale: those computed from ``variables`` (an
    import, a rollback) or for ``level`` (a new zoning version), with their secret masks. Call
    it inside the transaction that makes the change, so that no read ever sees a stale value."""
    names = sorted(set(variables))
    if names:
        marks = placeholders(names)
        stale = f"SELECT DISTINCT indicator FROM indicator_variable WHERE variable IN ({marks})"
        for table in ("value_mask", "secret_state", *VALUE_TABLES, "indicator_computed"):
            tx.execute(f"DELETE FROM {table} WHERE indicator IN ({stale})", names)
    if level is not None:
        for table in (*VALUE_TABLES, "indicator_computed"):
            tx.execute(f"DELETE FROM {table} WHERE level = ?", [level])
        # a zoning is one more set of relations: every suppression pattern is to redo
        tx.execute("DELETE FROM value_mask")
        tx.execute("DELETE FROM secret_state")


def mark_stale(tx: Transaction, variables: Iterable[str],
               periods: Iterable[str] | None = None) -> None:  # fmt: skip
    """Mark the stored indicators computed from ``variables`` as stale (an import changed
    them): they stay readable, with their secret masks, until ``compute`` replaces them in
    one transaction (no reader ever finds them missing). ``periods``: the only periods the
    change touched (``compute`` then redoes those); None: every period."""
    names = sorted(set(variables))
    if not names:
        return
    marks = placeholders(names)
    since = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    touched = set(tx.query(
        f"SELECT DISTINCT indicator FROM indicator_variable WHERE variable IN ({marks})", names
    ).indicator)  # fmt: skip
    stale = set(tx.query("SELECT indicator FROM indicator_stale").indicator)
    listed = set(tx.query("SELECT DISTINCT indicator FROM indicator_stale_period").indicator)
    fresh = sorted(touched - stale)
    # inserted from frames, never by an INSERT … SELECT that may give no row (a DuckDB 1.5
    # defect loses the rest of the transaction then: see engine.batch._LevelRun.insert_rows)
    tx.insert("indicator_stale", pd.DataFrame({"indicator": fresh, "since": since}))
    if periods is None:  # every period: no list
        delete_rows(tx, "indicator_stale_period", "indicator", sorted(touched & listed))
        return
    # newly stale, or stale for listed periods only: add these (stale for all: nothing to add)
    some = sorted({*fresh, *(touched & stale & listed)})
    known = tx.query("SELECT indicator, period FROM indicator_stale_period")
    have = set(zip(known.indicator, known.period, strict=True))
    rows = [(i, p) for i in some for p in sorted(set(periods)) if (i, p) not in have]
    tx.insert("indicator_stale_period", pd.DataFrame(rows, columns=["indicator", "period"]))


def delete_rows(tx: Transaction, table: str, column: str, keys: list[str], where: str = "",
                params: list[object] | None = None) -> None:  # fmt: skip
    """DELETE the rows of ``table`` whose ``column`` is one of ``keys`` (in chunks), and
    ``where`` (with ``params``)."""
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = placeholders(chunk)
        tx.execute(
            f"DELETE FROM {table} WHERE {column} IN ({marks}) {where}", [*chunk, *(params or [])]
        )


def delete_values(tx: Transaction, indicators: list[str], level: str | None = None,
                  periods: Iterable[str] | None = None) -> None:  # fmt: skip
    """DELETE the values of ``indicators`` (at ``level``, of ``periods`` when given): the rows
    stored and the series linked."""
    where, params = ("AND level = ?", [level]) if level is not None else ("", [])
    if periods is None:
        for table in VALUE_TABLES:
            delete_rows(tx, table, "indicator", indicators, where, list(params))
        return
    listed = sorted(set(periods))
    marks = placeholders(listed)
    delete_rows(tx, "indicator_value", "indicator", indicators,
                f"{where} AND period IN ({marks})", [*params, *listed])  # fmt: skip
    delete_rows(tx, "indicator_link", "indicator", indicators,
                f"{where} AND series IN (SELECT id FROM series WHERE period IN ({marks}))",
                [*params, *listed])  # fmt: skip


def stale_periods(warehouse: Warehouse | Transaction) -> dict[str, set[str] | None]:
    """Each stale indicator with the periods to redo (None: every period)."""
    stale = warehouse.query("SELECT indicator FROM indicator_stale").indicator
    listed = warehouse.query("SELECT indicator, period FROM indicator_stale_period")
    periods = listed.groupby("indicator").period.agg(set).to_dict()
    return {str(i): periods.get(i) for i in stale}


SCOPE = "compute_within"  # meta key: the territory the stored values are limited to


def computed_scope(tx: Warehouse | Transaction) -> str:
    """The territory (``level:code``) the last ``compute`` was limited to; '' for all."""
    rows = tx.query("SELECT value FROM meta WHERE key = ?", [SCOPE])
    return str(rows.value.iloc[0] or "") if len(rows) else ""


def remember_scope(tx: Transaction, scope: str) -> None:
    tx.execute("DELETE FROM meta WHERE key = ?", [SCOPE])
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [SCOPE, scope])


def stale_indicators(warehouse: Warehouse) -> set[str]:
    """The stored indicators whose data changed since they were computed."""
    return set(warehouse.query("SELECT indicator FROM indicator_stale").indicator)


def territory_profile(
    warehouse: Warehouse,
    level: str,
    code: str | None,
    *,
    audience: str | None = None,
    within: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Every stored indicator of one territory (one read by (level, code)): indicator, period,
    value, status, coverage, ci_low, ci_high, note; for a restricted ``audience``, with the
    masks of the secret applied and ``secret_ready`` (whether they are up to date).

    With ``code`` None: every territory of ``level`` inside ``within`` at once (a ``code``
    column added) — the peers of a territory in one read."""
    if code is None:
        inside, inside_params = within_clause(level, within)
        source, params = result_rows("level = ?" + inside, [level, *inside_params])
        columns = "v.code, "
    else:
        source, params = result_rows("level = ? AND code = ?", [level, code])
        columns = ""
    if audience is None:
        return warehouse.query(
            f"SELECT {columns}v.indicator, v.period, v.value, v.status, v.coverage, v.ci_low, "
            f"v.ci_high, v.note FROM {source} v ORDER BY v.indicator, v.period",
            params,
        )
    # masked and ready joined in the same statement: one round trip, no pandas re-indexing
    hidden = "m.indicator IS NOT NULL"
    relabel = f"{hidden} AND v.status IN ('ok', 'partial', 'perimetre')"
    blank = ", ".join(
        f"CASE WHEN {hidden} THEN NULL ELSE v.{c} END AS {c}"
        for c in ("coverage", "ci_low", "ci_high")
    )
    rows = warehouse.query(
        f"SELECT {columns}v.indicator, v.period, "
        f"CASE WHEN {hidden} THEN NULL ELSE v.value END AS value, "
        f"CASE WHEN {relabel} THEN 'secret' ELSE v.status END AS status, {blank}, "
        f"CASE WHEN {relabel} THEN ? ELSE v.note END AS note, "
        "s.indicator IS NOT NULL AS secret_ready "
        f"FROM {source} v "
        "LEFT JOIN value_mask m ON m.audience = ? AND m.level = v.level AND m.code = v.code "
        "AND m.indicator = v.indicator AND m.period = v.period "
        "LEFT JOIN secret_state s ON s.audience = ? AND s.indicator = v.indicator "
        "ORDER BY v.indicator, v.period",
        [SECRET_NOTE, *params, audience, audience],
    )
    rows["secret_ready"] = rows.secret_ready.astype(bool)
    return rows


def masks_ready(warehouse: Warehouse, ident: str, audience: str) -> bool:
    """Whether the masks of ``ident`` for ``audience`` are up to date (else all is hidden)."""
    return not warehouse.query(
        "SELECT 1 AS ok FROM secret_state WHERE indicator = ? AND audience = ?", [ident, audience]
    ).empty


def _hide(frame: pd.DataFrame, hidden: np.ndarray, note: str) -> pd.DataFrame:
    """No value, coverage nor interval where ``hidden``; the status says why."""
    frame = frame.copy()
    columns = [c for c in ("value", "coverage", "ci_low", "ci_high") if c in frame]
    frame.loc[hidden, columns] = np.nan
    relabel = hidden & frame.status.isin(["ok", "partial", "perimetre"]).to_numpy()
    frame.loc[relabel, "status"] = "secret"
    frame.loc[relabel, "note"] = note
    return frame


def confidentiality_of(warehouse: Warehouse, variables: Iterable[str]) -> set[str]:
    """The confidentiality levels (public, membres, partenaire) of the imports in force holding
    ``variables``."""
    names = sorted(set(variables))
    if not names:
        return set()
    marks = placeholders(names)
    rows = warehouse.query(
        "SELECT DISTINCT COALESCE(confidentiality, 'public') AS c FROM import_batch "
        "WHERE status = 'active' AND id IN "
        f"(SELECT batch FROM series WHERE variable IN ({marks}))",
        names,
    )
    return set(rows.c)


def is_computed(warehouse: Warehouse, ident: str, level: str) -> bool:
    """Whether ``compute`` stored values of indicator ``ident`` at ``level``."""
    return bool(warehouse.query(
        "SELECT 1 AS found FROM indicator_result WHERE indicator = ? AND level = ? LIMIT 1",
        [ident, level],
    ).shape[0])  # fmt: skip


def read_computed(
    warehouse: Warehouse,
    ident: str,
    level: str,
    *,
    period: str | None = None,
    within: tuple[str, str] | None = None,
    masked_for: str | None = None,
) -> pd.DataFrame | None:
    """Stored values of indicator ``ident`` at ``level`` (None when not computed), of one
    ``period`` and inside ``within`` only when given (a département's communes, not France's).

    ``masked_for``: an audience the indicator is under secret for; its masks are read in the
    same statement as the values (a ``compute`` committing between two reads could otherwise
    pair new values with old masks) and applied; everything is hidden while they are not up
    to date."""
    if not is_computed(warehouse, ident, level):
        return None
    params: list[object] = []
    columns, joins = "v.*", ""
    if masked_for is not None:
        columns += (", m.indicator IS NOT NULL AS masked_cell, "
                    "s.indicator IS NOT NULL AS masks_ready")  # fmt: skip
        joins = _MASKS
        params += [masked_for, masked_for]
    where, keys = "indicator = ? AND level = ?", [ident, level]
    if period is not None:
        where += " AND period = ?"
        keys.append(period)
    inside, inside_params = within_clause(level, within)
    rows, rows_params = result_rows(where + inside, [*keys, *inside_params])
    frame = warehouse.query(f"SELECT {columns} FROM {rows} v{joins}", rows_params + params)
    if masked_for is None:
        return frame
    ready = frame.pop("masks_ready").astype(bool).to_numpy()
    masked = frame.pop("masked_cell").astype(bool).to_numpy()
    if len(frame) and not ready.all():
        return _hide(frame, np.ones(len(frame), dtype=bool), PENDING_NOTE)
    return _hide(frame, masked, SECRET_NOTE)


def rank_computed(
    warehouse: Warehouse,
    ident: str,
    level: str,
    within: tuple[str, str] | None,
    period: str | None,
    usable: Iterable[str],
    *,
    masked_for: str | None = None,
) -> pd.DataFrame:
    """code, period, rank (1 = highest), share (of the territories at or below, 0–1) of the
    stored values of ``ident`` inside ``within``, ranked among every territory of ``level``
    per period, over the values of status ``usable``: by the database, without reading the
    level (a département's communes among all of France's). ``masked_for``: an audience whose
    masked cells are left out (ranked among what it sees; the caller checks the masks are
    up to date)."""
    statuses = sorted(set(usable))
    where = (f"indicator = ? AND level = ? AND value IS NOT NULL "
             f"AND status IN ({placeholders(statuses)})")  # fmt: skip
    params: list[object] = [ident, level, *statuses]
    if period is not None:
        where += " AND period = ?"
        params.append(period)
    if masked_for is not None:
        where += (" AND NOT EXISTS (SELECT 1 FROM value_mask m WHERE m.indicator = v.indicator "
                  "AND m.level = v.level AND m.code = v.code AND m.period = v.period "
                  "AND m.audience = ?)")  # fmt: skip
        params.append(masked_for)
    inside, inside_params = within_clause(level, within)
    return warehouse.query(
        "SELECT code, period, rank, share FROM (SELECT code, period, "
        "RANK() OVER (PARTITION BY period ORDER BY value DESC) AS rank, "
        "CUME_DIST() OVER (PARTITION BY period ORDER BY value) AS share "
        f"FROM indicator_result v WHERE {where}) AS ranked WHERE 1 = 1{inside}",
        params + inside_params,
    )


def stored_counts(warehouse: Warehouse) -> tuple[int, int]:
    """How many indicators are stored (computed or linked), and how many values."""
    rows = warehouse.query(f"SELECT COUNT(DISTINCT indicator) AS n, COUNT(*) AS v FROM {RESULT}")
    return int(rows.n.iloc[0]), int(rows.v.iloc[0])


def variable_diffusion(warehouse: Warehouse) -> pd.DataFrame:
    """variable, c (its dataset's diffusion: public, membres, partenaire…) and partner (who
    deposited it) of every series of an import in force."""
    return warehouse.query(
        "SELECT DISTINCT s.variable, COALESCE(b.confidentiality, 'public') AS c, b.partner "
        "FROM series s JOIN import_batch b ON b.id = s.batch WHERE b.status = 'active'"
    )


def computed_indicator_levels(warehouse: Warehouse) -> pd.DataFrame:
    """indicator, level: the stored (computed) indicators fed by variables, and their levels."""
    return warehouse.query(
        f"SELECT DISTINCT v.indicator, v.level FROM {RESULT} v "
        "JOIN (SELECT DISTINCT indicator FROM indicator_variable) i "
        "ON i.indicator = v.indicator ORDER BY v.indicator, v.level"
    )


def variable_datasets(warehouse: Warehouse) -> pd.DataFrame:
    """variable, dataset: the datasets in force each variable is read from."""
    return warehouse.query(
        "SELECT DISTINCT s.variable, b.dataset FROM series s JOIN import_batch b "
        "ON b.id = s.batch WHERE b.status = 'active'"
    )


def freeze_date(warehouse: Warehouse, ident: str | None = None) -> str | None:
    """When the figures were frozen: the latest computation of ``ident`` (of any indicator
    when None), else the latest import; None when nothing was computed nor imported."""
    where, params = ("WHERE indicator = ?", [ident]) if ident else ("", [])
    found = warehouse.query(f"SELECT MAX(computed_at) AS last FROM {RESULT} {where}", params)[
        "last"
    ]
    if found.isna().all():
        found = warehouse.query(
            "SELECT MAX(imported_at) AS last FROM import_batch WHERE status = 'active'"
        )["last"]
    return None if found.isna().all() else str(found.iloc[0])[:10]


def status_counts(warehouse: Warehouse, ident: str, *,
                  masked_for: str | None = None) -> pd.DataFrame:  # fmt: skip
    """level, period, status, n: how many stored values of ``ident`` each level and period
    hold, by status. ``masked_for``: an audience the indicator is under secret for, whose
    masked cells count as ``secret`` (every cell while its masks are not up to date)."""
    rows, params = result_rows("indicator = ?", [ident])
    status, joins, extra = "v.status", "", []
    if masked_for is not None:
        status = (f"CASE WHEN s.indicator IS NULL OR m.indicator IS NOT NULL "
                  f"THEN '{ValueStatus.SECRET.value}' ELSE v.status END")  # fmt: skip
        joins = _MASKS
        extra = [masked_for, masked_for]
    return warehouse.query(
        f"SELECT v.level, v.period, {status} AS status, COUNT(*) AS n FROM {rows} v{joins} "
        f"GROUP BY v.level, v.period, {status}",
        params + extra,
    )
