"""Steering dashboards: declarative pages of tiles — a key figure with its trend and
reference, an evolution chart, a map, a table of sub-territories — for one territory.

A dashboard is declared in YAML (``tableaux/*.yaml`` in the observatory's home); a default
one exists for every theme that has values. :func:`build_dashboard` decides the tiles' data
for an audience (its secret applied); the web app shows them, ``dashboard_html`` writes a
standalone page that WeasyPrint lays out as PDF.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.indicators import THEMES, Aggregation
from observatoire.errors import AccessError, InputError, ReferentialError, UnknownNameError
from observatoire.outputs.charts import line_chart
from observatoire.outputs.dashboard_projection import check_projection_tile, projection_tile
from observatoire.outputs.svgmap import indicator_svg_map
from observatoire.outputs.thematic import USABLE, usable_values
from observatoire.secret.policy import ANALYST, PUBLIC, ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.territories.references import (
    compared_period,
    pick_reference,
    reference_parents,
)
from observatoire.text import first_upper, french_key, french_number, with_unit
from observatoire.yamlfile import load_yaml

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["TILE_KINDS", "Dashboard", "DashboardSpec", "build_dashboard", "dashboard_specs"]

FOLDER = "tableaux"
TILE_KINDS = {
    "chiffre": "chiffre clé, sa tendance et sa référence",
    "courbe": "évolution comparée",
    "carte": "carte des territoires qu'il contient",
    "tableau": "tableau des territoires qu'il contient",
    "projection": "tendance projetée et scénario, avec l'erreur mesurée",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# The level drawn and tabulated inside a territory of each level.
CHILD = {
    "pays": "region",
    "region": "departement",
    "departement": "commune",
    "epci": "commune",
    "commune": "iris",
}
ROWS_PER_PAGE = 25  # a table tile's rows a page (``lignes``)
DEMO_NOTE = "Démonstration : valeurs FICTIVES (seuls les territoires et populations sont réels)."


@dataclass(frozen=True)
class DashboardSpec:
    """A dashboard as declared: its tiles are dicts with ``type`` and ``indicateur(s)``."""

    id: str
    title: str
    description: str
    territory: str | None
    tiles: tuple[dict[str, Any], ...]
    origin: str = "par défaut"


@dataclass
class Dashboard:
    spec: DashboardSpec
    territory: dict[str, Any]
    audience: str
    tiles: list[dict[str, Any]]
    freeze_date: str | None
    generated: str
    note: str = ""
    observatory: str = ""


def dashboard_specs(obs: Source) -> list[DashboardSpec]:
    """The observatory's dashboards (``tableaux/*.yaml``), then one default per theme with
    values."""
    catalogue = obs.catalogue()
    declared = []
    folder = obs.home.path / FOLDER
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        declared.append(_load(path, catalogue))
    known = {d.id for d in declared}
    available = obs.available(reader=ANALYST)
    for theme, label in THEMES.items():
        ident = f"theme-{theme}"
        if ident in known:
            continue
        chosen = [
            i for i in catalogue.indicators if i in available and catalogue.get(i).theme == theme
        ]
        if not chosen:
            continue
        rates = [i for i in chosen if catalogue.get(i).aggregation is not Aggregation.SUM]
        counts = [i for i in chosen if i not in rates]
        first = (rates + counts)[:4]
        tiles: list[dict[str, Any]] = [{"type": "chiffre", "indicateur": i} for i in first]
        tiles.append({"type": "courbe", "indicateur": first[0]})
        tiles.append({"type": "carte", "indicateur": (rates or counts)[0]})
        tiles.append({"type": "tableau", "indicateurs": (rates + counts)[:5]})
        declared.append(
            DashboardSpec(
                ident,
                label,
                f"Tableau de bord par défaut du thème « {label} ».",
                None,
                tuple(tiles),
            )
        )
    return declared


def _load(path: Path, catalogue: Any) -> DashboardSpec:
    """One declared dashboard; an error names the file and the field."""
    raw = load_yaml(path.read_text(encoding="utf-8"), path, "tableau de bord") or {}
    if not isinstance(raw, dict):
        raise InputError(f"{path} : attendu un dictionnaire (id, titre, tuiles)")
    ident = str(raw.get("id") or path.stem)
    if not _ID.match(ident):
        raise InputError(f"{path} : id « {ident} » invalide (minuscules, chiffres et -)")
    tiles = raw.get("tuiles")
    if not isinstance(tiles, list) or not tiles:
        raise InputError(f"{path} : « tuiles » doit être une liste non vide")
    checked = []
    for i, tile in enumerate(tiles, start=1):
        where = f"{path} : tuiles[{i}]"
        if not isinstance(tile, dict) or tile.get("type") not in TILE_KINDS:
            raise InputError(f"{where}.type doit être l'un de : {', '.join(TILE_KINDS)}")
        names = tile.get("indicateurs") if tile["type"] == "tableau" else [tile.get("indicateur")]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            field_name = "indicateurs (liste)" if tile["type"] == "tableau" else "indicateur"
            raise InputError(f"{where}.{field_name} manquant")
        for name in names:
            try:
                catalogue.get(name)
            except UnknownNameError as exc:
                raise InputError(f"{where} : {exc}") from None
        if tile["type"] == "projection":
            check_projection_tile(tile, where)
        if tile["type"] == "tableau":
            order = str(tile.get("tri") or "nom")
            if order != "nom" and order not in names:
                raise InputError(f"{where}.tri : « nom » ou l'un de : {', '.join(names)}")
            rows = tile.get("lignes", ROWS_PER_PAGE)
            if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 500:
                raise InputError(f"{where}.lignes : un nombre de lignes par page, de 1 à 500")
        checked.append(dict(tile))
    return DashboardSpec(
        id=ident,
        title=str(raw.get("titre") or ident),
        description=str(raw.get("description") or ""),
        territory=str(raw["territoire"]) if raw.get("territoire") else None,
        tiles=tuple(checked),
        origin=path.name,
    )


def find_spec(obs: Source, ident: str) -> DashboardSpec:
    specs = dashboard_specs(obs)
    for spec in specs:
        if spec.id == ident:
            return spec
    raise UnknownNameError("tableau de bord", ident, [s.id for s in specs])


def build_dashboard(
    obs: Source, spec: DashboardSpec, *, territory: str | None = None, reader: ReadPolicy = PUBLIC
) -> Dashboard:
    """The tiles of ``spec`` for ``territory`` (else the dashboard's, else the observatory's,
    else France), as ``reader`` may see them."""
    chosen = territory or spec.territory or _home_territory(obs) or "pays:FR"
    level, code = ("pays", "FR") if chosen in ("pays:FR", "FR") else obs.geography.resolve(chosen)
    card = obs.geography.card(level, code)
    catalogue = obs.catalogue()
    own = obs.profile(f"{level}:{code}", reader=reader)
    parents = reference_parents(card, ("departement", "region", "pays"))
    profiles: dict[tuple[str, str], pd.DataFrame] = {}

    def profile(territory: dict[str, Any] | None) -> pd.DataFrame | None:
        if territory is None:
            return None
        key = (territory["level"], territory["code"])
        if key not in profiles:
            profiles[key] = obs.profile(f"{key[0]}:{key[1]}", reader=reader)
        return profiles[key]

    reference = parents[0] if parents else None
    ref_profiles = (
        (profile(reference), profile(reference["stand_in"])) if reference else (None, None)
    )
    tiles = []
    for tile in spec.tiles:
        kind = tile["type"]
        if kind == "tableau":
            tiles.append(_table(obs, catalogue, tile, level, code, reader))
            continue
        indicator = catalogue.get(tile["indicateur"])
        rows = own[(own.indicator == indicator.id) & own.status.isin(USABLE)].sort_values("period")
        base = {
            "type": kind,
            "indicator": indicator.id,
            "label": indicator.label,
            "unit": indicator.unit,
        }
        if kind == "chiffre":
            tiles.append({**base, **_figure(rows, ref_profiles, reference, indicator)})
        elif kind == "projection":
            shown = projection_tile(obs, indicator, level, code, card["name"], tile, reader,
                                    len(tiles))  # fmt: skip
            tiles.append({**base, **shown})
        elif kind == "courbe":
            series = []
            if len(rows):
                series.append({"name": card["name"], "points": _points(rows)})
            for parent in parents[:2]:
                for shown in (parent, parent["stand_in"]):  # France, else France métropolitaine
                    rows_of = profile(shown)
                    if rows_of is None:
                        continue
                    mine = rows_of[
                        (rows_of.indicator == indicator.id) & rows_of.status.isin(USABLE)
                    ]
                    if len(mine) and indicator.aggregation is not Aggregation.SUM:
                        series.append(
                            {"name": shown["name"], "points": _points(mine.sort_values("period"))}
                        )
                        break
            several = any(len(s["points"]) > 1 for s in series)
            chart = (
                line_chart(
                    series,
                    title=f"Évolution : {indicator.label}",
                    unit=indicator.unit,
                    ident=f"tile-{len(tiles)}",
                )
                if several
                else ""
            )
            tiles.append({**base, "svg": chart, "series": series})
        else:
            tiles.append({**base, **_map(obs, indicator, level, code, tile, reader, len(tiles))})
    meta = obs.meta()
    return Dashboard(
        spec=spec,
        territory=card,
        audience=reader.label,
        tiles=tiles,
        freeze_date=obs.freeze_date(),
        generated=date.today().isoformat(),
        note=DEMO_NOTE if "demo" in meta else "",
        observatory=str(obs.home.settings["name"]),
    )


def _home_territory(obs: Source) -> str | None:
    text = str(obs.home.settings.get("territory") or "")
    return text or None


def _points(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"period": str(p), "value": float(v)} for p, v in zip(rows.period, rows.value, strict=True)
    ]


def _figure(
    rows: pd.DataFrame,
    ref_profiles: tuple[pd.DataFrame | None, pd.DataFrame | None],
    reference: dict[str, Any] | None,
    indicator: Any,
) -> dict[str, Any]:
    """A key figure at the latest period it shares with its reference (the reference's
    stand-in, France métropolitaine, when it has none), its change since the period before,
    the reference's value; the territory's more recent value said apart."""
    if rows.empty:
        return {"value": None, "period": None, "text": "non disponible pour ce public"}
    comparable = reference is not None and indicator.aggregation is not Aggregation.SUM
    values = usable_values(ref_profiles[0], indicator.id) if comparable else {}
    stand_values = usable_values(ref_profiles[1], indicator.id) if comparable else {}
    periods = [str(p) for p in rows.period]
    period = compared_period(periods, [{*values, *stand_values}]) or periods[-1]
    rows, newer = rows.iloc[: periods.index(period) + 1], rows.iloc[-1]
    last = rows.iloc[-1]
    inline = indicator.unit in ("%", "‰", "€")
    out: dict[str, Any] = {
        "value": float(last.value),
        "period": str(last.period),
        "text": with_unit(
            float(last.value), indicator.unit, 1 if indicator.unit in ("%", "‰") else None
        )
        if inline
        else french_number(float(last.value)),
        "unit_text": "" if inline else indicator.unit,
        "trend": None,
    }
    if len(rows) > 1:
        before = rows.iloc[-2]
        change = float(last.value) - float(before.value)
        arrow = "↗" if change > 0 else ("↘" if change < 0 else "→")
        sign = "+" if change >= 0 else "−"
        if indicator.unit in ("%", "‰"):
            said = f"{sign}{french_number(abs(change), 1)} pt"
        elif before.value:
            relative = abs(change) / abs(float(before.value)) * 100
            said = f"{sign}{french_number(relative, 1)} %"
        else:
            said = ""
        out["trend"] = f"{arrow} {said} depuis {before.period}".strip()
    digits = 1 if indicator.unit in ("%", "‰") else None
    if str(newer.period) != period:
        shown = with_unit(float(newer.value), indicator.unit, digits)
        out["newer"] = f"{shown} en {newer.period} (sans référence)"
    if comparable and reference is not None:
        chosen = pick_reference(reference, values, stand_values, period)
        if chosen.value is not None:
            out["reference"] = {
                "name": chosen.name,
                "value": chosen.value,
                "text": with_unit(chosen.value, indicator.unit, digits),
            }
    return out


def _map(
    obs: Source,
    indicator: Any,
    level: str,
    code: str,
    tile: dict[str, Any],
    reader: ReadPolicy,
    n: int,
) -> dict[str, Any]:
    child = str(tile.get("niveau") or CHILD.get(level, "commune"))
    try:
        frame = obs.indicator(indicator.id, level=child, within=(level, code), reader=reader)
    except (AccessError, ReferentialError, InputError):
        return {"svg": "", "caption": "pas de valeurs à ce niveau pour ce public"}
    usable = frame[frame.status.isin(USABLE)]
    period = str(usable.period.max()) if len(usable) else None
    frame = frame[(frame.period.astype(str) == period) | frame.period.isna()].drop_duplicates(
        "code"
    )
    units = obs.geography.geometries(level=child, within=(level, code))
    units = units[units.geometry.notna()]
    if units.empty or len(units) > 1500:
        return {"svg": "", "caption": "pas de contours à ce niveau"}
    svg, legend = indicator_svg_map(
        units, frame, indicator, period=period, ident=f"tile-{n}", width=420
    )
    plural = LEVELS[child].plural if child in LEVELS else child
    return {
        "svg": svg,
        "caption": f"{first_upper(plural)}, {period} (quantiles)",
        "legend": legend,
    }


def _table_level(obs: Source, level: str, code: str) -> str:
    """The level a table tile lists by default: the zones of the observatory's own zoning
    that cover the territory (its Espaces de Solidarité, its TAS: 95 % of its population at
    least, so that a partial zoning such as the QPV is not), else the level below."""
    zonings = obs.geography.zonings()
    people = obs.geography.card(level, code).get("population") or 0
    for name in zonings.name:
        zones = obs.geography.territories(level=str(name), within=(level, code))
        covered = float(zones.population.fillna(0).sum()) if len(zones) else 0.0
        if len(zones) > 1 and people and covered >= 0.95 * people:  # it covers the territory
            return str(name)
    return CHILD.get(level, "commune")


def _level_label(obs: Source, level: str) -> str:
    """« Communes », « IRIS », or a zoning's label (never its id)."""
    if level in LEVELS:
        return first_upper(LEVELS[level].plural)
    zonings = obs.geography.zonings()
    found = zonings[zonings.name == level]
    return str(found.label.iloc[0]) if len(found) else level


def _table(
    obs: Source, catalogue: Any, tile: dict[str, Any], level: str, code: str, reader: ReadPolicy
) -> dict[str, Any]:
    """Sub-territories × indicators, latest period of each: the zones of the observatory's
    zoning or the level below (``niveau``), in French alphabetical order or by an indicator,
    highest first (``tri``), ``lignes`` rows a page."""
    child = str(tile.get("niveau") or _table_level(obs, level, code))
    columns = []
    rows: dict[str, dict[str, Any]] = {}
    for ident in tile["indicateurs"]:
        indicator = catalogue.get(ident)
        try:
            frame = obs.indicator(ident, level=child, within=(level, code), reader=reader)
        except (AccessError, ReferentialError, InputError):
            continue
        usable = frame[frame.status.isin(USABLE)]
        period = str(usable.period.max()) if len(usable) else None
        columns.append(
            {"id": ident, "label": indicator.label, "unit": indicator.unit, "period": period}
        )
        latest = frame[(frame.period.astype(str) == period) | frame.period.isna()].drop_duplicates(
            "code"
        )
        for r in latest.itertuples():
            row = rows.setdefault(
                str(r.code), {"code": str(r.code), "name": str(r.name), "cells": {}}
            )
            shown = r.status in USABLE and not pd.isna(r.value)
            row["cells"][ident] = {
                "value": float(r.value) if shown else None,
                "text": with_unit(
                    float(r.value), indicator.unit, 1 if indicator.unit in ("%", "‰") else None
                )
                if shown
                else ("secret" if r.status == "secret" else "–"),
            }
    order = str(tile.get("tri") or "nom")
    kept = {c["id"]: c["label"] for c in columns}
    if order not in kept:  # « nom », or a column this audience may not read: by name
        order = "nom"
    listed = sorted(rows.values(), key=lambda r: french_key(r["name"]))
    if order != "nom":  # highest first, territories without a value last

        def value(row: dict[str, Any]) -> float:
            found = row["cells"].get(order, {}).get("value")
            return -math.inf if found is None else float(found)

        listed.sort(key=value, reverse=True)
    return {
        "type": "tableau",
        "level": child,
        "level_label": _level_label(obs, child),
        "order": order,
        "order_label": kept.get(order, ""),
        "per_page": int(tile.get("lignes") or ROWS_PER_PAGE),
        "columns": columns,
        "rows": listed,
    }


def dashboard_html(dashboard: Dashboard) -> str:
    """A standalone page of the dashboard (for its PDF)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("observatoire.outputs", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    css = env.loader.get_source(env, "dashboard.css")[0]  # type: ignore[union-attr]
    return env.get_template("dashboard_page.html").render(d=dashboard, css=css)
