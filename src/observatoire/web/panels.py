"""What the « cartes côte à côte » page shows (:mod:`observatoire.outputs.panels`): the choices
asked, resolved once; two to four maps of indicators or years, the change of an indicator
between two periods, or a bivariate map; the same as one figure (SVG, PNG)."""

from __future__ import annotations

from typing import Any

from observatoire.errors import InputError, UnknownNameError
from observatoire.observatory import Observatory
from observatoire.outputs.panels import MAX_PANELS, figure_of, panels_for
from observatoire.secret.policy import ReadPolicy
from observatoire.web.asked import asked_place, spelled
from observatoire.web.content import LEVEL_LABELS
from observatoire.web.funnels import default_within

__all__ = ["MODES", "PanelsAsked", "asked_panels", "panels_figure", "panels_view"]

MODES = {"cote": "côte à côte", "bivariee": "carte bivariée", "evolution": "carte d'évolution"}
# level, within, mode, maps (indicator, period or None), start, end
PanelsAsked = tuple[str, tuple[str, str] | None, str, tuple[tuple[str, str | None], ...],
                    str | None, str | None]  # fmt: skip


def asked_panels(obs: Observatory, level: str, within: str | None, mode: str,
                 maps: list[str], start: str | None, end: str | None) -> PanelsAsked:  # fmt: skip
    """What a request asks, resolved: ``maps`` are ``indicator`` or ``indicator@period``."""
    if mode not in MODES:
        raise UnknownNameError("mode", mode[:20], list(MODES))
    lvl, scope = asked_place(obs, level, within)
    chosen = []
    for text in [m.strip() for m in maps if m.strip()][:MAX_PANELS]:
        ident, _, period = text.partition("@")
        obs.catalogue().get(ident)
        chosen.append((ident, period.strip()[:12] or None))
    wanted = {"cote": 1, "bivariee": 2, "evolution": 1}[mode]
    if len(chosen) < wanted:
        raise InputError(f"{MODES[mode]} : {wanted} indicateur(s) au moins")
    if mode == "evolution" and not (start and end):
        raise InputError("carte d'évolution : choisissez les périodes de début et de fin")
    if mode != "evolution":  # no part of the question: never a key of its own
        start = end = None
    return (lvl, scope or default_within(obs, lvl), mode, tuple(chosen),
            (start or "").strip()[:12] or None, (end or "").strip()[:12] or None)  # fmt: skip


def panels_view(obs: Observatory, *, reader: ReadPolicy, question: PanelsAsked) -> dict[str, Any]:
    """The page's data: the choices, and each map's title, legend, fills and tooltips."""
    level, within, mode, maps, start, end = question
    panels = panels_for(obs, level, within, mode, maps, start, end, reader=reader)
    geometries = f"/api/v1/geometries/{level}"
    if within is not None:
        geometries += f"?within={spelled(within)}"
    return {
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "within": spelled(within),
        "mode": mode,
        "modes": [{"id": k, "label": v} for k, v in MODES.items()],
        "maps": [f"{i}@{p}" if p else i for i, p in maps],
        "start": start or "",
        "end": end or "",
        "geometries": geometries,
        "panels": [
            {**p.data(), "legend": p.legend, "square": p.square, "axes": list(p.axes)}
            for p in panels
        ],
    }


def panels_figure(obs: Observatory, *, reader: ReadPolicy, question: PanelsAsked) -> str:
    """The maps as one SVG figure for a report."""
    level, within, mode, maps, start, end = question
    return figure_of(obs, panels_for(obs, level, within, mode, maps, start, end, reader=reader),
                     level, within)  # fmt: skip
