"""What the pages and the API show of the QPV against the rest of their communes
(:mod:`observatoire.engine.qpv_gaps`): the choices asked, resolved once; the quartiers and the
ensembles of QPV with their rest; the sentence and the drawing."""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.engine.qpv_gaps import SCOPES, QpvGaps
from observatoire.observatory import Observatory
from observatoire.outputs.qpv_chart import qpv_svg
from observatoire.secret.policy import ReadPolicy
from observatoire.text import french_number
from observatoire.web.asked import asked_period, spelled
from observatoire.web.content import indicator_meta
from observatoire.web.frames import records
from observatoire.web.funnels import default_within

__all__ = ["QpvAsked", "asked_qpv", "qpv_data", "qpv_frame", "qpv_view", "refused_qpv"]

QpvAsked = tuple[tuple[str, str] | None, str | None]  # within, period


def asked_qpv(obs: Observatory, within: str | None, period: str | None) -> QpvAsked:
    """What a request asks, resolved: two spellings of one question are one answer. Without
    a territory, the observatory's when it is a département or a région."""
    text = (within or "").strip()
    scope = obs.geography.within(text, "qpv") if text else default_within(obs, "qpv")
    if not text and scope is not None and scope[0] not in SCOPES:
        scope = None
    return scope, asked_period(period)


def qpv_data(found: QpvGaps) -> dict[str, Any]:
    """The comparison as plain data (the page's JSON twin and the API's answer)."""
    return {
        "indicator": found.indicator.id,
        "within": spelled(found.within) or None,
        "period": found.period,
        "notes": list(found.notes),
        "quartiers": records(found.quartiers),
        "ensembles": records(found.ensembles),
    }


def qpv_frame(data: dict[str, Any]) -> pd.DataFrame:
    """One table of the quartiers then the ensembles (the CSV twin), ``kind`` telling them
    apart."""
    quartiers = pd.DataFrame(data["quartiers"]).assign(kind="qpv")
    ensembles = pd.DataFrame(data["ensembles"]).assign(kind="ensemble_qpv")
    frames = [f for f in (quartiers, ensembles) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["kind", "code", "name"])
    frame = pd.concat(frames, ignore_index=True)
    return frame[["kind", *[c for c in frame.columns if c != "kind"]]]


def qpv_view(obs: Observatory, ident: str, *, reader: ReadPolicy,
             question: QpvAsked) -> dict[str, Any]:  # fmt: skip
    """The page's data: the choices, the comparison, its sentence and drawing (a refusal is
    raised, never kept: :func:`refused_qpv`)."""
    within, period = question
    found = obs.views.qpv_gaps(ident, within=within, period=period, reader=reader)
    data = qpv_data(found)
    data["sentence"] = _sentence(found)
    rows = pd.concat([found.quartiers, found.ensembles.rename(
        columns={"departement_name": "communes"})], ignore_index=True)  # fmt: skip
    data["drawing"] = qpv_svg(rows, title=f"{found.indicator.label} ({found.period}) : QPV et "
                              "reste de leurs communes", unit=found.indicator.unit)  # fmt: skip
    return {**_choices(obs, ident, question), "qpv": data}


def refused_qpv(obs: Observatory, ident: str, question: QpvAsked,
                error: Exception) -> dict[str, Any]:  # fmt: skip
    """The page when there is no comparison: the choices, and why."""
    return {**_choices(obs, ident, question), "reason": str(error)}


def _choices(obs: Observatory, ident: str, question: QpvAsked) -> dict[str, Any]:
    within, period = question
    return {
        "indicator": indicator_meta(obs.catalogue().get(ident)),
        "within": spelled(within),
        "period": period or "",
    }


def _sentence(found: QpvGaps) -> str:
    rows = found.quartiers
    compared = rows[rows.rest_value.notna()]
    words = compared.assessment.fillna("non testable").value_counts()
    parts = [f"{w} : {int(n)}" for w, n in words.items()]
    out = (f"{len(compared)} quartier(s) sur {len(rows)} comparé(s) au reste de leurs communes"
           + (f" : {', '.join(parts)}." if parts else "."))  # fmt: skip
    if len(compared) < len(rows):
        out += (f" Pour {len(rows) - len(compared)} autre(s), le reste ne peut être compté "
                "(la raison est donnée pour chacun).")  # fmt: skip
    unit = found.indicator.unit
    for _, row in found.ensembles.iterrows():
        if pd.notna(row.rest_value) and pd.notna(row.value):
            out += (f" {row['name']} : {french_number(float(row.value), 1)} {unit}, contre "
                    f"{french_number(float(row.rest_value), 1)} {unit} dans le reste du "
                    f"département ({row.departement_name}) : "
                    f"{row.assessment or 'non testable'}.")  # fmt: skip
    return out
