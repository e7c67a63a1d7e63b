"""The data-quality review of what the observatory holds, in the four domains of the WHO
review: operators' reporting (completeness and timeliness of their extracts), consistency of
the pooled statistics over time, consistency between related indicators and sources, and
denominators. It reads, judges with the pure checks of :mod:`observatoire.quality` and returns
the flags raised; :mod:`observatoire.services.quality` keeps them across reviews.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import THEMES, Catalogue, Indicator
from observatoire.catalog.periods import period_time
from observatoire.quality import drift
from observatoire.quality.calendar import received_spans, reporting, reporting_rates
from observatoire.quality.flags import FLAG_COLUMNS, flag_id
from observatoire.quality.relations import Relation, check_pair
from observatoire.quality.schema import CollectionSchema
from observatoire.store import computed as computed_store
from observatoire.store import review as store
from observatoire.store.base import Warehouse
from observatoire.text import french_number, with_unit

__all__ = ["Review", "denominators", "review"]

SMALL_AREAS = ("iris", "qpv")  # levels of small areas (see quality.drift.SMALL_AREA_FACTOR)
BREAK_GROUP = 10  # territories missing one period past which the level gets one flag
# Members of a parent flagged for one indicator and period from which the parent is marked.
DIVERGENT_MEMBERS = 2
TIMELINESS_WINDOW = 12  # periods over which an operator's timeliness is measured for its alert


@dataclass
class Review:
    """What one review raised, and what it looked at (flags of these subjects, levels and
    territories that it did not raise again are resolved)."""

    flags: pd.DataFrame
    subjects: set[str] = field(default_factory=set)
    periods: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    codes: dict[str, set[str]] | None = None  # reviewed territories by level (None: all)
    steps: dict[str, float] = field(default_factory=dict)  # seconds per domain
    notes: list[str] = field(default_factory=list)  # what could not be reviewed, and why

    def counts(self) -> dict[str, int]:
        """How many flags each domain raised."""
        return {str(k): int(v) for k, v in self.flags.domain.value_counts().items()}


def _flag(
    check: str, subject: str, level: str, code: str, period: str, *, severity: str,
    message: str, detail: Mapping[str, object], batch: object = None,
) -> dict[str, object]:  # fmt: skip
    return {
        "id": flag_id(check, subject, level, code, period), "domain": check.split(".")[0],
        "check_name": check, "severity": severity, "subject": subject, "level": level,
        "code": code, "period": period, "message": message, "detail": dict(detail),
        "batch": batch,
    }  # fmt: skip


def review(
    warehouse: Warehouse,
    catalogue: Catalogue,
    *,
    collections: Sequence[CollectionSchema] = (),
    relations: Sequence[Relation] = (),
    seen: Mapping[tuple[str, str], set[str]] | None = None,
    today: date | None = None,
    within: tuple[str, str] | None = None,
    since: str | None = None,
    indicators: Iterable[str] | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> Review:
    """Review the stored indicators (those fed by the imports made since ``since`` when given,
    or ``indicators``), at every level they are stored at, inside ``within``; the declared
    ``relations``; the reporting of the ``collections`` with a calendar (as of ``today``).
    ``seen``: the periods each (indicator, level) had at the last review."""
    today = today or date.today()
    everything = store.stored_levels(warehouse)
    stored = everything
    fed = _fed(catalogue)
    chosen = set(stored.indicator) & set(fed)
    if indicators is not None:
        chosen &= set(indicators)
    if since is not None:
        recent = store.imported_since(warehouse, since)
        chosen = {i for i in chosen if fed[i] & recent}
    stored = stored[stored.indicator.isin(chosen)]
    stale = sorted(computed_store.stale_indicators(warehouse) & chosen)
    if stale:
        result_notes = [f"{len(stale)} indicateur(s) à recalculer depuis un import ou un retrait "
                        f"({', '.join(stale[:5])}{'…' if len(stale) > 5 else ''}) : lancez "
                        "« observatoire compute », la revue lit leurs valeurs d'avant"]  # fmt: skip
    else:
        result_notes = []
    batches = _batches(store.period_batches(warehouse), {i: fed[i] for i in chosen})
    result = Review(flags=pd.DataFrame(columns=FLAG_COLUMNS), subjects=set(chosen),
                    notes=result_notes)
    found: list[dict[str, object]] = []
    if within is not None:
        result.codes = {}
    started = time.perf_counter()
    levels = stored.groupby("level").indicator.apply(list).to_dict()
    for level, idents in sorted(levels.items()):
        on_step(f"cohérence dans le temps : {len(idents)} indicateur(s), niveau {level}")
        values = store.level_values(warehouse, idents, level, within, usable=True)
        if result.codes is not None:
            result.codes[level] = set(values.code)
        found += _over_time(warehouse, catalogue, values, level, batches, result)
    _vintages(catalogue, seen or {}, batches, result, found)
    result.steps["temps"] = time.perf_counter() - started
    started = time.perf_counter()
    for relation in relations:
        if relation.a in chosen or relation.b in chosen or (indicators is None and since is None):
            result.subjects.add(f"coherence:{relation.id}")
            raised = _relation(warehouse, catalogue, relation, within, batches, on_step,
                               everything)  # fmt: skip
            if raised is None:
                result.notes.append(
                    f"cohérence « {relation.id} » non vérifiée : {relation.a} et {relation.b} ne "
                    "sont calculés ensemble à aucun niveau (observatoire compute)")
                continue
            found += raised
    if indicators is None and since is None and within is None:
        result.subjects.update(f"theme:{t}" for t in THEMES)
        found += denominators(catalogue, set(stored.indicator))
    result.steps["relations"] = time.perf_counter() - started
    started = time.perf_counter()
    if indicators is None and within is None:
        for collection in collections:
            if collection.calendar is not None:
                on_step(f"transmissions : collection {collection.name}")
                result.subjects.add(f"collection:{collection.name}")
                found += _reporting(warehouse, collection, today, result.notes)
    result.steps["transmission"] = time.perf_counter() - started
    if found:
        result.flags = pd.DataFrame(found)[FLAG_COLUMNS]
    return result


def _fed(catalogue: Catalogue) -> dict[str, set[str]]:
    """Each indicator of the catalogue and the variables it reads (through the indicators it
    is made of too)."""
    return {i.id: catalogue.variables_of(i.id) for i in catalogue.indicators.values()}


def _batches(rows: pd.DataFrame, fed: Mapping[str, set[str]]) -> dict[tuple[str, str], int]:
    """(indicator, period) → the latest import in force bringing its values of that period."""
    if rows.empty:
        return {}
    latest = {(str(r.variable), str(r.period)): int(r.batch) for r in rows.itertuples()}
    out: dict[tuple[str, str], int] = {}
    for (variable, period), batch in latest.items():
        for ident, variables in fed.items():
            if variable in variables:
                key = (ident, period)
                out[key] = max(out.get(key, 0), batch)
    return out


def _over_time(
    warehouse: Warehouse, catalogue: Catalogue, values: pd.DataFrame, level: str,
    batches: Mapping[tuple[str, str], int], result: Review,
) -> list[dict[str, object]]:  # fmt: skip
    """Gaps to history, breaks and divergent members, for each indicator of ``values``."""
    found: list[dict[str, object]] = []
    members: pd.DataFrame | None = None
    if values.empty:
        return found
    at, idents = pd.factorize(values.indicator, sort=False)
    bounds = np.flatnonzero(np.diff(at)) + 1  # the rows come sorted by indicator
    for start, stop in zip([0, *bounds], [*bounds, len(at)], strict=True):
        rows = values.iloc[start:stop]
        indicator = catalogue.get(str(idents[at[start]]))
        series = drift.series_of(rows)
        result.periods[(indicator.id, level)] = set(series.periods) | {
            str(p) for p in pd.unique(rows.period) if period_time(str(p)) is None}
        kind = drift.kind_of(indicator.aggregation.value, indicator.unit)
        gaps = drift.time_gaps(series, kind=kind, threshold=indicator.quality_threshold,
                               small_area=level in SMALL_AREAS)  # fmt: skip
        gaps, shifts = drift.level_shifts(gaps, series)
        for row in shifts.itertuples(index=False):
            found.append(_shift_flag(indicator, level, row, kind, batches))
        for row in gaps.itertuples(index=False):
            found.append(_gap_flag(indicator, level, row, kind, batches))
        found += _breaks(indicator, level, series, batches)
        if gaps.empty:
            continue
        if members is None:
            members = store.members_of_parents(warehouse, level)
        for row in drift.divergences(gaps, members, minimum=DIVERGENT_MEMBERS).itertuples():
            found.append(_flag(
                "temps.divergence", indicator.id, str(row.parent_level), str(row.parent_code),
                str(row.period), severity="attention",
                batch=batches.get((indicator.id, str(row.period))),
                message=(f"{indicator.label} : {row.flagged} territoires ({level}) sur "
                         f"{row.members} de ce territoire s'écartent de leur historique en "
                         f"{row.period}"),
                detail={"niveau_membres": level, "signales": int(row.flagged),
                        "membres": int(row.members)},
            ))  # fmt: skip
    return found


def _breaks(indicator: Indicator, level: str, series: drift.Series,
            batches: Mapping[tuple[str, str], int]) -> list[dict[str, object]]:  # fmt: skip
    """Territories without a row for a period between two with a value: one flag each, or
    one for the level when more than :data:`BREAK_GROUP` share the period (a file that left
    out a whole class of territories is one finding, not thousands) — but a territory among
    the largest of the level (its value before the hole in the top tenth) keeps its own
    flag, as an alert: a large commune missing is not the pattern of the small ones."""
    found: list[dict[str, object]] = []
    for period, holes in drift.breaks(series).groupby("period"):
        batch = batches.get((indicator.id, str(period)))
        alone = holes
        if len(holes) > BREAK_GROUP:
            column = {p: j for j, p in enumerate(series.periods)}
            row_of = {c: i for i, c in enumerate(series.codes)}
            before = np.array([series.values[row_of[c], column[b]]
                               for c, b in zip(holes.code, holes.before, strict=True)])  # fmt: skip
            large = before >= np.nanpercentile(series.values[:, column[holes.before.iloc[0]]], 90)
            alone = holes[large]
            codes = sorted(holes.code.astype(str))
            found.append(_flag(
                "temps.rupture", indicator.id, level, "*", str(period), severity="attention",
                batch=batch,
                message=(f"{indicator.label} : {len(holes)} territoires ({level}) sans ligne "
                         f"en {period} alors qu'ils ont une valeur avant et après (par exemple "
                         f"{', '.join(codes[:5])} ; liste complète dans le détail)"),
                detail={"territoires": len(holes), "codes": codes},
            ))  # fmt: skip
        for row in alone.itertuples(index=False):
            found.append(_flag(
                "temps.rupture", indicator.id, level, row.code, row.period,
                severity="alerte" if len(alone) < len(holes) else "attention", batch=batch,
                message=(f"{indicator.label} : aucune ligne en {row.period} pour ce "
                         f"territoire, qui a une valeur en {row.before} et en {row.after}, "
                         f"alors que d'autres territoires du niveau en ont"),
                detail={"avant": row.before, "apres": row.after},
            ))  # fmt: skip
    return found


def _shift_flag(indicator: Indicator, level: str, row: object, kind: str,
                batches: Mapping[tuple[str, str], int]) -> dict[str, object]:  # fmt: skip
    period, unit = str(row.period), "points" if kind == "rate" else "%"  # type: ignore[attr-defined]
    median = f"{float(row.median):+.1f}".replace(".", ",")  # type: ignore[attr-defined]
    return _flag(
        "temps.ecart", indicator.id, level, "*", period, severity="alerte",
        batch=batches.get((indicator.id, period)),
        message=(f"{indicator.label} : {row.flagged} territoires ({level}) sur "  # type: ignore[attr-defined]
                 f"{row.judged} s'écartent ensemble de leur historique en {period} (écart "  # type: ignore[attr-defined]
                 f"médian {median} {unit}) : changement de champ, de définition ou période "
                 "incomplète d'un millésime ?"),
        detail={"signales": int(row.flagged), "juges": int(row.judged),  # type: ignore[attr-defined]
                "ecart_median": float(row.median), "unite_ecart": unit,  # type: ignore[attr-defined]
                "exemples": list(row.examples)},  # type: ignore[attr-defined]
    )  # fmt: skip


def _gap_flag(indicator: Indicator, level: str, row: object, kind: str,
              batches: Mapping[tuple[str, str], int]) -> dict[str, object]:  # fmt: skip
    value, expected = float(row.value), float(row.expected)  # type: ignore[attr-defined]
    gap, allowed = float(row.gap), float(row.threshold)  # type: ignore[attr-defined]
    period, code = str(row.period), str(row.code)  # type: ignore[attr-defined]
    unit = "points" if kind == "rate" else "%"
    how = ("la tendance des trois millésimes précédents" if row.trend  # type: ignore[attr-defined]
           else "la moyenne des millésimes précédents")  # fmt: skip
    gap_text = "non mesurable" if gap != gap else f"{gap:+.1f}".replace(".", ",") + f" {unit}"
    severe = gap != gap or abs(gap) > 2 * allowed
    return _flag(
        "temps.ecart", indicator.id, level, code, period,
        severity="alerte" if severe else "attention", batch=batches.get((indicator.id, period)),
        message=(f"{indicator.label} : {with_unit(value, indicator.unit)} en {period}, pour "
                 f"une valeur attendue de {with_unit(expected, indicator.unit)} d'après {how} ; "
                 f"écart {gap_text} (seuil {french_number(allowed, 1)} {unit})"),
        detail={"valeur": value, "attendu": expected, "ecart": None if gap != gap else gap,
                "seuil": allowed, "unite_ecart": unit, "z": _number(row.z),  # type: ignore[attr-defined]
                "methode": "tendance" if row.trend else "moyenne"},  # type: ignore[attr-defined]
    )  # fmt: skip


def _number(value: object) -> float | None:
    return None if value is None or value != value else float(value)  # type: ignore[arg-type]


def _vintages(catalogue: Catalogue, seen: Mapping[tuple[str, str], set[str]],
              batches: Mapping[tuple[str, str], int], result: Review,
              found: list[dict[str, object]]) -> None:  # fmt: skip
    """A period an indicator had at a level at the last review, or has at another level
    between the level's first and last, and no longer has at the level: one flag per source
    (``filosofi``…) and period, naming the indicators and levels (a withdrawn import takes
    a vintage from every indicator it fed: one finding)."""
    if result.codes is not None:
        return  # a review inside a territory sees a part of each level: no vintage is judged
    by_indicator: dict[str, dict[str, set[str]]] = {}
    for (ident, level), periods in result.periods.items():
        by_indicator.setdefault(ident, {})[level] = {p for p in periods
                                                      if period_time(p) is not None}
    gone: dict[tuple[str, str], list[tuple[str, str, bool]]] = {}
    for ident, levels in by_indicator.items():
        sources = sorted({v.split(".")[0] for v in catalogue.variables_of(ident)})
        for level, now in levels.items():
            elsewhere = set().union(*(p for lv, p in levels.items() if lv != level))
            before = {p for p in seen.get((ident, level), set()) if period_time(p) is not None}
            for period in drift.vintages_gone(now, before, elsewhere):
                gone.setdefault(("+".join(sources), period), []).append(
                    (ident, level, period in before))
    for (source, period), lost in sorted(gone.items()):
        idents = sorted({i for i, _, _ in lost})
        names = sorted({lv for _, lv, _ in lost})
        where = ("à la dernière revue" if all(b for _, _, b in lost) else
                 "à un autre niveau" if not any(b for _, _, b in lost) else
                 "à la dernière revue ou à un autre niveau")  # fmt: skip
        labels = ", ".join(catalogue.get(i).label for i in idents[:3])
        more = f" et {len(idents) - 3} autre(s)" if len(idents) > 3 else ""
        found.append(_flag(
            "temps.millesime", f"source:{source}", "*", "*", period, severity="alerte",
            batch=max((batches.get((i, period), 0) for i in idents), default=0) or None,
            message=(f"Source {source} : le millésime {period} n'a plus de valeur pour "
                     f"{len(idents)} indicateur(s) ({labels}{more}), niveau(x) "
                     f"{', '.join(names)} ; il en avait {where}"),
            detail={"indicateurs": idents, "niveaux": names},
        ))  # fmt: skip
        result.subjects.add(f"source:{source}")
    for source in {"+".join(sorted({v.split(".")[0] for v in catalogue.variables_of(i)}))
                   for i in by_indicator}:  # fmt: skip
        result.subjects.add(f"source:{source}")


def _relation(warehouse: Warehouse, catalogue: Catalogue, relation: Relation,
              within: tuple[str, str] | None, batches: Mapping[tuple[str, str], int],
              on_step: Callable[[str], None], stored: pd.DataFrame,
              ) -> list[dict[str, object]] | None:  # fmt: skip
    """The territories where ``relation`` does not hold, at every level both are stored
    (None: no level has both)."""
    if relation.a not in catalogue or relation.b not in catalogue:
        return None
    a, b = catalogue.get(relation.a), catalogue.get(relation.b)
    levels = sorted(set(stored.level[stored.indicator == a.id])
                    & set(stored.level[stored.indicator == b.id]))  # fmt: skip
    if not levels:
        return None
    found: list[dict[str, object]] = []
    for level in levels:
        on_step(f"cohérence {relation.id} : niveau {level}")
        values = store.level_values(warehouse, [a.id, b.id], level, within)
        values = values[values.value.notna()]
        # a partial sum of counts is a lower bound of a: above an upper bound, surely so
        lower = values.status.eq("partial") & (a.aggregation.value == "sum")
        a_rows = values[(values.indicator == a.id) & (values.status.eq("ok") | lower)]
        broken = check_pair(relation, a_rows,
                            values[(values.indicator == b.id) & values.status.eq("ok")])
        partial = set(zip(a_rows.code[a_rows.status == "partial"],
                          a_rows.period[a_rows.status == "partial"], strict=True))
        above = broken.ratio > (relation.high if relation.high is not None else float("inf"))
        known = [(c, p) not in partial for c, p in zip(broken.code, broken.period, strict=True)]
        broken = broken[above | pd.Series(known, index=broken.index, dtype=bool)]
        for row in broken.itertuples(index=False):
            at_least = " au moins (valeur partielle)" if (row.code, row.period) in partial else ""
            ratio = "infini" if row.ratio == float("inf") else french_number(row.ratio, 2)
            found.append(_flag(
                "relations.hors_bornes", f"coherence:{relation.id}", level, row.code,
                row.period, severity="alerte",
                batch=max(batches.get((a.id, row.period), 0),
                          batches.get((b.id, str(row.period_b)), 0)) or None,
                message=(f"{relation.label} : {a.label} {with_unit(row.value_a, a.unit)}"
                         f"{at_least} "
                         f"({row.period}) et {b.label} {with_unit(row.value_b, b.unit)} "
                         f"({row.period_b}), rapport {ratio} hors de la relation "
                         f"{relation.describe()}"),
                detail={"a": a.id, "valeur_a": row.value_a, "periode_a": row.period,
                        "sources_a": list(a.sources), "b": b.id, "valeur_b": row.value_b,
                        "periode_b": row.period_b, "sources_b": list(b.sources),
                        "rapport": _number(row.ratio) if row.ratio != float("inf") else None,
                        "relation": relation.describe()},
            ))  # fmt: skip
    return found


def denominators(catalogue: Catalogue, stored: set[str]) -> list[dict[str, object]]:
    """The themes (a portrait's pages) whose stored ratios take one population (the concept
    of a count of the catalogue: population, ménages…) from several variables: the page must
    say which source each uses."""
    concept: dict[str, str] = {}
    for indicator in catalogue.indicators.values():
        if indicator.formula.kind == "variable" and indicator.aggregation.value == "sum":
            for name in indicator.formula.variable:
                concept.setdefault(name, indicator.id)
    uses: dict[tuple[str, str], dict[str, list[str]]] = {}
    for ident in sorted(stored):
        indicator = catalogue.get(ident)
        if indicator.formula.kind != "ratio":
            continue
        for name in indicator.formula.denominator:
            key = (indicator.theme, concept.get(name, name))
            uses.setdefault(key, {}).setdefault(name, []).append(ident)
    found: list[dict[str, object]] = []
    for (theme, population), variables in sorted(uses.items()):
        pairs = [(name, ident) for name, idents in variables.items() for ident in idents]
        if not any(v1 != v2 and i1 != i2 for v1, i1 in pairs for v2, i2 in pairs):
            continue  # one variable, or one indicator's alternatives (one per territory)
        label = catalogue.get(population).label if population in catalogue else population
        listed = " ; ".join(f"{name} pour {', '.join(idents)}"
                            for name, idents in sorted(variables.items()))  # fmt: skip
        found.append(_flag(
            "denominateurs.sources", f"theme:{theme}", "*", "*", population,
            severity="information",
            message=(f"{THEMES.get(theme, theme)} : le dénominateur « {label} » vient de "
                     f"{len(variables)} variables ({listed}) ; la page dit laquelle chaque "
                     "indicateur utilise (sources et méthodes)"),
            detail={"theme": theme, "denominateur": population, "variables": variables},
        ))  # fmt: skip
    return found


def _reporting(warehouse: Warehouse, collection: CollectionSchema, today: date,
               notes: list[str]) -> list[dict[str, object]]:  # fmt: skip
    """Missing and late extracts of each operator, and operators under the alert threshold
    of timeliness over their last :data:`TIMELINESS_WINDOW` periods due."""
    calendar = collection.calendar
    assert calendar is not None
    received = received_spans(store.receipts(warehouse, collection.name), calendar)
    strangers = sorted(set(received.operator) - set(calendar.operators)) if calendar.operators \
        else []  # fmt: skip
    if strangers:
        notes.append(f"collection {collection.name} : opérateur(s) absent(s) du calendrier, "
                     f"leurs transmissions ne sont pas jugées : {', '.join(strangers[:10])}")
    states = reporting(received, calendar, today)
    subject = f"collection:{collection.name}"
    found: list[dict[str, object]] = []
    for row in states[states.state.isin(["manquante", "en_retard"])].itertuples(index=False):
        missing = row.state == "manquante"
        head = f"{collection.label} : l'extraction de {row.period} de l'opérateur {row.operator}"
        found.append(_flag(
            "transmission.manquante" if missing else "transmission.retard", subject,
            "operateur", row.operator, row.period,
            severity="alerte" if missing else "attention",
            message=(f"{head}, due le {row.due:%d/%m/%Y}, n'est pas arrivée ({row.delay} jours "
                     f"de retard au {today:%d/%m/%Y})" if missing else
                     f"{head} est arrivée le {row.received:%d/%m/%Y}, {row.delay} jours après "
                     f"l'échéance du {row.due:%d/%m/%Y}"),
            detail={"due": row.due.isoformat(), "retard_jours": int(row.delay),
                    **({} if missing else {"recue": row.received.isoformat()})},
        ))  # fmt: skip
    due = states[states.state != "a_venir"]
    recent = due.groupby("operator").tail(TIMELINESS_WINDOW)
    for row in reporting_rates(recent, ["operator"]).itertuples(index=False):
        if row.timeliness < calendar.alert:
            found.append(_flag(
                "transmission.alerte", subject, "operateur", row.operator, "",
                severity="attention",
                message=(f"{collection.label} : l'opérateur {row.operator} a transmis à temps "
                         f"{french_number(row.timeliness, 1)} % de ses {row.expected} "
                         f"dernières extractions dues (seuil d'alerte "
                         f"{french_number(calendar.alert, 0)} %)"),
                detail={"attendues": int(row.expected), "a_temps": int(row.on_time),
                        "en_retard": int(row.late), "manquantes": int(row.missing),
                        "ponctualite": float(row.timeliness)},
            ))  # fmt: skip
    return found
