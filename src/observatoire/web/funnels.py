"""What the pages and the API show of a funnel plot (:mod:`observatoire.engine.funnel`): the
choices asked, resolved once; the points, the territories outside the limits and those not
placed, with the reason; the drawing itself (SVG, PNG)."""

from __future__ import annotations

import re
from typing import Any

from observatoire.engine.funnel import POOLED, Funnel
from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.funnel_chart import funnel_svg
from observatoire.secret.policy import ReadPolicy
from observatoire.text import french_number
from observatoire.web.asked import asked_period, asked_place, spelled
from observatoire.web.content import LEVEL_LABELS, indicator_meta, site
from observatoire.web.frames import records

__all__ = ["FunnelAsked", "asked_funnel", "default_reference", "default_within", "funnel_data",
           "funnel_drawing", "funnel_view", "refused_funnel"]  # fmt: skip

_PERIOD = re.compile(r"[0-9]{4}(-T[1-4]|-(0[1-9]|1[0-2])|-[0-9]{4})?")
# level, within, period, reference (a territory, « ensemble » or None), highlighted code
FunnelAsked = tuple[str, tuple[str, str] | None, str | None, str | None, str | None]


def asked_funnel(obs: Observatory, level: str, within: str | None, period: str | None,
                 reference: str | None, highlight: str | None) -> FunnelAsked:  # fmt: skip
    """What a request asks, resolved: two spellings of one question are one answer."""
    lvl, scope = asked_place(obs, level, within)
    when = asked_period(period)
    if when is not None and not _PERIOD.fullmatch(when):
        raise InputError(f"période « {when[:20]} » : une année attendue (ex. 2018)")
    ref = (reference or "").strip() or None
    if ref is not None and ref != POOLED:
        ref = ":".join(obs.geography.resolve(ref))
    scope = scope or default_within(obs, lvl)
    if ref is None and scope is None:  # a zoning's zones: against the observatory's territory
        ref = default_reference(obs)
    code = (highlight or "").strip()[:20] or None
    return lvl, scope, when, ref, code


def funnel_data(found: Funnel) -> dict[str, Any]:
    """A funnel plot as plain data (the page's JSON twin and the API's answer)."""
    return {
        "period": found.period,
        "law": found.law,
        "target": found.target,
        "reference": found.reference,
        "notes": list(found.notes),
        "counts": {
            "placed": len(found.points),
            "outside_95": int((found.points.position != 0).sum()),
            "outside_99_8": int((found.points.position.abs() == 2).sum()),
            "left_out": len(found.left_out),
        },
        "outliers": records(found.outliers),
        "points": records(found.points),
        "limits": records(found.limits),
        "left_out": records(found.left_out),
    }


def funnel_view(obs: Observatory, ident: str, *, reader: ReadPolicy,
                question: FunnelAsked) -> dict[str, Any]:  # fmt: skip
    """The funnel page's data: the choices, the funnel and its sentence (a refusal is
    raised, never kept: :func:`refused_funnel`)."""
    out = _choices(obs, ident, question)
    level, within, period, reference, _ = question
    found = obs.views.funnel(ident, level=level, within=within, period=period, reference=reference,
                       reader=reader)  # fmt: skip
    data = funnel_data(found)
    data["sentence"] = _sentence(found)
    data["highlighted"] = _highlighted(found, question[4])
    out.update(funnel=data, within=spelled(found.within))
    return out


def funnel_drawing(obs: Observatory, ident: str, *, reader: ReadPolicy,
                   question: FunnelAsked) -> str:  # fmt: skip
    """The funnel plot as an SVG drawing (empty when no territory is placed)."""
    level, within, period, reference, highlight = question
    found = obs.views.funnel(ident, level=level, within=within, period=period, reference=reference,
                       reader=reader)  # fmt: skip
    return funnel_svg(found.points, found.limits, target=found.target,
                      title=f"{found.indicator.label} ({found.period})",
                      unit=found.indicator.unit, reference=found.reference["name"],
                      highlight=highlight)  # fmt: skip


def refused_funnel(obs: Observatory, ident: str, question: FunnelAsked,
                   error: Exception) -> dict[str, Any]:  # fmt: skip
    """The funnel page when there is none: the choices, and why."""
    return {**_choices(obs, ident, question), "reason": str(error)}


def default_within(obs: Observatory, level: str) -> tuple[str, str] | None:
    """Without a territory, the observatory's for a fine level (its communes, not France's)."""
    territory = site(obs)["territory"]
    if territory is not None and level in ("iris", "qpv", "arm", "commune"):
        return territory["level"], territory["code"]
    return None


def default_reference(obs: Observatory) -> str | None:
    """The observatory's territory (``level:code``), the reference of its zonings' zones."""
    territory = site(obs)["territory"]
    return None if territory is None else f"{territory['level']}:{territory['code']}"


def _choices(obs: Observatory, ident: str, question: FunnelAsked) -> dict[str, Any]:
    level, within, period, reference, highlight = question
    indicator = obs.catalogue().get(ident)
    return {
        "indicator": indicator_meta(indicator),
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "within": spelled(within),
        "period": period or "",
        "reference": reference or "",
        "highlight": highlight or "",
    }


def _highlighted(found: Funnel, code: str | None) -> dict[str, Any] | None:
    """The territory looked at: its point, or why it is not placed."""
    if code is None:
        return None
    point = found.points[found.points.code == code]
    if len(point):
        return {"placed": True, **records(point)[0]}
    left = found.left_out[found.left_out.code == code]
    if len(left):
        return {"placed": False, **records(left)[0]}
    return {"placed": False, "code": code, "name": code,
            "reason": "pas un territoire de ce niveau dans ce territoire"}  # fmt: skip


def _sentence(found: Funnel) -> str:
    points, unit = found.points, found.indicator.unit
    above = int((points.position > 0).sum())
    below = int((points.position < 0).sum())
    return (
        f"{french_number(len(points), 0)} territoires placés autour de la valeur de "
        f"{found.reference['name']} ({french_number(found.target, 1)} {unit}) en "
        f"{found.period} : {above} au-dessus et {below} en dessous des limites à 95 %, "
        f"dont {int((points.position.abs() == 2).sum())} au-delà de 99,8 %."
    )
