"""What the pages and the API show of the significance heatmap
(:mod:`observatoire.engine.heatmap`): the choices asked, resolved once; the grid with each
cell's colour and words; the table of cells."""

from __future__ import annotations

from typing import Any

from observatoire.catalog.indicators import THEMES
from observatoire.engine.heatmap import Heatmap
from observatoire.errors import UnknownNameError
from observatoire.observatory import Observatory
from observatoire.outputs.heatmap_export import heatmap_rows, legend
from observatoire.secret.policy import ReadPolicy
from observatoire.web.asked import asked_place, spelled
from observatoire.web.content import LEVEL_LABELS, site
from observatoire.web.funnels import default_reference, default_within

__all__ = ["HeatmapAsked", "asked_heatmap", "heatmap_data", "heatmap_title", "heatmap_view",
           "refused_heatmap"]  # fmt: skip

# level, within, theme, indicators, reference
HeatmapAsked = tuple[str, tuple[str, str] | None, str | None, tuple[str, ...], str | None]
DEFAULT_THEME = "social"


def asked_heatmap(obs: Observatory, level: str, within: str | None, theme: str | None,
                  indicators: list[str], reference: str | None) -> HeatmapAsked:  # fmt: skip
    """What a request asks, resolved: two spellings of one question are one answer."""
    lvl, scope = asked_place(obs, level, within)
    chosen = tuple(dict.fromkeys(i.strip() for i in indicators if i.strip()))
    for ident in chosen:
        obs.catalogue().get(ident)
    wanted = (theme or "").strip() or (None if chosen else DEFAULT_THEME)
    if wanted is not None and wanted not in THEMES:
        raise UnknownNameError("thème", wanted[:40], list(THEMES))
    ref = (reference or "").strip() or None
    if ref is not None:
        ref = ":".join(obs.geography.resolve(ref))
    scope = scope or default_within(obs, lvl)
    if ref is None and scope is None:  # a zoning's zones: against the observatory's territory
        ref = default_reference(obs)
    return lvl, scope, wanted, chosen, ref


def heatmap_data(found: Heatmap) -> dict[str, Any]:
    """A heatmap as plain data: columns, rows of cells (value, category, words, colours)."""
    counts = found.cells.category.value_counts()
    return {
        "level": found.level,
        "within": spelled(found.within) or None,
        "reference": found.reference,
        "indicators": found.indicators,
        "rows": heatmap_rows(found),
        "legend": legend(),
        "counts": {c["id"]: int(counts.get(c["id"], 0)) for c in legend()},
    }


def heatmap_title(obs: Observatory, question: HeatmapAsked) -> str:
    level, within, theme, _, _ = question
    what = THEMES[theme] if theme else "indicateurs choisis"
    where = ""
    if within is not None:
        where = f" de {obs.geography.card(*within)['name']}"
    return f"Écarts significatifs — {what} : {LEVEL_LABELS.get(level, level).lower()}{where}"


def heatmap_view(obs: Observatory, *, reader: ReadPolicy,
                 question: HeatmapAsked) -> dict[str, Any]:  # fmt: skip
    """The heatmap page's data: the choices and the grid (a refusal is raised, never kept:
    :func:`refused_heatmap`)."""
    level, within, theme, indicators, reference = question
    found = obs.views.heatmap(level=level, within=within, theme=theme,
                        indicators=list(indicators) or None, reference=reference,
                        reader=reader)  # fmt: skip
    return {**_choices(obs, question), "heatmap": heatmap_data(found)}


def refused_heatmap(obs: Observatory, question: HeatmapAsked, error: Exception) -> dict[str, Any]:
    """The heatmap page when there is none: the choices, and why."""
    return {**_choices(obs, question), "reason": str(error)}


def _choices(obs: Observatory, question: HeatmapAsked) -> dict[str, Any]:
    level, within, theme, indicators, reference = question
    return {
        "title": heatmap_title(obs, question),
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "levels": [{"id": lv, "label": LEVEL_LABELS.get(lv, lv)} for lv in obs.geography.levels()],
        "within": spelled(within),
        "theme": theme or "",
        "themes": [{"id": t, "label": label} for t, label in THEMES.items()],
        "indicators": list(indicators),
        "reference": reference or "",
        "notice": site(obs).get("demo") or "",
    }
