"""Tables written for people and programs: CSV for French spreadsheets (UTF-8 with BOM, ``;``,
decimal comma) or plain CSV, XLSX with a metadata sheet, Parquet, GeoJSON and GeoPackage.

Every text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is neutralised: prefixed with ``'`` in CSV (written by
:mod:`observatoire.csvfile`, as every CSV is), stored as a plain string in XLSX. Rights and the
secret are applied before: these functions write what they are given.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.csvfile import PLAIN, SPREADSHEET, csv_bytes
from observatoire.errors import UnknownNameError

if TYPE_CHECKING:
    import geopandas

__all__ = ["FORMATS", "GEO_FORMATS", "export_sheets", "export_table"]

# format → (file suffix, media type, label)
FORMATS: dict[str, tuple[str, str, str]] = {
    "csv": (".csv", "text/csv; charset=utf-8", "CSV pour tableur (;, virgule décimale)"),
    "csv-plain": (".csv", "text/csv; charset=utf-8", "CSV standard (, et point décimal)"),
    "xlsx": (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel (avec feuille de métadonnées)",
    ),
    "parquet": (".parquet", "application/vnd.apache.parquet", "Parquet"),
    "geojson": (".geojson", "application/geo+json", "GeoJSON (couche cartographique)"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3", "GeoPackage (couche cartographique)"),
}
GEO_FORMATS = ("geojson", "gpkg")


def export_table(
    frame: pd.DataFrame,
    fmt: str,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    sheet: str = "Valeurs",
    geometries: geopandas.GeoDataFrame | None = None,
) -> bytes:
    """``frame`` in format ``fmt`` (see :data:`FORMATS`). Geographic formats join
    ``geometries`` (code, geometry) on ``code``; the metadata go in a sheet of the XLSX, in the
    Parquet file's key-value metadata, and as the GeoJSON's ``metadata`` member."""
    if fmt not in FORMATS:
        raise UnknownNameError("format d'export", fmt, list(FORMATS))
    if fmt == "csv":
        return csv_bytes(frame, SPREADSHEET)
    if fmt == "csv-plain":
        return csv_bytes(frame, PLAIN)
    if fmt == "xlsx":
        return _xlsx(frame, metadata, sheet)
    if fmt == "parquet":
        return _parquet(frame, metadata)
    if geometries is None:
        raise UnknownNameError("contours pour l'export", fmt, ["(aucun contour fourni)"])
    return _geo(frame, geometries, fmt, metadata)


def _xlsx(frame: pd.DataFrame, metadata: Sequence[tuple[str, str]], sheet: str) -> bytes:
    return export_sheets({sheet: frame}, metadata)


def export_sheets(sheets: Mapping[str, pd.DataFrame], metadata: Sequence[tuple[str, str]] = (),
                  fills: Mapping[str, pd.DataFrame] | None = None) -> bytes:  # fmt: skip
    """An XLSX workbook of one sheet per table of ``sheets`` (name → table) and a sheet of
    ``metadata``; text cells are never formulas. ``fills``: for a sheet, a table of the
    same shape giving each cell's background colour (``#rrggbb``, or None)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    bold = Font(bold=True)
    for sheet, frame in sheets.items():
        values = book.create_sheet(sheet[:31])
        for j, column in enumerate(frame.columns, start=1):
            _text(values.cell(row=1, column=j), str(column)).font = bold
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            for j, value in enumerate(row, start=1):
                cell = values.cell(row=i, column=j)
                if isinstance(value, str):
                    _text(cell, value)
                elif value is None or (isinstance(value, float) and value != value):
                    continue
                else:
                    cell.value = value.item() if hasattr(value, "item") else value
                    if isinstance(cell.value, float):
                        cell.number_format = "#,##0.0##"
        colours = (fills or {}).get(sheet)
        for i, row in enumerate([] if colours is None else colours.itertuples(index=False), 2):
            for j, colour in enumerate(row, start=1):
                if isinstance(colour, str) and colour.startswith("#"):
                    tint = colour[1:].upper()
                    values.cell(row=i, column=j).fill = PatternFill("solid", fgColor=tint)
        values.freeze_panes = "A2"
        for j, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
            values.column_dimensions[get_column_letter(j)].width = min(60, max(8, width + 2))
    about = book.create_sheet("Métadonnées")
    for i, (key, text) in enumerate(metadata, start=1):
        _text(about.cell(row=i, column=1), key).font = bold
        _text(about.cell(row=i, column=2), text).alignment = Alignment(wrap_text=True)
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text(cell: Any, value: str) -> Any:
    """Store ``value`` as a plain string, never as a formula."""
    cell.value = value
    cell.data_type = "s"
    return cell


def _parquet(frame: pd.DataFrame, metadata: Sequence[tuple[str, str]]) -> bytes:
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export.parquet"
        con = duckdb.connect()
        try:
            con.register("export_frame", frame)
            pairs = ", ".join(f"'{_sql(k)}': '{_sql(v)}'" for k, v in metadata)
            options = f", KV_METADATA {{{pairs}}}" if pairs else ""
            con.execute(f"COPY export_frame TO '{_sql(str(target))}' (FORMAT parquet{options})")
        finally:
            con.close()
        return target.read_bytes()


def _sql(text: str) -> str:
    return text.replace("'", "''")


def _geo(
    frame: pd.DataFrame,
    geometries: geopandas.GeoDataFrame,
    fmt: str,
    metadata: Sequence[tuple[str, str]],
) -> bytes:
    import json

    import geopandas

    shapes = geometries[["code", "geometry"]].drop_duplicates("code")
    layer = geopandas.GeoDataFrame(
        frame.merge(shapes, on="code", how="inner"), geometry="geometry", crs=geometries.crs
    )
    layer = layer[layer.geometry.notna()]
    if fmt == "geojson":
        document = json.loads(layer.to_json(na="null", drop_id=True))
        document["metadata"] = dict(metadata)
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export.gpkg"
        layer.to_file(target, driver="GPKG", layer="indicateur", engine="pyogrio")
        if metadata:
            about = pd.DataFrame(list(metadata), columns=["cle", "valeur"])
            import pyogrio

            pyogrio.write_dataframe(about, target, layer="metadonnees", driver="GPKG", append=False)
        return target.read_bytes()
