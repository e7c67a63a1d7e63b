"""Restitution reports' figures: how complete the records of a territory's operators are, for
the meeting where the State service shows each operator its entries (rendered as HTML or PDF by
:mod:`observatoire.outputs.restitution`).

Two kinds: the **territory's** report (every operator of the territory, ranked, with their
evolution, the fields most often missing, rule violations, volume jumps and probable duplicates
between operators) and an **operator's own** report (its detail only, against the anonymous
median of the other operators — given only when there are at least three others, so that no
single operator can be recognised in it), with the sentences to say first at the meeting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.quality.calendar import received_spans, reporting, reporting_rates
from observatoire.quality.completeness import meeting_windows, period_of, rule_rates, score
from observatoire.quality.schema import CollectionSchema
from observatoire.store.base import Warehouse
from observatoire.store.records import (
    duplicates,
    measure_totals,
    meetings,
    operators_of,
    read_cube,
    volume_jumps,
)
from observatoire.store.review import receipts
from observatoire.text import french_number

__all__ = ["MIN_OTHERS", "Restitution", "build_restitution", "findings", "percent"]

MIN_OTHERS = 3  # fewer other operators than this: no benchmark (it would identify them)


@dataclass
class Restitution:
    """Everything a restitution report shows (JSON-ready lists of dicts)."""

    collection: str
    label: str
    fictitious: bool
    observatory: str
    territory: dict[str, str] | None
    operator: dict[str, str] | None
    first_month: str
    last_month: str
    built: str
    records: int
    score: float | None
    alert: float
    facts: list[dict[str, Any]] = field(default_factory=list)
    operators: list[dict[str, Any]] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    quarters: tuple[str, str] | None = None
    meeting: dict[str, Any] | None = None
    jumps: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int | None = None
    benchmark: bool = False
    series: list[dict[str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)  # drawn by the outputs
    # extracts expected by the collection's calendar, per operator (see quality/calendar.py)
    timeliness: list[dict[str, Any]] = field(default_factory=list)
    timeliness_alert: float | None = None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out.pop("charts")
        return out


def _num(value: object) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), 1)  # type: ignore[arg-type]


def _median(values: pd.Series) -> float | None:
    clean = values.dropna()
    return _num(clean.median()) if len(clean) else None


def build_restitution(
    warehouse: Warehouse,
    schema: CollectionSchema,
    *,
    territory: tuple[str, str, str] | None = None,
    operator: str | None = None,
    observatory: str = "Observatoire",
    analyst: bool = True,
) -> Restitution:
    """The report of ``territory`` (level, code, name; None: the whole collection), or of
    ``operator`` alone. ``analyst``: whether the reader may see every operator (duplicates and
    volume jumps are shown to analysts only)."""
    within = (territory[0], territory[1]) if territory else None
    cube = read_cube(warehouse, schema.name, within=within)
    names = operators_of(warehouse, schema.name).set_index("code").name.to_dict()
    weights = schema.weights
    cells, groups = cube.cells, cube.groups
    own = operator is not None
    mine_cells = cells[cells.operator == operator] if own else cells
    mine_groups = groups[groups.operator == operator] if own else groups
    months = sorted(mine_groups.month.unique())
    total = score(mine_cells, weights, [])
    report = Restitution(
        collection=schema.name,
        label=schema.label,
        fictitious=schema.fictitious,
        observatory=observatory,
        territory=(
            {"level": territory[0], "code": territory[1], "name": territory[2]}
            if territory
            else None
        ),
        operator=(
            {"code": str(operator), "name": str(names.get(operator, operator))} if own else None
        ),
        first_month=months[0] if months else "",
        last_month=months[-1] if months else "",
        built=dt.date.today().isoformat(),
        records=int(mine_groups.records.sum()),
        score=_num(total.score.iloc[0]) if len(total) else None,
        alert=schema.alert,
    )
    if not months:
        return report
    by_operator = score(cells, weights, ["operator"]).set_index("operator").score
    others = by_operator.drop(index=operator, errors="ignore") if own else by_operator
    report.benchmark = own and len(others.dropna()) >= MIN_OTHERS
    _operators_table(report, cube, schema, names, operator)
    _fields_table(report, schema, cells, operator)
    _rules_table(report, schema, cube.rules, operator)
    _series(report, cells, weights, operator)
    _meeting(report, warehouse, schema, cells, territory, operator)
    _facts(report, warehouse, schema, within, operator)
    _timeliness(report, warehouse, schema, sorted(cells.operator.unique()), names, operator)
    if analyst and not own:
        jumps = volume_jumps(cube)
        flagged = jumps[jumps.jump]
        report.jumps = [
            {
                "operator": str(names.get(r.operator, r.operator)),
                "month": r.month,
                "records": int(r.records),
                "z": round(float(r.z), 1),
            }
            for r in flagged.itertuples()
        ]
        inside = sorted(groups.operator.unique())
        report.duplicates = len(
            duplicates(warehouse, schema.name, days=schema.duplicate_days, operators=inside)
        )
    report.findings = findings(report)
    return report


def _timeliness(
    report: Restitution, warehouse: Warehouse, schema: CollectionSchema, inside: list[str],
    names: dict[str, str], operator: str | None,
) -> None:  # fmt: skip
    """The extracts each operator of the report was expected to send, received, on time,
    late and missing, by the collection's calendar (none declared: nothing)."""
    calendar = schema.calendar
    if calendar is None:
        return
    received = received_spans(receipts(warehouse, schema.name), calendar)
    states = reporting(received, calendar, dt.date.today())
    wanted = [operator] if operator is not None else inside
    states = states[states.operator.isin(wanted)]
    report.timeliness_alert = calendar.alert
    for row in reporting_rates(states, ["operator"]).itertuples(index=False):
        mine = states[(states.operator == row.operator) & (states.state == "manquante")]
        report.timeliness.append({
            "operator": str(names.get(row.operator, row.operator)), "code": str(row.operator),
            "expected": int(row.expected), "on_time": int(row.on_time), "late": int(row.late),
            "missing": int(row.missing), "missing_periods": mine.period.tolist()[-6:],
            "completeness": _num(row.completeness), "timeliness": _num(row.timeliness),
            "alert": bool(row.timeliness < calendar.alert),
        })  # fmt: skip


def percent(value: float | None) -> str:
    """A rate as the report writes it (« 87,5 % »; « – » without one)."""
    return "–" if value is None else f"{french_number(value, 1)} %"


def _points(change: float) -> str:
    return f"{'+' if change > 0 else ''}{french_number(change, 1)} points"


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def findings(report: Restitution) -> list[str]:
    """What to say first at the meeting, in sentences written by rules from the figures."""
    out = []
    own = report.operator is not None
    subject = f"de {report.operator['name']}" if report.operator else "de l'ensemble des saisies"
    if report.score is not None:
        side = "sous" if report.score < report.alert else "au-dessus du"
        out.append(
            f"Le score de complétude {subject} est de {percent(report.score)}, {side} "
            f"{'le ' if side == 'sous' else ''}seuil d'alerte de {percent(report.alert)}."
        )
    others = next((o for o in report.operators if o.get("benchmark")), None)
    if own and others and others["score"] is not None and report.score is not None:
        gap = report.score - others["score"]
        if abs(gap) >= 1:
            out.append(
                f"Il est {'supérieur' if gap > 0 else 'inférieur'} de "
                f"{french_number(abs(gap), 1)} points à la médiane des autres opérateurs "
                f"({percent(others['score'])})."
            )
    for row in report.timeliness if own else [r for r in report.timeliness if r["alert"]]:
        absent = (f" ; manquent : {', '.join(row['missing_periods'])}"
                  if row["missing_periods"] else "")  # fmt: skip
        out.append(
            f"{row['operator']} a transmis à temps {percent(row['timeliness'])} de ses "
            f"{row['expected']} extractions attendues ({row['late']} en retard, "
            f"{row['missing']} manquante(s){absent}), seuil d'alerte "
            f"{percent(report.timeliness_alert)}."
        )
    meeting = report.meeting
    if meeting and meeting.get("change") is not None:
        since = f"Depuis la réunion de restitution du {meeting['day']}"
        if abs(meeting["change"]) < 0.5:
            out.append(f"{since}, il est resté stable ({percent(meeting['after'])}).")
        else:
            out.append(
                f"{since}, il est passé de {percent(meeting['before'])} à "
                f"{percent(meeting['after'])} ({_points(meeting['change'])})."
            )
    if not own:
        alerts = [o["name"] for o in report.operators if o["alert"]]
        if alerts:
            out.append(
                f"{len(alerts)} opérateur(s) sur {len(report.operators)} sous le seuil "
                f"d'alerte : {', '.join(alerts)}."
            )
    missing = [f for f in report.fields if f["completeness"] is not None and f["weight"] > 0][:3]
    if missing:
        listed = ", ".join(f"{_lower(f['label'])} ({percent(f['completeness'])})" for f in missing)
        out.append(f"Les champs attendus les plus souvent manquants : {listed}.")
    broken = max(report.rules, key=lambda r: r["rate"] or 0, default=None)
    if broken and broken["violated"]:
        out.append(
            f"Règle la plus souvent enfreinte : « {broken['label']} » ({percent(broken['rate'])} "
            "des vérifications)."
        )
    if report.jumps:
        months = ", ".join(f"{j['operator']} en {j['month']}" for j in report.jumps[:3])
        out.append(f"Volumes inhabituels : {months}.")
    if report.duplicates:
        out.append(
            f"{french_number(report.duplicates)} paire(s) d'enregistrements d'une même personne "
            "saisis par deux opérateurs : des doublons probables à vérifier."
        )
    return out


def _quarters(cells: pd.DataFrame) -> tuple[str, str] | None:
    quarters = sorted(period_of(cells.month, "quarter").unique())
    return (quarters[-2], quarters[-1]) if len(quarters) >= 2 else None


def _operators_table(
    report: Restitution,
    cube: Any,
    schema: CollectionSchema,
    names: dict[str, str],
    operator: str | None,
) -> None:
    cells = cube.cells.assign(quarter=period_of(cube.cells.month, "quarter"))
    records = cube.groups.groupby("operator").records.sum()
    scores = score(cells, schema.weights, ["operator"]).set_index("operator").score
    report.quarters = _quarters(cube.cells)
    before = after = pd.Series(dtype=float)
    if report.quarters:
        by_quarter = score(cells, schema.weights, ["operator", "quarter"])
        before = by_quarter[by_quarter.quarter == report.quarters[0]].set_index("operator").score
        after = by_quarter[by_quarter.quarter == report.quarters[1]].set_index("operator").score
    ranks = scores.rank(ascending=False, method="min")
    rows = []
    for code in scores.sort_values(ascending=False, na_position="last").index:
        value = scores.get(code)
        rows.append(
            {
                "code": code,
                "name": str(names.get(code, code)),
                "records": int(records.get(code, 0)),
                "score": _num(value),
                "before": _num(before.get(code)),
                "after": _num(after.get(code)),
                "change": _num(after.get(code, np.nan) - before.get(code, np.nan)),
                "rank": int(ranks[code]) if not np.isnan(ranks[code]) else None,
                "alert": bool(value is not None and value == value and value < schema.alert),
            }
        )
    if operator is None:
        report.operators = rows
        return
    own = [r for r in rows if r["code"] == operator]
    for row in own:
        row["rank_of"] = len(rows)
    report.operators = own
    if report.benchmark:
        others = [r for r in rows if r["code"] != operator]
        report.operators.append(
            {
                "code": "",
                "name": f"Médiane des {len(others)} autres opérateurs",
                "records": None,
                "score": _median(pd.Series([r["score"] for r in others], dtype=float)),
                "before": _median(pd.Series([r["before"] for r in others], dtype=float)),
                "after": _median(pd.Series([r["after"] for r in others], dtype=float)),
                "change": None,
                "rank": None,
                "alert": False,
                "benchmark": True,
            }
        )


def _fields_table(
    report: Restitution, schema: CollectionSchema, cells: pd.DataFrame, operator: str | None
) -> None:
    mine = cells[cells.operator == operator] if operator else cells
    sums = mine.groupby("field")[["expected", "filled", "invalid"]].sum()
    per_operator = cells.groupby(["operator", "field"])[["expected", "filled"]].sum()
    rates = 100 * per_operator.filled / per_operator.expected.where(per_operator.expected > 0)
    rows: list[dict[str, Any]] = []
    for spec in schema.measured:
        if spec.name not in sums.index:
            continue
        expected, filled = int(sums.at[spec.name, "expected"]), int(sums.at[spec.name, "filled"])
        benchmark = None
        if report.benchmark:
            others = rates.drop(index=operator, level="operator", errors="ignore")
            benchmark = _median(others.xs(spec.name, level="field"))
        rows.append(
            {
                "name": spec.name,
                "label": spec.label,
                "requirement": spec.requirement,
                "weight": spec.weight,
                "expected": expected,
                "filled": filled,
                "invalid": int(sums.at[spec.name, "invalid"]),
                "missing": expected - filled,
                "completeness": _num(100 * filled / expected) if expected else None,
                "benchmark": benchmark,
                "alert": bool(expected and 100 * filled / expected < schema.alert),
            }
        )
    rows.sort(
        key=lambda r: (r["completeness"] is None, r["completeness"] or 0, -float(r["weight"]))
    )
    report.fields = rows


def _rules_table(
    report: Restitution, schema: CollectionSchema, rules: pd.DataFrame, operator: str | None
) -> None:
    if rules.empty:
        return
    mine = rules[rules.operator == operator] if operator else rules
    rates = rule_rates(mine, []).set_index("rule")
    for rule in schema.rules:
        if rule.id in rates.index:
            row = rates.loc[rule.id]
            report.rules.append(
                {
                    "id": rule.id,
                    "label": rule.label,
                    "judged": int(row.judged),
                    "violated": int(row.violated),
                    "rate": _num(row.rate),
                }
            )


def _series(
    report: Restitution, cells: pd.DataFrame, weights: dict[str, float], operator: str | None
) -> None:
    if operator is None:
        monthly = score(cells, weights, ["month"])
        report.series = [
            {
                "name": "Score de complétude",
                "points": [
                    {"period": m, "value": float(v)}
                    for m, v in zip(monthly.month, monthly.score, strict=True)
                    if v == v
                ],
            }
        ]
        return
    per = score(cells, weights, ["operator", "month"])
    own = per[per.operator == operator]
    report.series = [
        {
            "name": report.operator["name"] if report.operator else operator,
            "points": [
                {"period": m, "value": float(v)}
                for m, v in zip(own.month, own.score, strict=True)
                if v == v
            ],
        }
    ]
    if report.benchmark:
        others = per[per.operator != operator].groupby("month").score.median()
        report.series.append(
            {
                "name": "Médiane des autres opérateurs",
                "points": [{"period": m, "value": float(v)} for m, v in others.items() if v == v],
            }
        )


def _meeting(
    report: Restitution,
    warehouse: Warehouse,
    schema: CollectionSchema,
    cells: pd.DataFrame,
    territory: tuple[str, str, str] | None,
    operator: str | None,
) -> None:
    """The latest restitution meeting of this territory (or of the collection): the score of
    the three months before it and of the months after it (three at most)."""
    held = meetings(warehouse, schema.name)
    if territory is not None:
        held = held[(held.level == territory[0]) & (held.code == territory[1])]
    if held.empty:
        return
    last = held.iloc[-1]
    mine = cells[cells.operator == operator] if operator else cells
    before, after = meeting_windows(mine.month.unique(), str(last.day))
    if not before or not after:
        report.meeting = {
            "day": str(last.day),
            "label": str(last.label or ""),
            "before": None,
            "after": None,
            "change": None,
        }
        return
    first = score(mine[mine.month.isin(before)], schema.weights, []).score.iloc[0]
    then = score(mine[mine.month.isin(after)], schema.weights, []).score.iloc[0]
    report.meeting = {
        "day": str(last.day),
        "label": str(last.label or ""),
        "before": _num(first),
        "after": _num(then),
        "change": _num(then - first),
        "months_before": f"{before[0]} à {before[-1]}",
        "months_after": f"{after[0]} à {after[-1]}",
    }


def _facts(
    report: Restitution,
    warehouse: Warehouse,
    schema: CollectionSchema,
    within: tuple[str, str] | None,
    operator: str | None,
) -> None:
    report.facts = [
        {"label": "Enregistrements", "value": french_number(report.records)},
        {"label": "Score de complétude", "value": percent(report.score)},
    ]
    if operator is None:
        report.facts.append({"label": "Opérateurs", "value": str(len(report.operators))})
    totals = measure_totals(
        warehouse, schema.name, within=within, operators=[operator] if operator else None
    )
    if totals.empty:
        return
    summed = totals.groupby("measure")[["value", "evaluable"]].sum()
    for measure in schema.measures:
        if measure.id in summed.index:
            value = float(summed.at[measure.id, "value"])
            known = float(summed.at[measure.id, "evaluable"])
            share = (
                f" (renseigné pour {percent(100 * known / report.records)} des enregistrements)"
                if report.records
                else ""
            )
            report.facts.append(
                {"label": measure.label, "value": french_number(value), "note": share.strip()}
            )
