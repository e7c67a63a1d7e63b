"""Importing the list of the QPV (ANCT), or their contours: the official names and communes of
the quartiers prioritaires, and their shapes for maps.

A table (CSV, XLSX) or a geographic file (GeoJSON, shapefile, GeoPackage, in any CRS) with one
row per QPV: its code (``code_qp``, ``CODE_QP``…), its name (``lib_qp``, ``nom_qp``…), and its
communes, as INSEE codes (``insee_com``, ``code_insee``: « 93008, 93029 ») or as names
(``lib_com``, ``nom_com``: found in the QPV's département). The QPV listed are added or
replaced (names, communes, contours), in one transaction; the others are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.errors import InvalidValueError
from observatoire.ingest.geofiles import is_geofile, read_geofile
from observatoire.ingest.qpv import COMMUNE_LABEL_COLUMNS, QpvBuilder, missing_note
from observatoire.ingest.tables import find_column, read_table
from observatoire.store.base import Warehouse
from observatoire.store.referential import add_territories
from observatoire.territories.geometry import area_km2, simplify_for_display, to_wkb
from observatoire.territories.qpv import departement_of, is_qpv_code, qpv_name

__all__ = ["QpvListReport", "import_qpv_list"]

CODE_COLUMNS = ("code_qp", "CODE_QP", "code_qpv", "CODE_QPV", "code_quartier", "QP", "CODGEO")
NAME_COLUMNS = ("lib_qp", "LIB_QP", "nom_qp", "NOM_QP", "nom_qpv", "lib_qpv", "nom_quartier")
COMMUNE_CODE_COLUMNS = ("insee_com", "INSEE_COM", "code_insee", "codes_insee", "code_com",
                        "insee_coms", "DEPCOM")  # fmt: skip
_CODES = re.compile(r"(2[AB]\d{3}|\d{5})")
_DISPLAY_TOLERANCE = 0.0002


@dataclass
class QpvListReport:
    qpv: int
    with_contours: int = 0
    notes: list[str] = field(default_factory=list)


def import_qpv_list(warehouse: Warehouse, path: str | Path, *, crs: str | None = None
                    ) -> QpvListReport:  # fmt: skip
    """Import the QPV of ``path`` (see the module docstring)."""
    path = Path(path)
    geographic = is_geofile(path)
    if geographic:
        frame = pd.DataFrame(read_geofile(path, crs=crs))
        first_line = 1
    else:
        table = read_table(path, expect=CODE_COLUMNS)
        frame, first_line = table.frame, table.first_line
    columns = list(frame.columns)
    code_column = find_column(columns, CODE_COLUMNS)
    if code_column is None:
        raise InvalidValueError(
            f"colonne du code QPV introuvable (attendu : {', '.join(CODE_COLUMNS[:4])}…)",
            path=path,
        )
    name_column = find_column(columns, NAME_COLUMNS)
    communes_column = find_column(columns, COMMUNE_CODE_COLUMNS)
    label_column = find_column(columns, COMMUNE_LABEL_COLUMNS)
    builder = QpvBuilder(warehouse)
    rows: list[tuple[str, str, list[str]]] = []
    missing: list[str] = []
    unknown: list[str] = []
    for position, raw in enumerate(frame[code_column]):
        code = str(raw).strip().upper()
        line = first_line + position
        if not is_qpv_code(code):
            raise InvalidValueError(
                f"code QPV « {raw} » d'une génération inconnue (attendu QP093005 ou QN09301M)",
                path=path, line=line, column=code_column,
            )  # fmt: skip
        label = str(frame[label_column].iloc[position]) if label_column else ""
        if communes_column:
            communes = _CODES.findall(str(frame[communes_column].iloc[position]))
            unknown += [f"{c} ({code})" for c in communes if c not in builder.communes]
            communes = [c for c in communes if c in builder.communes]
        else:
            communes = builder.communes_named(label, code, missing)
        name = str(frame[name_column].iloc[position]).strip() if name_column else ""
        rows.append((code, name or qpv_name(code, [label] if label else []), communes))
    codes = [code for code, _, _ in rows]
    duplicated = pd.Series(codes).duplicated()
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InvalidValueError(f"QPV {codes[position]} en double", path=path,
                                line=first_line + position, column=code_column)  # fmt: skip
    territories, parents = builder.build(rows)
    report = QpvListReport(len(rows))
    geometries = None
    if geographic:
        shapes = np.array(list(frame.geometry), dtype=object)
        deps = pd.Series([departement_of(c) for c in codes])
        areas = dict(zip(codes, np.round(area_km2(shapes, deps), 4), strict=True))
        territories["area_km2"] = territories.code.map(areas)
        present = np.array([s is not None and not s.is_empty for s in shapes])
        report.with_contours = int(present.sum())
        geometries = pd.DataFrame(
            {
                "level": "qpv",
                "code": np.array(codes)[present],
                "geom": to_wkb(list(shapes[present])),
                "geom_display": to_wkb(list(simplify_for_display(shapes[present],
                                                                 _DISPLAY_TOLERANCE))),
            }
        )  # fmt: skip
    if missing:
        report.notes.append(missing_note(missing))
    if unknown:
        report.notes.append(
            f"{len(unknown)} code(s) commune absents du référentiel (ancien millésime ?) : "
            + ", ".join(unknown[:8])
        )
    with warehouse.transaction() as tx:
        add_territories(tx, territories, parents, geometries)
    return report
