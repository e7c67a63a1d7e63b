"""Importing IRIS: INSEE's reference table (code, name, type, commune) and, optionally, the
IGN/INSEE contours in any format and CRS.

The reference is published in the commune geography of its year (``reference_iris_2021``:
Pierrefitte-sur-Seine's IRIS still under 93059): each IRIS is attached to the current commune its
commune passed to. Paris, Lyon and Marseille IRIS are attached to their arrondissement municipal
and, through it, to the commune. The IRIS level is replaced as a whole, atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.errors import InvalidValueError, ReferentialError, UnknownCodeError
from observatoire.ingest.geofiles import read_geofile
from observatoire.ingest.tables import find_column, read_table
from observatoire.store.base import Warehouse
from observatoire.store.referential import replace_iris
from observatoire.store.territories import (
    arm_communes,
    codebook,
    commune_parts,
    has_cog,
    territory_parents,
)
from observatoire.territories.codes import CodeStatus, normalise_code
from observatoire.territories.geometry import area_km2, simplify_for_display, to_wkb

__all__ = ["IrisImportReport", "import_iris"]

CODE_COLUMNS = ("CODE_IRIS", "DCOMIRIS", "IRIS", "code_iris")
COMMUNE_COLUMNS = ("DEPCOM", "INSEE_COM", "COM", "CODE_COM", "CODGEO")


@dataclass
class IrisImportReport:
    iris: int
    communes: int
    rerouted: dict[str, str]
    with_contours: int = 0
    contours_unmatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_iris(
    warehouse: Warehouse,
    reference: str | Path,
    contours: str | Path | None = None,
    *,
    crs: str | None = None,
) -> IrisImportReport:
    """Import the IRIS reference (and contours) and replace the IRIS level."""
    table = read_table(reference, expect=CODE_COLUMNS)
    code_col = table.column(*CODE_COLUMNS)
    com_col = table.column(*COMMUNE_COLUMNS)
    name_col = find_column(table.frame.columns, ("LIB_IRIS", "NOM_IRIS", "LIBIRIS"))
    type_col = find_column(table.frame.columns, ("TYP_IRIS", "TYPE_IRIS"))
    frame = table.frame
    codes, depcoms = [], []
    for i, (raw, raw_com) in enumerate(zip(frame[code_col], frame[com_col], strict=True)):
        try:
            codes.append(normalise_code(raw, "iris"))
            depcoms.append(normalise_code(raw_com, "commune"))
        except InvalidValueError as exc:
            column = code_col if len(codes) == i else com_col
            raise InvalidValueError(
                exc.message, path=table.path, line=table.line_of(i), column=column
            ) from None
    iris = pd.DataFrame(
        {
            "code": codes,
            "depcom": depcoms,
            "name": frame[name_col] if name_col else codes,
            "kind": frame[type_col] if type_col else None,
        }
    )
    dup = iris.code.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InvalidValueError(
            f"IRIS {iris.code.iloc[i]} en double",
            path=table.path,
            line=table.line_of(i),
            column=code_col,
        )
    commune_of, arm_of, rerouted = _attach(warehouse, iris, table.path, table.line_of, com_col)
    iris["commune"] = iris.depcom.map(commune_of)
    iris["arm"] = iris.depcom.map(arm_of)
    report = IrisImportReport(len(iris), int(iris.commune.nunique()), rerouted)
    geoms = _contours(iris, contours, crs, report) if contours is not None else None
    _write(warehouse, iris, geoms)
    return report


def _attach(
    warehouse: Warehouse, iris: pd.DataFrame, path: Path, line_of: Callable[[int], int], column: str
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    communes = codebook(warehouse, "commune")
    if not communes.current:
        raise ReferentialError("référentiel absent : lancez « observatoire init »")
    arms = arm_communes(warehouse)
    arm_parent = dict(zip(arms.code, arms.parent_code, strict=True))
    parts = commune_parts(warehouse)
    part_of = dict(zip(parts.code, parts.current_code, strict=True))
    vintages = None
    commune_of: dict[str, str] = {}
    arm_of: dict[str, str] = {}
    rerouted: dict[str, str] = {}
    for depcom in sorted(set(iris.depcom)):
        if depcom in arm_parent:
            arm_of[depcom] = depcom
            commune_of[depcom] = arm_parent[depcom]
            continue
        verdict = communes.classify(depcom)
        if verdict.status is CodeStatus.CURRENT:
            commune_of[depcom] = depcom
            continue
        target = part_of.get(depcom)
        if target is None and verdict.status is CodeStatus.PAST:
            if vintages is None:
                from observatoire.store.territories import load_vintages

                vintages = load_vintages(warehouse)
            end = verdict.valid_until or "2000-01-01"
            shares, _ = vintages.trace(depcom, int(end[:4]) - 1)
            target = max(shares, key=lambda k: shares[k])
        if target is None:
            index = int(np.flatnonzero((iris.depcom == depcom).to_numpy())[0])
            hint = (
                ""
                if has_cog(warehouse)
                else (
                    " (s'il s'agit d'une commune d'un ancien millésime, importez d'abord le COG : "
                    "observatoire geo import-cog DOSSIER)"
                )
            )
            raise UnknownCodeError(
                depcom,
                level="commune",
                suggestions=verdict.suggestions,
                path=path,
                line=line_of(index),
                column=column,
                hint=hint,
            )
        commune_of[depcom] = target
        rerouted[depcom] = target
    return commune_of, arm_of, rerouted


def _contours(
    iris: pd.DataFrame, contours: str | Path, crs: str | None, report: IrisImportReport
) -> pd.Series:
    frame = read_geofile(contours, crs=crs)
    column = find_column(list(frame.columns), CODE_COLUMNS)
    if column is None:
        raise InvalidValueError(
            f"colonne du code IRIS introuvable (colonnes : {', '.join(map(str, frame.columns))})",
            path=contours,
        )
    codes = []
    for i, raw in enumerate(frame[column]):
        try:
            codes.append(normalise_code(raw, "iris"))
        except InvalidValueError as exc:
            raise InvalidValueError(exc.message, path=contours, line=i + 1, column=column) from None
    frame = frame.assign(_code=codes).dissolve("_code")
    known = set(iris.code)
    report.contours_unmatched = sorted(set(frame.index) - known)
    report.with_contours = len(set(frame.index) & known)
    missing = len(known) - report.with_contours
    if missing:
        report.notes.append(f"{missing} IRIS de la table sans contour dans {Path(contours).name}")
    if report.contours_unmatched:
        report.notes.append(
            f"{len(report.contours_unmatched)} contour(s) d'IRIS absents de la "
            "table (millésimes différents ?) : " + ", ".join(report.contours_unmatched[:10])
        )
    return frame.geometry


def _write(warehouse: Warehouse, iris: pd.DataFrame, geoms: pd.Series | None) -> None:
    parents = territory_parents(warehouse, "commune")
    via_commune = iris[["code", "commune"]].merge(
        parents, left_on="commune", right_on="code", suffixes=("", "_c")
    )
    rows = [
        via_commune[["code", "parent_level", "parent_code", "weight"]],
        pd.DataFrame(
            {
                "code": iris.code,
                "parent_level": "commune",
                "parent_code": iris.commune,
                "weight": 1.0,
            }
        ),
        pd.DataFrame(
            {
                "code": iris.code[iris.arm.notna()],
                "parent_level": "arm",
                "parent_code": iris.arm[iris.arm.notna()],
                "weight": 1.0,
            }
        ),
    ]
    parent_rows = pd.concat(rows, ignore_index=True).assign(level="iris")
    shapes = np.array(
        [geoms.get(c) if geoms is not None else None for c in iris.code], dtype=object
    )
    dep = iris.commune.str[:3].where(iris.commune.str.startswith("97"), iris.commune.str[:2])
    territories = pd.DataFrame(
        {
            "level": "iris",
            "code": iris.code,
            "name": iris["name"],
            "population": np.nan,
            "population_year": None,
            "area_km2": np.round(area_km2(shapes, dep), 4),
            "kind": iris.kind,
        }
    )
    with warehouse.transaction() as tx:
        geometries = None
        if geoms is not None:
            present = np.array([s is not None for s in shapes])
            display = simplify_for_display(shapes[present], 0.0002)
            geometries = pd.DataFrame(
                {
                    "level": "iris",
                    "code": iris.code[present].to_numpy(),
                    "geom": to_wkb(list(shapes[present])),
                    "geom_display": to_wkb(list(display)),
                }
            )
        replace_iris(
            tx,
            territories,
            parent_rows[["level", "code", "parent_level", "parent_code", "weight"]],
            geometries,
        )
