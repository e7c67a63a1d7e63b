"""A :class:`~observatoire.outputs.portrait.Portrait` written as HTML (one self-contained
file), PDF (WeasyPrint, from the same HTML) or XLSX (every figure, the series, the sentences
and a metadata sheet). An observatory overrides the template by putting its own
``portrait.html`` (and ``portrait.css``) in ``modeles/`` of its home."""

from __future__ import annotations

import base64
import functools
import io
import mimetypes
import threading
from pathlib import Path
from typing import Any

import jinja2

from observatoire.errors import InputError
from observatoire.outputs.portrait import Portrait
from observatoire.text import french_number, with_unit

__all__ = ["FORMATS", "html_to_pdf", "render_html", "render_pdf", "render_portrait", "render_xlsx"]

FORMATS = {"html": ".html", "pdf": ".pdf", "xlsx": ".xlsx"}
MARKERS = {
    "▲": "au-dessus de la référence",
    "▼": "au-dessous de la référence",
    "▲*": "significativement au-dessus de la référence",
    "▼*": "significativement au-dessous de la référence",
    "≈": "proche de la référence (ou écart non significatif)",
}


def template_environment(home: Path | None) -> jinja2.Environment:
    """The Jinja environment of the printed documents: the home's own templates
    (``modeles/``) first, then the shipped ones."""
    loaders: list[jinja2.BaseLoader] = []
    if home is not None and (home / "modeles").is_dir():
        loaders.append(jinja2.FileSystemLoader(home / "modeles"))
    loaders.append(jinja2.PackageLoader("observatoire.outputs", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=jinja2.select_autoescape(["html"])
    )


def render_html(portrait: Portrait, *, home: Path | None = None) -> str:
    """The portrait as one HTML file (styles, charts, maps and logo inside)."""
    env = template_environment(home)
    assert env.loader is not None
    css, _, _ = env.loader.get_source(env, "portrait.css")
    footer = f"{portrait.observatory} — {portrait.config.title} : {portrait.territory['name']}"
    css = (
        css.replace("PRIMARY", portrait.config.primary)
        .replace("ACCENT", portrait.config.accent)
        .replace("FOOTER", '"' + footer.replace("\\", "").replace('"', "'") + '"')
    )
    return env.get_template("portrait.html").render(
        p=portrait,
        css=css,
        logo=_data_uri(portrait.config.logo),
        fmt=_cell,
        num=french_number,
        marker_text=lambda m: MARKERS.get(m, ""),
    )


def render_pdf(portrait: Portrait, *, home: Path | None = None) -> bytes:
    """The portrait as an A4 PDF (WeasyPrint, offline: no remote resource is fetched)."""
    return html_to_pdf(render_html(portrait, home=home))


def html_to_pdf(html: str) -> bytes:
    """A self-contained HTML page laid out as PDF (no remote resource is ever fetched)."""
    from weasyprint import HTML

    def refuse(url: str) -> dict[str, object]:
        raise ValueError(f"ressource externe refusée : {url}")

    document = HTML(string=html, url_fetcher=refuse)
    with _LAYOUT:  # the font configuration is shared: one layout at a time per process
        return bytes(document.write_pdf(font_config=_fonts()))


_LAYOUT = threading.Lock()


@functools.cache
def _fonts() -> Any:
    """One font configuration per process: building it costs a third of a portrait."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_xlsx(portrait: Portrait) -> bytes:
    """Every figure of the portrait, its series, its sentences and its metadata."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)
    sheet = book.active
    assert sheet is not None
    sheet.title = "Chiffres clés"
    references = [r["name"] for r in portrait.references]
    header = [
        "Thème",
        "Indicateur",
        "Identifiant",
        "Unité",
        "Période",
        portrait.territory["name"],
        "IC 95 % bas",
        "IC 95 % haut",
        *references,
        *[f"Écart vs {r}" for r in references],
        "Phrase",
        "Évolution",
        "Projection",
    ]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = bold
    for section, figure in portrait.figures():
        values = [r["value"] for r in figure.references]
        markers = [r["marker"] for r in figure.references]
        sheet.append(
            [
                section.title,
                figure.label,
                figure.indicator,
                figure.unit,
                figure.period,
                figure.value,
                figure.ci_low,
                figure.ci_high,
                *values,
                *markers,
                figure.sentence,
                figure.trend,
                figure.projection,
            ]
        )
    series = book.create_sheet("Séries")
    series.append(["Indicateur", "Territoire", "Période", "Valeur"])
    for cell in series[1]:
        cell.font = bold
    for _, figure in portrait.figures():
        for line in figure.series:
            for point in line["points"]:
                series.append([figure.label, line["name"], point["period"], point["value"]])
    about = book.create_sheet("Métadonnées")
    rows = [
        ("Portrait", f"{portrait.config.title} — {portrait.territory['name']}"),
        ("Niveau", portrait.level_label),
        ("Code", portrait.territory["code"]),
        ("Producteur", portrait.observatory),
        ("Diffusion", portrait.audience),
        ("Données arrêtées le", portrait.freeze_date or ""),
        ("Édité le", portrait.generated),
    ]
    if portrait.note:
        rows.insert(0, ("Avertissement", portrait.note))
    rows += [
        (f"Source : {s['label']}", f"{s['sources']} ({s['periods']}) — {s['method']}")
        for s in portrait.sources
    ]
    for key, text in rows:
        about.append([key, text])
    for column, width in (("A", 30), ("B", 110)):
        about.column_dimensions[column].width = width
    for ws in (sheet, series, about):
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
    sheet.column_dimensions["B"].width = 50
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render_portrait(portrait: Portrait, fmt: str, *, home: Path | None = None) -> bytes:
    """The portrait in format ``fmt`` (html, pdf or xlsx)."""
    if fmt == "html":
        return render_html(portrait, home=home).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(portrait, home=home)
    if fmt == "xlsx":
        return render_xlsx(portrait)
    raise InputError(f"format de portrait inconnu « {fmt} » : html, pdf ou xlsx")


def _cell(value: float | None, unit: str) -> str:
    """A table cell: the number, with its unit only for %, ‰ and € (other units are in the
    indicator's label)."""
    if unit in ("%", "‰"):
        return with_unit(value, unit, 1)
    return with_unit(value, unit) if unit == "€" else french_number(value)


def _data_uri(path: str | None) -> str:
    if not path:
        return ""
    kind = mimetypes.guess_type(path)[0] or "image/png"
    return f"data:{kind};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
