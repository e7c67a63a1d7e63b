"""The significance heatmap (:mod:`observatoire.engine.heatmap`) as files: its cells as a table
(CSV), a coloured workbook (XLSX: the grid of values coloured as on screen, the cells one per
line, how to read it) and a printable A4 landscape page (HTML, PDF) for a zoning's portrait or
a meeting."""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.engine.heatmap import CATEGORIES, Heatmap
from observatoire.outputs.exports import export_sheets
from observatoire.outputs.portrait_render import html_to_pdf, template_environment
from observatoire.text import french_number

__all__ = [
    "CELL_COLUMNS",
    "COLOURS",
    "heatmap_cells",
    "heatmap_html",
    "heatmap_pdf",
    "heatmap_rows",
    "heatmap_xlsx",
    "legend",
]  # fmt: skip

# category → (background, text): colour-blind safe (blue better, orange worse)
COLOURS = {
    "better": ("#1a7bb9", "#ffffff"),
    "similar": ("#f3e7a6", "#222222"),
    "worse": ("#d95f02", "#ffffff"),
    "higher": ("#b8b1d9", "#222222"),
    "lower": ("#5e3c99", "#ffffff"),
    "untestable": ("#dcdcdc", "#222222"),
    "secret": ("#f1ecf4", "#555555"),
    "missing": ("#ffffff", "#777777"),
}
CELL_COLUMNS = {
    "code": "code", "name": "territoire", "indicator": "indicateur", "label": "libellé",
    "period": "période", "value": "valeur", "ci_low": "IC 95 % bas", "ci_high": "IC 95 % haut",
    "reference_value": "valeur de la référence", "gap": "écart", "status": "statut",
    "verdict": "comparaison",
}  # fmt: skip


def legend() -> list[dict[str, str]]:
    """The categories in order, with their words and colours."""
    return [{"id": c, "label": words, "background": COLOURS[c][0], "text": COLOURS[c][1]}
            for c, words in CATEGORIES.items()]  # fmt: skip


def heatmap_rows(found: Heatmap) -> list[dict[str, Any]]:
    """One row per territory, its cells in the order of the columns: value, category, the
    words of the comparison and the colours (what a page or a print draws)."""
    cells = found.cells.set_index(["code", "indicator"])
    units = {str(i["id"]): str(i["unit"] or "") for i in found.indicators}
    # small rates (0.06 %) need two decimals to be read at all
    digits = {str(i["id"]): 2 if abs(float(i["reference_value"])) < 1 else 1  # type: ignore[arg-type]
              for i in found.indicators}  # fmt: skip
    rows = []
    for code, name in zip(found.territories.code, found.territories.name, strict=True):
        drawn = []
        for column in found.indicators:
            ident = str(column["id"])
            cell = cells.loc[(code, ident)]
            value = None if pd.isna(cell.value) else float(cell.value)
            category = str(cell.category)
            words = CATEGORIES[category]
            interval = ""
            places = digits[ident]
            if not pd.isna(cell.ci_low) and not pd.isna(cell.ci_high):
                low, high = french_number(cell.ci_low, places), french_number(cell.ci_high, places)
                interval = f" [{low} – {high}]"
            shown = "—" if value is None else french_number(value, places)
            if category == "secret":
                shown = "s"
            why = cell.get("note") if category == "missing" else None
            if isinstance(why, str) and why:
                words = f"{words} ({why})"
            drawn.append({
                "indicator": ident, "value": value, "shown": shown, "category": category,
                "background": COLOURS[category][0], "text": COLOURS[category][1],
                "title": f"{name} : {shown} {units[ident]}{interval} — {words}",
            })  # fmt: skip
        rows.append({"code": code, "name": name, "cells": drawn})
    return rows


def heatmap_cells(found: Heatmap) -> pd.DataFrame:
    """Every cell, one per line, with French column names (the CSV)."""
    names = dict(zip(found.territories.code, found.territories.name, strict=True))
    labels = {str(i["id"]): str(i["label"]) for i in found.indicators}
    periods = {str(i["id"]): i["period"] for i in found.indicators}
    frame = found.cells.assign(
        name=found.cells.code.map(names),
        label=found.cells.indicator.map(labels),
        period=found.cells.indicator.map(periods),
        verdict=found.cells.category.map(CATEGORIES),
    )
    return frame[list(CELL_COLUMNS)].rename(columns=CELL_COLUMNS)


def heatmap_xlsx(found: Heatmap, *, title: str) -> bytes:
    """A workbook: the grid of values coloured by verdict, every cell on its line, and how to
    read them."""
    grid = found.grid("value")
    labels = [f"{i['label']} ({i['period']})" for i in found.indicators]
    wide = pd.DataFrame(grid.to_numpy(), columns=labels)
    wide.insert(0, "territoire", found.territories.name.to_numpy())
    wide.insert(0, "code", found.territories.code.to_numpy())
    colours = found.grid("category").apply(lambda c: c.map(lambda k: COLOURS[str(k)][0]))
    fills = pd.DataFrame(colours.to_numpy(), columns=labels)
    fills.insert(0, "territoire", None)
    fills.insert(0, "code", None)
    reference = found.reference
    metadata = [
        ("Tableau", title),
        ("Référence", f"{reference['name']} ({reference['level']}:{reference['code']})"),
        ("Lecture", "Chaque cellule compare la valeur du territoire à celle de la référence : "
                    "l'écart est significatif quand la référence sort de l'intervalle de "
                    "confiance à 95 % de la valeur ; sans intervalle, il n'est pas testable."),
        *((f"Couleur {COLOURS[c][0]}", words) for c, words in CATEGORIES.items()),
    ]  # fmt: skip
    sheets = {"Écarts": wide, "Cellules": heatmap_cells(found)}
    return export_sheets(sheets, metadata, fills={"Écarts": fills})


def heatmap_html(found: Heatmap, *, title: str, subtitle: str = "", notice: str = "") -> str:
    """A self-contained A4 landscape page of the heatmap (the PDF's source)."""
    template = template_environment(None).get_template("heatmap.html")
    return template.render(title=title, subtitle=subtitle, notice=notice, heatmap=found,
                           rows=heatmap_rows(found), legend=legend(),
                           num=french_number)  # fmt: skip


def heatmap_pdf(found: Heatmap, *, title: str, subtitle: str = "", notice: str = "") -> bytes:
    """The heatmap as an A4 landscape PDF."""
    return html_to_pdf(heatmap_html(found, title=title, subtitle=subtitle, notice=notice))
