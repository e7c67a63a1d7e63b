"""The yearly data-quality review, written for the observatory's steering committee: one HTML
file, an A4 PDF (WeasyPrint, from the same HTML) or an XLSX workbook (one sheet per domain),
from :meth:`observatoire.services.quality.QualityReview.yearly`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.errors import UnknownNameError
from observatoire.outputs.exports import export_sheets
from observatoire.outputs.portrait_render import html_to_pdf, template_environment
from observatoire.text import french_number

__all__ = ["FORMATS", "render_review"]

FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The columns of a flag in the report, and their headings.
COLUMNS = {"severity": "Gravité", "state_label": "État", "check": "Contrôle",
           "subject_label": "Sujet", "territory": "Territoire", "level": "Niveau",
           "code": "Code", "period": "Période", "message": "Constat",
           "comment": "Commentaire", "set_by": "Par"}  # fmt: skip


# short sheet names (a sheet's name is cut at 31 characters)
SHEETS = {"transmission": "Transmissions", "temps": "Cohérence dans le temps",
          "relations": "Cohérence entre sources", "denominateurs": "Dénominateurs"}
RATE_COLUMNS = {"operator": "Opérateur", "name": "Nom", "expected": "Attendues",
                "received": "Reçues", "on_time": "À temps", "late": "En retard",
                "missing": "Manquantes", "delay": "Retard maximal (jours)",
                "completeness": "Part reçue (%)", "timeliness": "Part reçue à temps (%)"}
REVIEW_COLUMNS = {"id": "Revue", "at": "Date", "actor": "Par", "scope": "Périmètre",
                  "raised": "Relevés", "new": "Nouveaux", "resolved": "Résolus",
                  "seconds": "Durée (s)"}  # fmt: skip


def _flag_rows(flags: pd.DataFrame) -> list[dict[str, Any]]:
    if flags.empty:
        return []
    shown = flags.reindex(columns=[*COLUMNS, "id", "domain"]).astype(object)
    return list(shown.where(shown.notna(), None).to_dict("records"))


def render_review(report: dict[str, Any], fmt: str, *, home: Path | None = None) -> bytes:
    """The yearly review ``report`` in ``fmt`` (html, pdf, xlsx)."""
    if fmt not in FORMATS:
        raise UnknownNameError("format du rapport", fmt, list(FORMATS))
    flags: pd.DataFrame = report["flags"]
    if fmt == "xlsx":
        return _xlsx(report, flags)
    by_domain = {d: _flag_rows(flags[flags.domain == d] if len(flags) else flags)
                 for d in report["domains"]}  # fmt: skip
    reporting = [{**r, "rates": r["rates"].to_dict("records")} for r in report["reporting"]]
    env = template_environment(home)
    html = env.get_template("qualite_rapport.html").render(
        r=report, by_domain=by_domain, reporting=reporting,
        reviews=report["reviews"].to_dict("records"), num=french_number,
    )  # fmt: skip
    if fmt == "html":
        return html.encode("utf-8")
    return html_to_pdf(html)


def _xlsx(report: dict[str, Any], flags: pd.DataFrame) -> bytes:
    sheets: dict[str, pd.DataFrame] = {
        "Synthèse": pd.DataFrame(report["summary"]).drop(columns=["domain"]).rename(
            columns={"label": "Domaine", "flags": "Points", **report["states"]}),
    }  # fmt: skip
    for domain in report["domains"]:
        mine = flags[flags.domain == domain] if len(flags) else flags
        table = mine.reindex(columns=list(COLUMNS)).rename(columns=COLUMNS)
        table["Valeurs"] = [json.dumps(d, ensure_ascii=False) for d in mine.get("detail", [])]
        sheets[SHEETS[domain]] = table
    for item in report["reporting"]:
        sheets[f"Opérateurs {item['collection']}"[:31]] = item["rates"].rename(
            columns=RATE_COLUMNS)
    sheets["Revues"] = report["reviews"].rename(columns=REVIEW_COLUMNS)
    metadata = [("Rapport", f"Revue annuelle de la qualité des données {report['year']}"),
                ("Observatoire", report["observatory"]), ("Produit le", report["built"]),
                ("Méthode", "docs/qualite.md : les quatre domaines de la revue de qualité des "
                 "données de l'OMS")]  # fmt: skip
    return export_sheets(sheets, metadata)
