"""Restitution reports as documents: one self-contained HTML file or an A4 PDF, with their
charts, from the figures of :mod:`observatoire.engine.restitution`."""

from __future__ import annotations

from pathlib import Path

from observatoire.engine.restitution import Restitution, percent
from observatoire.outputs.charts import bar_chart, line_chart
from observatoire.outputs.portrait_render import html_to_pdf, template_environment
from observatoire.text import french_number

__all__ = ["FORMATS", "charts_of", "render_restitution"]

FORMATS = {"html": ".html", "pdf": ".pdf"}


def charts_of(report: Restitution) -> dict[str, str]:
    """The report's charts (SVG): completeness of each field, score by month."""
    bars = [
        {
            "label": f["label"],
            "value": f["completeness"],
            "reference": f["benchmark"],
            "alert": f["alert"],
        }
        for f in report.fields
    ]
    return {
        "fields": bar_chart(
            bars,
            title="Complétude de chaque champ (%)",
            reference_name="médiane des autres opérateurs" if report.benchmark else "",
            ident="fields",
        ),
        "evolution": line_chart(
            report.series, title="Score de complétude par mois", unit="%", ident="evolution"
        ),
    }


def render_restitution(report: Restitution, fmt: str, *, home: Path | None = None) -> bytes:
    """The report as one HTML file or as an A4 PDF."""
    if not report.charts:
        report.charts = charts_of(report)
    env = template_environment(home)
    html = env.get_template("restitution.html").render(r=report, pct=percent, num=french_number)
    if fmt == "html":
        return html.encode("utf-8")
    return html_to_pdf(html)
