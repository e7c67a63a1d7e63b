"""What the pages and the API show of a social gradient (:mod:`observatoire.engine.gradient`):
the choices asked, resolved once; the groups, the indices and their sentence; the drawing."""

from __future__ import annotations

from typing import Any

from observatoire.engine.gradient import SocialGradient
from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.gradient_chart import gradient_svg
from observatoire.secret.policy import ReadPolicy
from observatoire.text import french_number
from observatoire.web.asked import asked_period, asked_place, spelled
from observatoire.web.content import LEVEL_LABELS, indicator_meta
from observatoire.web.frames import records
from observatoire.web.funnels import default_within

__all__ = ["GradientAsked", "asked_gradient", "gradient_data", "gradient_view",
           "refused_gradient"]  # fmt: skip

# level, within, ranking indicator, number of groups, period
GradientAsked = tuple[str, tuple[str, str] | None, str | None, int, str | None]


def asked_gradient(obs: Observatory, level: str, within: str | None, by: str | None,
                   groups: int, period: str | None) -> GradientAsked:  # fmt: skip
    """What a request asks, resolved: two spellings of one question are one answer."""
    lvl, scope = asked_place(obs, level, within)
    ranking = (by or "").strip() or None
    if ranking is not None:
        obs.catalogue().get(ranking)
    if not 2 <= groups <= 20:
        raise InputError(f"{groups} groupes : entre 2 et 20 (10 : déciles)")
    when = asked_period(period)
    return lvl, scope or default_within(obs, lvl), ranking, groups, when


def gradient_data(found: SocialGradient) -> dict[str, Any]:
    """A social gradient as plain data (the page's JSON twin and the API's answer)."""
    return {
        "indicator": found.indicator.id,
        "ranking": found.ranking.id,
        "ranking_label": found.ranking.label,
        "level": found.level,
        "within": spelled(found.within) or None,
        "period": found.period,
        "ranking_period": found.ranking_period,
        "method": found.method,
        "intercept": found.fit.intercept,
        "sii": found.fit.sii,
        "sii_low": found.sii_interval[0],
        "sii_high": found.sii_interval[1],
        "rii": found.fit.rii,
        "rii_low": found.rii_interval[0],
        "rii_high": found.rii_interval[1],
        "notes": list(found.notes),
        "groups": records(found.groups),
        "members": records(found.members),
    }


def gradient_view(obs: Observatory, ident: str, *, reader: ReadPolicy,
                  question: GradientAsked) -> dict[str, Any]:  # fmt: skip
    """The gradient page's data: the choices, the gradient, its sentence and drawing (a
    refusal is raised, never kept: :func:`refused_gradient`)."""
    level, within, by, groups, period = question
    found = obs.views.gradient(ident, level=level, within=within, by=by, groups=groups,
                               period=period, reader=reader)  # fmt: skip
    unit = found.indicator.unit
    data = gradient_data(found)
    data["sentence"] = _sentence(found)
    axis = f"{found.ranking.label} ({found.ranking_period})"
    data["drawing"] = gradient_svg(found.groups, intercept=found.fit.intercept, sii=found.fit.sii,
                                   title=f"{found.indicator.label} ({found.period})", unit=unit,
                                   ranking=axis)  # fmt: skip
    return {**_choices(obs, ident, question), "gradient": data}


def refused_gradient(obs: Observatory, ident: str, question: GradientAsked,
                     error: Exception) -> dict[str, Any]:  # fmt: skip
    """The gradient page when there is none: the choices, and why."""
    return {**_choices(obs, ident, question), "reason": str(error)}


def _choices(obs: Observatory, ident: str, question: GradientAsked) -> dict[str, Any]:
    level, within, by, groups, period = question
    return {
        "indicator": indicator_meta(obs.catalogue().get(ident)),
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "within": spelled(within),
        "by": by or "",
        "groups": groups,
        "period": period or "",
    }


def _sentence(found: SocialGradient) -> str:
    unit = "points" if found.indicator.unit == "%" else found.indicator.unit
    low, high = (french_number(v, 1) for v in found.sii_interval)
    first = found.groups.iloc[0]
    last = found.groups.iloc[-1]
    return (
        f"Du groupe le moins favorisé au plus favorisé selon « {found.ranking.label} », "
        f"{found.indicator.label.lower()} passe de {french_number(float(first.value), 1)} à "
        f"{french_number(float(last.value), 1)} {found.indicator.unit}. Indice de pente de "
        f"l'inégalité : {french_number(found.fit.sii, 1)} {unit} (intervalle à 95 % : {low} à "
        f"{high}) ; indice relatif : {french_number(found.fit.rii, 2)} (la valeur ajustée au "
        "sommet de l'échelle sur celle du bas)."
    )
