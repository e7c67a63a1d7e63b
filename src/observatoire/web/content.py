"""What the pages and the API show: plain data built from an observatory for an audience.

Every function returns JSON-ready values (dicts, lists, str, float, int, None: no NaN, no
numpy types); the routes shape them as HTML, JSON or CSV. Values pass through the
observatory's audience-aware reads, so what is returned has passed the secret rules.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.catalog.indicators import THEMES, Catalogue, Indicator, themes_in
from observatoire.engine.funnel import has_funnel
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.observatory import Observatory
from observatoire.outputs.palettes import PALETTES
from observatoire.outputs.thematic import classes_for
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats.classify import METHODS
from observatoire.territories.levels import LEVELS, is_official
from observatoire.territories.references import peer_scope, qpv_scope, reference_parents
from observatoire.text import french_key
from observatoire.web.comparison import by_indicator, compared_rows
from observatoire.web.frames import plain, records

__all__ = [
    "catalogue",
    "compare_view",
    "home",
    "indicator_meta",
    "indicator_view",
    "records",
    "site",
    "summary",
    "territory_list",
    "territory_view",
]

USABLE = ("ok", "partial")
# The figures a social observatory puts first (home page), when they have values; other
# themes' first rates fill up to :data:`KEY_COUNT`.
KEY_INDICATORS = (
    "population",
    "taux_pauvrete",
    "niveau_vie_median",
    "part_allocataires_rsa",
    "taux_chomage_15_64",
    "part_familles_monoparentales",
    "part_locataires_hlm",
    "part_65_ans_plus",
    "part_sans_diplome",
    "part_allocataires_aah",
)
KEY_COUNT = 8
# References shown next to a territory's figures, finest first.
LEVEL_LABELS = {
    "iris": "IRIS",
    "commune": "Communes",
    "arm": "Arrondissements municipaux",
    "epci": "EPCI",
    "departement": "Départements",
    "region": "Régions",
    "pays": "France",
}
# "39 communes", "614 IRIS": how a count of territories of a level reads.
COUNTED = {
    "iris": "IRIS",
    "commune": "communes",
    "arm": "arrondissements municipaux",
    "epci": "EPCI",
    "departement": "départements",
    "region": "régions",
    "pays": "pays",
}
REFERENCE_LABELS = {
    "epci": "son EPCI",
    "departement": "son département",
    "region": "sa région",
    "pays": "la France",
    "strate": "sa strate de taille",
}


def site(obs: Observatory) -> dict[str, Any]:
    """The observatory: name, its territory, the demo notice when it is one."""
    meta = obs.meta()
    territory = None
    setting = obs.home.settings.get("territory", "")
    if setting:
        level, code = obs.geography.resolve(setting)
        card = obs.geography.card(level, code)
        territory = {k: card[k] for k in ("level", "code", "name")}
    return {
        "name": obs.home.settings["name"],
        "territory": territory,
        "demo": meta.get("demo"),
        "referential": {
            "cog": meta.get("referential_cog"),
            "source": meta.get("referential_source"),
            "population_year": meta.get("population_year"),
        },
    }


def indicator_meta(indicator: Indicator) -> dict[str, Any]:
    """An indicator's metadata, as the catalogue declares it."""
    formula = indicator.formula
    return {
        **summary(indicator),
        "method": indicator.method,
        "aggregation": indicator.aggregation.value,
        "polarity": indicator.polarity.value,
        "sources": list(indicator.sources),
        "keywords": list(indicator.keywords),
        "ci": indicator.ci,
        "variables": sorted(set(formula.variables)),
        "secret": indicator.secret is not None,
    }


def catalogue(
    obs: Observatory,
    *,
    reader: ReadPolicy,
    query: str = "",
    theme: str = "",
    available: bool = False,
) -> dict[str, Any]:
    """Indicators matching ``query`` (accent-insensitive) and ``theme``, with the levels at
    which ``reader`` can read their values."""
    cat = obs.catalogue()
    if theme and theme not in THEMES:
        raise InputError(f"thème inconnu : {theme} (possibles : {', '.join(THEMES)})")
    found = cat.search(query) if query.strip() else list(cat.indicators.values())
    if theme:
        found = [i for i in found if i.theme == theme]
    levels = obs.available(reader=reader)
    if available:
        found = [i for i in found if i.id in levels]
    items = [{**summary(i), "levels": levels.get(i.id, [])} for i in found]
    return {
        "query": query,
        "theme": theme,
        "available": available,
        "themes": _themes(cat),
        "count": len(items),
        "with_values": sum(1 for i in items if i["levels"]),
        "indicators": items,
    }


def _themes(cat: Catalogue) -> list[dict[str, Any]]:
    """The catalogue's themes with their number of indicators."""
    counts = themes_in(list(cat.indicators.values()))
    return [{"id": t, "label": THEMES[t], "count": n} for t, n in counts.items()]


def summary(indicator: Indicator) -> dict[str, Any]:
    return {
        "id": indicator.id,
        "label": indicator.label,
        "theme": indicator.theme,
        "theme_label": indicator.theme_label,
        "unit": indicator.unit,
        "definition": indicator.definition,
    }


def territory_view(
    obs: Observatory, level: str, code: str, *, reader: ReadPolicy
) -> dict[str, Any]:
    """A territory: its card, its latest figures by theme next to its references' (same
    period), and its sub-territories by level."""
    card = obs.geography.card(level, code)
    known = obs.geography.zonings()
    zonings = dict(zip(known.name, known.label, strict=True))
    references = reference_parents(card)
    in_qpv = {i for i, levels in obs.available(reader=reader).items() if "qpv" in levels}
    profile = obs.profile(f"{level}:{code}", reader=reader)
    columns = [
        (ref, by_indicator(obs, ref, reader), by_indicator(obs, ref["stand_in"], reader))
        for ref in references
    ]
    catalogue = obs.catalogue()
    themes: dict[str, list[dict[str, Any]]] = {}
    missing: dict[str, int] = {}
    for row in compared_rows(profile, columns):
        indicator = catalogue.get(row["indicator"])
        compared = row["references"]
        known = row["status"] in USABLE or any(c["status"] in USABLE for c in compared)
        if not known:  # nothing to read on this line: counted, not shown
            missing[indicator.theme] = missing.get(indicator.theme, 0) + 1
            continue
        themes.setdefault(indicator.theme, []).append(
            {
                **row,
                "label": indicator.label,
                "unit": indicator.unit,
                "theme": indicator.theme,
                "funnel": has_funnel(indicator),
                "qpv": has_funnel(indicator) and indicator.id in in_qpv,
            }
        )
    ordered = [
        {"id": t, "label": THEMES[t], "indicators": themes[t], "without_value": missing.get(t, 0)}
        for t in THEMES
        if t in themes
    ]
    return {
        "territory": card,
        "references": references,
        "stand_in": any(
            r["name"] for rows in themes.values() for i in rows for r in i["references"]
        ),
        "themes": ordered,
        "peers": ":".join(peer_scope(level, card) or ()) or None,
        "qpv_scope": ":".join(qpv_scope(level, card) or ()) or None,
        "children": [
            {
                "level": lv,
                "label": COUNTED.get(lv) or f"zones de « {zonings.get(lv, lv)} »",
                "count": n,
            }
            for lv, n in card["children"].items()
        ],
    }


def home(obs: Observatory, *, reader: ReadPolicy) -> dict[str, Any]:
    """The home page: the observatory's territory and a few key figures per theme."""
    about = site(obs)
    cat = obs.catalogue()
    key: list[dict[str, Any]] = []
    if about["territory"] is not None:
        view = territory_view(
            obs, about["territory"]["level"], about["territory"]["code"], reader=reader
        )
        usable = {
            i["indicator"]: {**i, "theme_label": theme["label"]}
            for theme in view["themes"]
            for i in theme["indicators"]
            if i["status"] in USABLE
        }
        key = [usable[i] for i in KEY_INDICATORS if i in usable]
        for theme in view["themes"]:  # then one rate per theme not represented yet
            shown = {k["theme"] for k in key}
            rates = [
                usable[i["indicator"]]
                for i in theme["indicators"]
                if i["indicator"] in usable and i["unit"] == "%"
            ]
            if rates and theme["id"] not in shown:
                key.append(rates[0])
        key = key[:KEY_COUNT]
        about["references"] = view["references"]
    return {
        **about,
        "key_figures": key,
        "catalogue": {
            "count": len(cat.indicators),
            "with_values": len(obs.available(reader=reader)),
        },
        "themes": _themes(cat),
        "zonings": records(obs.geography.zonings()[["name", "label", "fictitious", "zones"]]),
    }


def indicator_view(
    obs: Observatory,
    ident: str,
    *,
    reader: ReadPolicy,
    level: str | None = None,
    within: str | None = None,
    period: str | None = None,
    reference: str = "departement",
    method: str = "quantiles",
    classes: int = 5,
    palette: str = "sequentielle",
    manual: tuple[float, ...] = (),
) -> dict[str, Any]:
    """An indicator at one level inside one territory: values with statuses, intervals and
    the comparison to ``reference``, the periods, the classes of the map (as every map of the
    platform: :func:`observatoire.outputs.thematic.classes_for`), the series of the territory
    ``within`` and its references."""
    indicator = obs.catalogue().get(ident)
    levels = obs.available(reader=reader).get(ident, [])
    about = site(obs)
    out: dict[str, Any] = {
        "indicator": indicator_meta(indicator),
        "levels": [{"id": lv, "label": LEVEL_LABELS.get(lv, lv)} for lv in levels],
        "methods": [{"id": m, "label": label} for m, label in METHODS.items()],
        "palettes": [{"id": p, "label": label} for p, label in PALETTES.items()],
        "references": [{"id": r, "label": REFERENCE_LABELS[r]} for r in REFERENCE_LABELS],
        "values": [],
    }
    if not levels:
        why = _why_no_values(obs, indicator) if reader == ANALYST else ""  # imports: internal
        out["message"] = why or (
            "Aucune valeur de cet indicateur n'est disponible pour vous : ses données ne sont "
            "pas importées, pas encore calculées, ou réservées à un autre public."
        )
        return out
    if level is None:
        level = "commune" if "commune" in levels else levels[0]
    if level not in levels:
        raise InputError(
            f"indicateur {ident} : pas de valeurs au niveau {level} "
            f"(niveaux disponibles : {', '.join(levels)})"
        )
    scope = _scope(obs, level, within, about)
    if reference not in REFERENCE_LABELS:
        raise InputError(
            f"référence inconnue : {reference} (possibles : {', '.join(REFERENCE_LABELS)})"
        )
    frame = obs.compare(ident, level=level, reference=reference, within=scope, reader=reader)
    if not frame.status.isin(USABLE).any() and reader == ANALYST:
        out["reason"] = _why_no_values(obs, indicator)  # rows, but not one value: why
    periods = sorted(str(p) for p in frame.period.dropna().unique())
    if period is None and periods:  # the latest period where most values have a reference
        compared = frame[frame.gap.notna()].period.astype(str).value_counts()
        most = int(compared.max()) if len(compared) else 0
        period = max(p for p in periods if int(compared.get(p, 0)) >= most / 2)
    if period is not None and period not in periods:
        raise InputError(f"période inconnue : {period} (disponibles : {', '.join(periods)})")
    shown = frame[(frame.period == period) | frame.period.isna()]
    series = _series(obs, ident, scope, reader)
    where = scope if scope is not None else ("pays", "FR")
    centre = next(
        (
            point["value"]
            for line in series
            if (line["level"], line["code"]) == where
            for point in line["points"]
            if point["period"] == period
        ),
        None,
    )
    mapped = classes_for(
        shown.value.to_numpy(dtype=float),
        [str(s) for s in shown.status],
        method=method,
        k=classes,
        polarity=indicator.polarity.value,
        palette=palette,
        reference=centre if palette == "divergente" or method == "stddev" else None,
        reference_label="France" if scope is None else _named(obs, *scope)["name"],
        manual=manual or None,
        unit=indicator.unit,
    )
    shown = _local_ranks(shown)
    rows = records(shown.drop(columns=["trend_slope", "trend_p"], errors="ignore"))
    for row, found in zip(rows, mapped.classes, strict=True):
        row["class"] = found
    origins = obs.provenance(ident, level, shown[["code", "period", "status"]])
    for row, how, names, sources in zip(rows, origins.methode, origins.variables,
                                        origins.sources, strict=True):  # fmt: skip
        row.update(methode=how, variables=names, sources=sources)
    available = obs.views.availability(ident, reader=reader)
    out.update(
        level=level,
        level_label=LEVEL_LABELS.get(level, level),
        zoning=obs.zoning_shown(level),  # which version of a zoning the page shows
        within=None if scope is None else _named(obs, *scope),
        period=period,
        periods=periods,
        reference=reference,
        method=method,
        palette=palette,
        manual=list(manual),
        breaks=mapped.bounds,
        colours=mapped.colours,
        legend=mapped.legend(),
        centre=mapped.reference,
        values=rows,
        extremes=_extremes(rows),
        series=series,
        provenance=_provenance_summary(origins),
        funnel=has_funnel(indicator),
        availability=records(available),
        qpv=has_funnel(indicator) and bool((available.level == "qpv").any()),
    )
    return out


def _why_no_values(obs: Observatory, indicator: Indicator) -> str:
    """Why a rate has no value when its parts are imported: their periods differ (births of
    2019 and 2020 over the census populations of 2013 and 2018); "" otherwise."""
    formula = indicator.formula
    if not formula.numerator:
        return ""
    known = obs.variables()
    periods = dict(zip(known.id, known.periods.fillna("").astype(str), strict=True))

    def of(names: tuple[str, ...]) -> set[str]:
        return {p for n in names for p in periods.get(n, "").split() if p}

    top, bottom = of(formula.numerator), of(formula.denominator)
    if not top or not bottom or top & bottom:
        return ""
    return (
        f"Pas de valeur : le numérateur ({', '.join(formula.numerator)}) est connu en "
        f"{', '.join(sorted(top))}, le dénominateur ({', '.join(formula.denominator)}) en "
        f"{', '.join(sorted(bottom))} ; ce rapport se calcule sur des millésimes identiques, "
        "aucun n'est commun. Importez le dénominateur de la même année (ou le numérateur d'une "
        "année du dénominateur)."
    )


def _local_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """The rank (1 = highest) and percentile of each usable value among the territories
    shown (those of the département, of the zoning's zone, of the territory asked), beside
    the national ``rank``."""
    frame = frame.copy()
    usable = frame.status.isin(USABLE) & frame.value.notna()
    values = frame.value.where(usable)
    frame["rank_local"] = values.rank(ascending=False, method="min")
    frame["percentile_local"] = (values.rank(pct=True, method="max") * 100).round(1)
    frame["count_local"] = int(usable.sum())
    return frame


def _extremes(rows: list[dict[str, Any]], count: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The ``count`` highest and lowest usable values shown (« les 10 premiers »), when
    there are more than twice as many territories."""
    ranked = sorted(
        (r for r in rows if r.get("status") in USABLE and r.get("value") is not None),
        key=lambda r: -float(r["value"]),
    )
    if len(ranked) <= 2 * count:
        return {"top": [], "bottom": []}
    return {"top": ranked[:count], "bottom": ranked[-count:][::-1]}


def _provenance_summary(origins: pd.DataFrame) -> list[dict[str, Any]]:
    """How the values shown were made, by kind (published, sum over the members…), variables
    and imports, with the number of territories of each."""
    made = origins[origins.methode.notna()]
    kind = made.methode.str.replace(r"sur \d+ ", "sur leurs ", regex=True).str.replace(
        r"\(dont \d+ ", "(dont certaines ", regex=True)  # fmt: skip
    groups = made.assign(kind=kind).groupby(["kind", "variables", "sources"], dropna=False)
    summary = [
        {"methode": k, "variables": v, "sources": s, "territories": len(g)}
        for (k, v, s), g in groups
    ]
    return sorted(summary, key=lambda item: -item["territories"])


def _scope(
    obs: Observatory, level: str, within: str | None, about: dict[str, Any]
) -> tuple[str, str] | None:
    """The territory the values are shown inside: asked, else the observatory's when the
    level is finer than it (the communes of the département), else none (all of France)."""
    if within:
        return obs.geography.resolve(within, below=level)
    territory = about["territory"]
    if territory is None:
        return None
    finer = not is_official(level) or (
        is_official(territory["level"]) and LEVELS[level].rank < LEVELS[territory["level"]].rank
    )
    if not finer:
        return None
    if not is_official(level):  # a zoning: its zones inside the observatory's territory
        return territory["level"], territory["code"]
    return territory["level"], territory["code"]


def _named(obs: Observatory, level: str, code: str) -> dict[str, Any]:
    card = obs.geography.card(level, code)
    return {"level": level, "code": code, "name": card["name"], "where": card["in"]}


def _series(
    obs: Observatory, ident: str, scope: tuple[str, str] | None, reader: ReadPolicy
) -> list[dict[str, Any]]:
    """Every period of the indicator for the territory ``scope`` (France when none) and its
    references: one line each."""
    level, code = scope if scope is not None else ("pays", "FR")
    card = obs.geography.card(level, code)
    lines = [(level, code, card["name"])]
    for parent in reference_parents(card):  # France, else France métropolitaine
        lines.append((parent["level"], parent["code"], parent["name"]))
        stand_in = parent["stand_in"]
        if stand_in is not None:
            lines.append((stand_in["level"], stand_in["code"], stand_in["name"]))
    out: list[dict[str, Any]] = []
    for lv, cd, name in lines:
        if lv == "pays" and any(line["level"] == "pays" for line in out):
            continue  # France métropolitaine only where France has no value
        try:
            frame = obs.indicator(ident, level=lv, reader=reader)
        except (AccessError, ReferentialError, InputError):
            continue
        rows = frame[(frame.code == cd) & frame.status.isin(USABLE)].sort_values("period")
        if rows.empty:
            continue
        points = [
            {"period": str(p), "value": float(v)}
            for p, v in zip(rows.period, rows.value, strict=True)
        ]
        out.append({"level": lv, "code": cd, "name": name, "points": points})
    return out


def territory_list(obs: Observatory, *, level: str, within: str | None = None) -> dict[str, Any]:
    """The territories of ``level`` (inside ``within``), named, with their population."""
    scope = obs.geography.resolve(within, below=level) if within else None
    frame = obs.geography.territories(level=level, within=scope)
    frame = frame.sort_values("name", key=lambda names: names.map(french_key), kind="stable")
    return {
        "level": level,
        "label": LEVEL_LABELS.get(level, level),
        "within": None if scope is None else _named(obs, *scope),
        "levels": [{"id": lv, "label": LEVEL_LABELS.get(lv, lv)} for lv in obs.geography.levels()],
        "territories": records(frame[["code", "name", "population"]]),
    }


def compare_view(
    obs: Observatory, territories: list[str], indicators: list[str], *, reader: ReadPolicy
) -> dict[str, Any]:
    """Several territories × several indicators side by side: for each indicator the latest
    period known for every territory (else each territory's latest, said per cell)."""
    catalogue = obs.catalogue()
    available = obs.available(reader=reader)
    chosen_territories = []
    for text in territories:
        level, code = obs.geography.resolve(text)
        chosen_territories.append(_named(obs, level, code))
    for ident in indicators:
        catalogue.get(ident)  # unknown: a clear error with suggestions
    profiles = [obs.profile(f"{t['level']}:{t['code']}", reader=reader) for t in chosen_territories]
    rows = []
    for ident in indicators:
        indicator = catalogue.get(ident)
        known = [
            p[(p.indicator == ident) & p.status.isin(USABLE)].set_index("period") for p in profiles
        ]
        common = set.intersection(*(set(k.index) for k in known)) if known else set()
        period = max(common) if common else None
        cells: list[dict[str, Any]] = []
        for frame, profile in zip(known, profiles, strict=True):
            at = period if period is not None else (max(frame.index) if len(frame) else None)
            if at is None:
                mine = profile[profile.indicator == ident]
                status = str(mine.status.iloc[-1]) if len(mine) else "missing"
                cells.append({"period": None, "value": None, "status": status})
                continue
            row = frame.loc[at]
            cells.append(
                {
                    "period": str(at),
                    "value": plain(row.value),
                    "status": str(row.status),
                    "ci_low": plain(row.ci_low),
                    "ci_high": plain(row.ci_high),
                }
            )
        rows.append({**summary(indicator), "period": period, "cells": cells})
    return {
        "territories": chosen_territories,
        "indicators": rows,
        "choices": [
            {**summary(catalogue.get(i)), "levels": lv}
            for i, lv in sorted(available.items(), key=lambda kv: catalogue.get(kv[0]).label)
        ],
        "chosen": indicators,
        "query": ", ".join(territories),
    }
