"""Reading the cube of operators' records: counts by operator, territory and month, for the
imports in force, and the measures built from it (:mod:`observatoire.quality.completeness`).

The cube is stored at its finest grain (operator × commune × month) by each import; any other
grouping — a territory of any level or zoning, a quarter, a year, the whole collection — is a sum
over it, so the full cube of a million records is read in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.errors import InputError
from observatoire.quality.completeness import (
    BY_CHOICES,
    OUTLIER_Z,
    PERIODS,
    evolution,
    field_rates,
    meeting_windows,
    modified_z,
    period_of,
    rule_rates,
    score,
)
from observatoire.quality.schema import RECORDS_VARIABLE, CollectionSchema
from observatoire.store.base import Transaction, Warehouse, placeholders

__all__ = [
    "Cube",
    "completeness_table",
    "duplicates",
    "operators_of",
    "read_cube",
    "record_sums",
    "save_operators",
    "scopes_in_force",
    "volume_jumps",
    "write_cube",
    "write_records",
]

_ACTIVE = "JOIN import_batch b ON b.id = c.batch AND b.status = 'active' AND b.dataset = ?"


@dataclass
class Cube:
    """The cube of a collection: ``groups`` (operator, territory, month, records), ``cells``
    (…, field, expected, filled, invalid) and ``rules`` (…, rule, judged, violated)."""

    groups: pd.DataFrame
    cells: pd.DataFrame
    rules: pd.DataFrame
    level: str | None  # the level of ``territory`` (None: not split by territory)


def _scope(
    level: str | None,
    within: tuple[str, str] | None,
    operators: Sequence[str] | None,
) -> tuple[str, str, str, list[object]]:
    """(territory column, join, where, params) of a cube read."""
    territory, join, where = "'' AS territory", "", ""
    params: list[object] = []
    if level == "commune":
        territory = "c.commune AS territory"
    elif level is not None:
        territory = "t.parent_code AS territory"
        join = (
            " JOIN territory_parent t ON t.level = 'commune' AND t.code = c.commune "
            "AND t.parent_level = ?"
        )
        params.append(level)
    if within is not None:
        if within[0] == "commune":
            where += " AND c.commune = ?"
            params.append(within[1])
        else:
            where += (
                " AND c.commune IN (SELECT code FROM territory_parent WHERE level = 'commune' "
                "AND parent_level = ? AND parent_code = ?)"
            )
            params.extend(within)
    if operators is not None:
        if not operators:
            where += " AND 1 = 0"
        else:
            where += f" AND c.operator IN ({placeholders(operators)})"
            params.extend(operators)
    return territory, join, where, params


def read_cube(
    warehouse: Warehouse,
    collection: str,
    *,
    level: str | None = None,
    within: tuple[str, str] | None = None,
    operators: Sequence[str] | None = None,
) -> Cube:
    """The cube of ``collection`` split by territory of ``level`` (if given), restricted to the
    communes inside ``within`` and to ``operators`` (a partner's own)."""
    territory, join, where, params = _scope(level, within, operators)
    dataset = f"enregistrements.{collection}"

    def read(table: str, extra: str, sums: str) -> pd.DataFrame:
        keys = f"c.operator, {territory}, c.month{extra}"
        group = "1, 2, 3" + (", 4" if extra else "")
        sql = (
            f"SELECT {keys}, {sums} FROM {table} c {_ACTIVE}{join} WHERE 1 = 1{where} "
            f"GROUP BY {group}"
        )
        # the dataset parameter comes first (in the JOIN), then the level, then the filters
        return warehouse.query(sql, [dataset, *params])

    groups = read("record_group", "", "SUM(c.records) AS records")
    cells = read(
        "record_cell",
        ", c.field",
        "SUM(c.expected) AS expected, SUM(c.filled) AS filled, SUM(c.invalid) AS invalid",
    )
    rules = read("record_rule", ", c.rule", "SUM(c.judged) AS judged, SUM(c.violated) AS violated")
    for frame in (groups, cells, rules):
        for column in frame.columns:
            if column not in ("operator", "territory", "month", "field", "rule"):
                frame[column] = frame[column].astype(float).fillna(0).astype(np.int64)
    return Cube(groups, cells, rules, level)


def _keys(by: Sequence[str]) -> list[str]:
    unknown = [b for b in by if b not in BY_CHOICES]
    if unknown:
        raise InputError(
            f"regroupement inconnu : {', '.join(unknown)} ; possibles : {', '.join(BY_CHOICES)}"
        )
    periods = [b for b in by if b in PERIODS]
    if len(periods) > 1:
        raise InputError("un seul découpage du temps à la fois (month, quarter ou year)")
    if "field" in by and "rule" in by:
        raise InputError("par champ ou par règle, pas les deux à la fois")
    return [b for b in by if b not in ("field", "rule")]


def _with_period(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    frame = frame.copy()
    for grain in PERIODS:
        if grain in by:
            frame[grain] = period_of(frame.month, grain)
    return frame


def completeness_table(cube: Cube, schema: CollectionSchema, by: Sequence[str]) -> pd.DataFrame:
    """One row per group of ``by`` (operator, territory, month, quarter, year): records,
    weighted score, rule violations (% of the rule checks made that failed, all rules
    together: ``violations``), then the
    completeness of each field (one column each). With ``field`` in ``by``: one row per group
    and field instead (expected, filled, invalid, completeness, weight); with ``rule``: one
    row per group and rule (judged, violated, rate %)."""
    keys = _keys(by)
    groups, cells, rules = (_with_period(f, keys) for f in (cube.groups, cube.cells, cube.rules))
    if "field" in by:
        out = field_rates(cells, keys)
        labels = {f.name: f.label for f in schema.measured}
        out.insert(len(keys) + 1, "label", out.field.map(labels))
        out["weight"] = out.field.map({f.name: f.weight for f in schema.measured})
        out["requirement"] = out.field.map({f.name: f.requirement for f in schema.measured})
        return out
    if "rule" in by:
        out = rule_rates(rules, keys)
        out.insert(len(keys) + 1, "label", out.rule.map({r.id: r.label for r in schema.rules}))
        return out
    if keys:
        records = groups.groupby(keys, sort=True)["records"].sum().reset_index()
    else:
        records = pd.DataFrame({"records": [int(groups.records.sum())]})
    scored = score(cells, schema.weights, keys)
    out = (
        records.merge(scored, on=keys, how="left")
        if keys
        else records.assign(score=scored.score.iloc[0] if len(scored) else np.nan)
    )
    if len(rules):
        judged = (
            rules.groupby(keys, sort=True)[["judged", "violated"]].sum()
            if keys
            else (rules[["judged", "violated"]].sum().to_frame().T)
        )
        judged = judged.reset_index() if keys else judged.reset_index(drop=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            judged["violations"] = 100 * judged.violated / judged.judged.where(judged.judged > 0)
        judged = judged.drop(columns=["judged", "violated"])
        out = (
            out.merge(judged, on=keys, how="left")
            if keys
            else out.assign(violations=judged.violations.iloc[0])
        )
    else:
        out["violations"] = np.nan
    rates = field_rates(cells, keys)
    if len(rates):
        wide = (
            rates.pivot_table(
                index=keys or None, columns="field", values="completeness", aggfunc="first"
            )
            if keys
            else (rates.set_index("field").completeness.to_frame().T)
        )
        order = [f.name for f in schema.measured if f.name in wide.columns]
        wide = wide[order]
        out = (
            out.merge(wide.reset_index(), on=keys, how="left")
            if keys
            else pd.concat([out.reset_index(drop=True), wide.reset_index(drop=True)], axis=1)
        )
    return out


def evolution_table(
    cube: Cube,
    schema: CollectionSchema,
    by: Sequence[str],
    *,
    period: str = "quarter",
    meeting: str | None = None,
) -> pd.DataFrame:
    """Score of each group of ``by`` before and after, and the change in points: the last two
    ``period`` s of the cube, or, given a ``meeting`` date, the three months before its month
    and the (at most three) months after it (its own month left out)."""
    keys = _keys(by)
    if any(k in PERIODS for k in keys):
        raise InputError("l'évolution compare des périodes : ne regroupez pas aussi par période")
    cells = cube.cells
    if meeting is not None:
        windows = meeting_windows(cells.month.unique(), meeting)
        labels = (f"avant le {meeting}", f"après le {meeting}")
    else:
        if period not in PERIODS:
            raise InputError(f"période « {period} » : month, quarter ou year")
        found = sorted(period_of(cells.month, period).unique()) if len(cells) else []
        if len(found) < 2:
            raise InputError("il faut au moins deux périodes pour parler d'évolution")
        grains = period_of(cells.month, period)
        windows = tuple(sorted(set(cells.month[grains == p])) for p in found[-2:])  # type: ignore[assignment]
        labels = (found[-2], found[-1])
    groups = keys or ["all"]
    scores = pd.concat(
        [
            score(cells[cells.month.isin(window)].assign(all=""), schema.weights, groups).assign(
                window=label
            )
            for window, label in zip(windows, labels, strict=True)
        ],
        ignore_index=True,
    )
    out = evolution(scores, groups, "window", before=labels[0], after=labels[1])
    if not keys:
        out = out.drop(columns=["all"])
    out.insert(len(keys), "from", labels[0])
    out.insert(len(keys) + 1, "to", labels[1])
    return out.sort_values("change", ascending=False, na_position="last").reset_index(drop=True)


def volume_jumps(cube: Cube, *, threshold: float = OUTLIER_Z) -> pd.DataFrame:
    """Each operator's records per month and their modified z-score among its months; the
    rows whose |z| exceeds ``threshold`` are flagged ``jump`` (a volume out of its habits:
    a lost or doubled extract, a change of software, an operator that stopped entering)."""
    monthly = cube.groups.groupby(["operator", "month"], sort=True)["records"].sum().reset_index()
    monthly["z"] = monthly.groupby("operator").records.transform(modified_z)
    monthly["jump"] = monthly.z.abs() > threshold
    return monthly


def duplicates(
    warehouse: Warehouse,
    collection: str,
    *,
    days: int = 30,
    operators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Probable duplicates across operators: the same person (pseudonym) recorded by two
    operators less than ``days`` apart. One row per pair of records (the earlier first)."""
    dataset = f"enregistrements.{collection}"
    mine = ""
    params: list[object] = [dataset, dataset]
    if operators is not None:
        marks = placeholders(operators) or "NULL"
        mine = f" AND (r1.operator IN ({marks}) OR r2.operator IN ({marks}))"
        params.extend([*operators, *operators])
    active = "SELECT id FROM import_batch WHERE status = 'active' AND dataset = ?"
    pairs = warehouse.query(
        "SELECT r1.person, r1.operator AS operator_1, r1.day AS day_1, r1.commune AS commune_1, "
        "r2.operator AS operator_2, r2.day AS day_2, r2.commune AS commune_2 "
        f"FROM record r1 JOIN record r2 ON r1.person = r2.person AND r1.operator < r2.operator "
        f"WHERE r1.person IS NOT NULL AND r1.batch IN ({active}) AND r2.batch IN ({active})"
        f"{mine} ORDER BY r1.person, r1.day",
        params,
    )
    if pairs.empty:
        return pairs.assign(gap_days=pd.Series(dtype=float))
    gap = (pd.to_datetime(pairs.day_2) - pd.to_datetime(pairs.day_1)).dt.days.abs()
    pairs = pairs.assign(gap_days=gap)
    return pairs[pairs.gap_days <= days].reset_index(drop=True)


def measure_completeness(
    reader: Warehouse | Transaction, collection: str, level: str
) -> pd.DataFrame:
    """For each territory of ``level`` and year: the share (%) of the records of
    ``collection`` whose fields each measure needs were filled (code, period, measure,
    completeness)."""
    territory, join, where, params = _scope(level, None, None)
    dataset = f"enregistrements.{collection}"
    head = f"SELECT {territory}, SUBSTR(c.month, 1, 4) AS period"
    evaluable = reader.query(
        f"{head}, c.measure, SUM(c.evaluable) AS evaluable FROM record_measure c {_ACTIVE}{join} "
        f"WHERE 1 = 1{where} GROUP BY 1, 2, 3",
        [dataset, *params],
    )
    records = reader.query(
        f"{head}, SUM(c.records) AS records FROM record_group c {_ACTIVE}{join} "
        f"WHERE 1 = 1{where} GROUP BY 1, 2",
        [dataset, *params],
    )
    out = evaluable.merge(records, on=["territory", "period"])
    out["completeness"] = 100 * out.evaluable.astype(float) / out.records.astype(float)
    return out.rename(columns={"territory": "code"})[["code", "period", "measure", "completeness"]]


def measure_totals(
    warehouse: Warehouse,
    collection: str,
    *,
    within: tuple[str, str] | None = None,
    operators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each measure of ``collection`` summed over the records in scope (measure, value,
    evaluable), by year."""
    _, _, where, params = _scope(None, within, operators)
    return warehouse.query(
        "SELECT SUBSTR(c.month, 1, 4) AS year, c.measure, SUM(c.value) AS value, "
        f"SUM(c.evaluable) AS evaluable FROM record_measure c {_ACTIVE} WHERE 1 = 1{where} "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        [f"enregistrements.{collection}", *params],
    )


def operators_of(
    warehouse: Warehouse | Transaction, collection: str, partner: str | None = None
) -> pd.DataFrame:
    """Operators of ``collection`` (code, name, partner); only ``partner``'s when given."""
    sql = "SELECT code, name, partner FROM record_operator WHERE collection = ?"
    params: list[object] = [collection]
    if partner is not None:
        sql += " AND partner = ?"
        params.append(partner)
    return warehouse.query(sql + " ORDER BY code", params)


def meetings(warehouse: Warehouse, collection: str) -> pd.DataFrame:
    """Restitution meetings of ``collection`` (day, level, code, label), oldest first."""
    return warehouse.query(
        "SELECT day, level, code, label FROM record_meeting WHERE collection = ? ORDER BY day",
        [collection],
    )


def imports_in_force(warehouse: Warehouse, collection: str) -> tuple[int, int]:
    """How many imports of ``collection`` are in force, and how many records they hold."""
    counts = warehouse.query(
        "SELECT COUNT(*) AS imports, COALESCE(SUM(rows_imported), 0) AS records "
        "FROM import_batch WHERE status = 'active' AND dataset = ?",
        [f"enregistrements.{collection}"],
    )
    return int(counts.imports.iloc[0]), int(counts.records.iloc[0])


def link_operator(warehouse: Warehouse, collection: str, operator: str, partner: str) -> None:
    """Attach ``operator`` of ``collection`` to ``partner`` (its accounts see its completeness).
    The operator must have been seen in an import."""
    where = "collection = ? AND code = ?"
    if not warehouse.count("record_operator", where, [collection, operator]):
        raise InputError(f"opérateur {operator} inconnu dans la collection {collection}")
    with warehouse.transaction() as tx:
        tx.execute(
            "UPDATE record_operator SET partner = ? WHERE collection = ? AND code = ?",
            [partner, collection, operator],
        )


def save_meeting(
    warehouse: Warehouse, collection: str, *, day: str, level: str, code: str, label: str = ""
) -> None:
    """Record (or relabel) the restitution meeting of ``collection`` on ``day`` with the
    operators of territory ``level``/``code``."""
    row = {"collection": collection, "day": day, "level": level, "code": code, "label": label}
    with warehouse.transaction() as tx:
        tx.replace(
            "record_meeting",
            pd.DataFrame([row]),
            "collection = ? AND day = ? AND level = ? AND code = ?",
            [collection, day, level, code],
        )


# -- what an import of records writes, and reads first ------------------------------------------
def write_records(tx: Transaction, records: pd.DataFrame) -> None:
    """Append a chunk of ``records`` (keys only: batch, line, operator, commune, person, day),
    unique as the import numbered them."""
    tx.insert("record", records, checked=True)


def write_cube(
    tx: Transaction,
    batch: int,
    collection: str,
    scope: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
) -> None:
    """Write what import ``batch`` of ``collection`` covers (``scope``: operator, month) and
    its cube (``tables``: the rows of record_group, record_cell, record_rule and
    record_measure, by table)."""
    tx.insert("record_scope", scope.assign(batch=batch, collection=collection))
    for table, frame in tables.items():
        tx.insert(table, frame, checked=True)


def scopes_in_force(reader: Warehouse | Transaction, collection: str) -> pd.DataFrame:
    """What the imports in force of ``collection`` cover: batch, operator, month."""
    return reader.query(
        "SELECT s.batch, s.operator, s.month FROM record_scope s JOIN import_batch b "
        "ON b.id = s.batch WHERE b.status = 'active' AND s.collection = ?",
        [collection],
    )


def save_operators(tx: Transaction, collection: str, operators: pd.DataFrame) -> None:
    """Write ``operators`` (collection, code, name, partner), replacing the rows of the same
    codes."""
    codes = operators.code.tolist()
    marks = placeholders(codes)
    tx.execute(
        f"DELETE FROM record_operator WHERE collection = ? AND code IN ({marks})",
        [collection, *codes],
    )
    tx.insert("record_operator", operators)


def record_sums(reader: Warehouse | Transaction, collection: str) -> pd.DataFrame:
    """The records of ``collection`` in force (as measure ``RECORDS_VARIABLE``) and each
    measure summed by commune and year: code, period, measure, value."""
    active = "batch IN (SELECT id FROM import_batch WHERE status = 'active' AND dataset = ?)"
    dataset = f"enregistrements.{collection}"
    counts = reader.query(
        f"SELECT commune AS code, SUBSTR(month, 1, 4) AS period, '{RECORDS_VARIABLE}' AS measure,"
        f" SUM(records) AS value FROM record_group WHERE {active} GROUP BY 1, 2",
        [dataset],
    )
    measures = reader.query(
        "SELECT commune AS code, SUBSTR(month, 1, 4) AS period, measure, SUM(value) AS value "
        f"FROM record_measure WHERE {active} GROUP BY 1, 2, 3",
        [dataset],
    )
    return pd.concat([counts, measures], ignore_index=True)
