"""What the pages and the API show of a projection: the projected values with their interval,
the assumption in words, and the error of every method measured on the base; the projection of
a territory's own line for the evolution chart of an indicator page."""

from __future__ import annotations

import re
from typing import Any

from observatoire.engine.projection import Projection, horizon_words
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.observatory import Observatory
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.projection import METHODS
from observatoire.text import french_number
from observatoire.web.asked import asked_place, spelled
from observatoire.web.content import LEVEL_LABELS, indicator_meta, site
from observatoire.web.frames import records

__all__ = [
    "Asked",
    "asked",
    "line_projection",
    "projection_data",
    "projection_view",
    "refused_view",
    "summary_sentence",
]

_PERIOD = re.compile(r"[0-9]{4}(-T[1-4]|-(0[1-9]|1[0-2]))?")
Asked = tuple[str, tuple[str, str] | None, str | None, str | None]


def asked(obs: Observatory, level: str, within: str | None, to: str | None,
          method: str | None) -> Asked:  # fmt: skip
    """What a request asks, resolved (the level's id, the territory, a period, a method),
    so that two spellings of one question are one answer, computed once."""
    lvl, scope = asked_place(obs, level, within)
    period = (to or "").strip() or None
    if period is not None and not _PERIOD.fullmatch(period):
        raise InputError(f"horizon « {period[:20]} » : une année attendue (ex. 2030)")
    chosen = (method or "").strip() or None
    if chosen is not None and chosen not in METHODS:
        raise InputError(f"méthode « {chosen[:20]} » inconnue ; possibles : {', '.join(METHODS)}")
    return lvl, scope, period, chosen


def projection_data(found: Projection) -> dict[str, Any]:
    """A projection as plain data (the API's and the page's JSON)."""
    return {
        "indicator": found.indicator,
        "level": found.level,
        "method": found.method,
        "method_label": METHODS[found.method],
        "default_method": found.default_method,
        "target": found.target,
        "history": list(found.history),
        "assumption": found.assumption,
        "confidence": found.confidence,
        "measured_at": found.measured_at,
        "notes": list(found.notes),
        "errors": records(found.errors),
        "values": records(found.values),
    }


def projection_view(obs: Observatory, ident: str, *, reader: ReadPolicy,
                    question: Asked) -> dict[str, Any]:  # fmt: skip
    """The projection page's data: the indicator, the choices, the projection (a refusal is
    raised, never kept: :func:`refused_view`). Without a territory, the observatory's for a
    level finer than it (its communes, not the 35,000 of France)."""
    out = _choices(obs, ident, question)
    level, _, to, method = question
    within = _where(out)
    found = obs.projection(ident, level=level, within=within, to=to, method=method,
                           reader=reader)  # fmt: skip
    data = projection_data(found)
    data["sentence"] = summary_sentence(found, obs.catalogue().get(ident).unit)
    out.update(projection=data)
    return out


def refused_view(obs: Observatory, ident: str, question: Asked, error: Exception) -> dict[str, Any]:
    """The projection page when there is none: the choices, and why."""
    return {**_choices(obs, ident, question), "reason": str(error)}


def _choices(obs: Observatory, ident: str, question: Asked) -> dict[str, Any]:
    level, within, to, method = question
    indicator = obs.catalogue().get(ident)
    territory = site(obs)["territory"]
    if within is None and territory is not None and level in ("iris", "qpv", "arm", "commune"):
        within = (territory["level"], territory["code"])
    return {
        "indicator": indicator_meta(indicator),
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "within": spelled(within),
        "to": to or "",
        "methods": [{"id": m, "label": label} for m, label in METHODS.items()],
        "chosen": method or "",
    }


def _where(choices: dict[str, Any]) -> tuple[str, str] | None:
    text = choices["within"]
    if not text:
        return None
    level, _, code = text.partition(":")
    return level, code


def summary_sentence(found: Projection, unit: str) -> str:
    """The projection's measured error in one sentence, for the page and the portraits."""
    error = found.error
    coverage = ""
    if error.coverage == error.coverage:  # not NaN: measured out of sample
        share = french_number(error.coverage * 100, 0)
        coverage = (f" ; à cet horizon, l'intervalle à {french_number(found.confidence * 100, 0)}"
                    f" % a contenu {share} % des valeurs observées")  # fmt: skip
    return (
        f"Projection {found.assumption} ({METHODS[found.method]}). Erreur mesurée en "
        f"projetant {found.history[-1]} à partir des périodes précédentes, pour "
        f"{french_number(int(error.territories), 0)} territoires (niveau {found.measured_at}) : "
        f"{french_number(error.mape, 1)} % en moyenne à {horizon_words(error.horizon)}"
        f"{coverage}."
    )


def line_projection(
    obs: Observatory, ident: str, level: str, code: str, reader: ReadPolicy
) -> dict[str, Any] | None:
    """The projection of territory ``code``'s own line for an evolution chart (each year to
    the horizon, value, low, high) and its sentence; None when it cannot be projected."""
    try:
        found = obs.projection(ident, level=level, reader=reader)
    except (InputError, AccessError, ReferentialError):
        return None
    points = found.points(code)
    if not points:
        return None
    unit = obs.catalogue().get(ident).unit
    return {"points": points, "sentence": summary_sentence(found, unit),
            "method": found.method, "assumption": found.assumption}  # fmt: skip
