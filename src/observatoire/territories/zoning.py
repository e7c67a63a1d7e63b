"""Custom zonings: an observatory's own territories (Espaces de Solidarité, territoires
d'action sociale…) made of communes or IRIS.

Pure validation of a membership table, and membership from zone polygons. A unit belongs to one
zone of a zoning, unless weights are given (its weights then sum to 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from observatoire.errors import DuplicateUnitError, InvalidValueError, UnknownCodeError
from observatoire.territories.codes import CodeBook, CodeStatus, normalise_code

__all__ = ["ZoningDraft", "draft_from_polygons", "draft_from_table", "version_in_force"]


def version_in_force(versions: pd.DataFrame, at: str) -> int | None:
    """The version of a zoning in force on ``at`` (ISO date): the latest one begun on or before
    that day and not ended by it; None before the first one begins.

    A version imported today to start next year is not in force today: the figures of this
    year are still those of the version it will replace.

    >>> versions = pd.DataFrame({"version": [1, 2], "valid_from": ["2025-01-01", "2027-01-01"],
    ...                          "valid_to": ["2027-01-01", None]})
    >>> version_in_force(versions, "2026-12-04"), version_in_force(versions, "2027-01-01")
    (1, 2)
    >>> version_in_force(versions, "2024-06-30") is None
    True
    """
    ends = versions.valid_to.astype(object).where(versions.valid_to.notna(), "9999")
    ended = ends.astype(str) <= at
    begun = versions.valid_from.astype(str) <= at
    valid = versions[begun & ~ended]
    return int(valid.version.max()) if len(valid) else None


@dataclass
class ZoningDraft:
    """A validated zoning: ``zones`` (code, name), ``members`` (zone_code, unit_code, weight),
    and what the user should know (codes routed to the current geography, ambiguous units)."""

    unit_level: str
    zones: pd.DataFrame
    members: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def checksum(self) -> str:
        """A fingerprint of the zoning's content (to tell an unchanged re-import)."""
        payload = self.zones.sort_values("code").to_csv(index=False)
        payload += self.members.sort_values(["unit_code", "zone_code"]).to_csv(index=False)
        return hashlib.sha256((self.unit_level + payload).encode()).hexdigest()[:16]


def draft_from_table(
    frame: pd.DataFrame,
    *,
    unit_column: str,
    zone_column: str,
    name_column: str | None,
    weight_column: str | None,
    unit_level: str,
    codes: CodeBook,
    successor: Callable[[str], str | None],
    line_of: Callable[[int], int],
    path: str,
) -> ZoningDraft:
    """Validate a table unit → zone (→ zone name, weight).

    ``successor`` gives the current code a past code passed to whole (or None); units of a past
    geography are routed to it and listed in the notes.
    """
    notes: list[str] = []
    rows = []
    for position, (raw_unit, raw_zone) in enumerate(
        zip(frame[unit_column], frame[zone_column], strict=True)
    ):
        line = line_of(position)
        try:
            unit = normalise_code(raw_unit, unit_level)
        except InvalidValueError as exc:
            raise InvalidValueError(exc.message, path=path, line=line, column=unit_column) from None
        zone = str(raw_zone).strip()
        if not zone:
            raise InvalidValueError("code de zone vide", path=path, line=line, column=zone_column)
        verdict = codes.classify(unit)
        if verdict.status is CodeStatus.PAST:
            current = successor(unit)
            if current is None:
                raise InvalidValueError(
                    f"la commune {unit} n'existe plus (fin de validité {verdict.valid_until}) et "
                    "a été partagée entre plusieurs communes : indiquez les communes actuelles",
                    path=path,
                    line=line,
                    column=unit_column,
                )
            notes.append(f"ligne {line} : {unit} (ancienne commune) rattachée à {current}")
            unit, routed = current, True
        else:
            routed = False
        if verdict.status is CodeStatus.UNKNOWN:
            raise UnknownCodeError(
                unit,
                level=unit_level,
                suggestions=verdict.suggestions,
                path=path,
                line=line,
                column=unit_column,
            )
        weight = 1.0
        if weight_column is not None:
            weight = _weight(frame[weight_column].iloc[position], path, line, weight_column)
        name = str(frame[name_column].iloc[position]).strip() if name_column else zone
        rows.append((unit, zone, name or zone, weight, line, routed))
    if not rows:
        raise InvalidValueError("aucune ligne de zonage", path=path)
    table = pd.DataFrame(
        rows, columns=["unit_code", "zone_code", "name", "weight", "line", "routed"]
    )
    # A former commune routed to a current one listed in the same zone adds nothing.
    table = table.sort_values(["routed", "line"], kind="stable")
    involves_routed = table.groupby(["unit_code", "zone_code"]).routed.transform("any")
    repeated = table.duplicated(["unit_code", "zone_code"], keep="first")
    table = table[~(repeated & involves_routed)].sort_values("line")
    _check_units(table, weighted=weight_column is not None, path=path, unit_column=unit_column)
    names = table.groupby("zone_code")["name"].unique()
    clashing = {z: list(n) for z, n in names.items() if len(n) > 1}
    if clashing:
        zone, found = next(iter(clashing.items()))
        raise InvalidValueError(
            f"la zone {zone} porte plusieurs noms : {', '.join(map(str, found))}",
            path=path,
            column=name_column,
        )
    members = (
        table.groupby(["zone_code", "unit_code"], as_index=False)["weight"]
        .sum()
        .sort_values(["zone_code", "unit_code"])
        .reset_index(drop=True)
    )
    zones = pd.DataFrame({"code": names.index, "name": [n[0] for n in names]})
    return ZoningDraft(unit_level, zones.reset_index(drop=True), members, notes)


def _weight(raw: object, path: str, line: int, column: str) -> float:
    text = str(raw).strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise InvalidValueError(
            f"poids invalide « {raw} »", path=path, line=line, column=column
        ) from None
    if not 0.0 < value <= 1.0:
        raise InvalidValueError(
            f"poids hors de ]0 ; 1] : {raw}", path=path, line=line, column=column
        )
    return value


def _check_units(table: pd.DataFrame, *, weighted: bool, path: str, unit_column: str) -> None:
    if not weighted:
        dup = table[table.unit_code.duplicated(keep=False)]
        if len(dup):
            unit = dup.unit_code.iloc[0]
            lines = dup.line[dup.unit_code == unit].tolist()
            zones = sorted(set(dup.zone_code[dup.unit_code == unit]))
            raise DuplicateUnitError(
                f"l'unité {unit} apparaît plusieurs fois (lignes {', '.join(map(str, lines))}, "
                f"zones {', '.join(zones)}) : une unité appartient à une seule zone, sauf si "
                "une colonne de poids est donnée",
                path=path,
                line=int(lines[1]),
                column=unit_column,
            )
        return
    totals = table.groupby("unit_code")["weight"].sum()
    wrong = totals[(totals - 1.0).abs() > 1e-6]
    if len(wrong):
        unit = wrong.index[0]
        raise InvalidValueError(
            f"les poids de l'unité {unit} font {wrong.iloc[0]:.4g} au lieu de 1",
            path=path,
            line=int(table.line[table.unit_code == unit].iloc[0]),
            column=unit_column,
        )


def draft_from_polygons(
    zones: pd.DataFrame,
    zone_geometries: np.ndarray,
    units: Mapping[str, object],
    *,
    unit_level: str,
) -> ZoningDraft:
    """Membership from zone polygons: each unit goes to the zone containing its
    point-on-surface. A point in several (overlapping) zones goes to the zone covering most of
    the unit's area; such units, and units in no zone, are reported.

    ``zones``: code, name (one row per polygon); ``units``: unit code → shapely geometry.
    """
    codes = np.array(list(units), dtype=object)
    shapes = np.array(list(units.values()), dtype=object)
    present = ~shapely.is_missing(shapes)
    codes, shapes = codes[present], shapes[present]
    points = shapely.point_on_surface(shapes)
    tree = shapely.STRtree(zone_geometries)
    point_idx, zone_idx = tree.query(points, predicate="within")
    hits: dict[int, list[int]] = {}
    for p, z in zip(point_idx, zone_idx, strict=True):
        hits.setdefault(int(p), []).append(int(z))
    rows, ambiguous = [], []
    for p, candidates in sorted(hits.items()):
        best = candidates[0]
        if len(candidates) > 1:
            overlaps = [
                shapely.area(shapely.intersection(shapes[p], zone_geometries[z]))
                for z in candidates
            ]
            best = candidates[int(np.argmax(overlaps))]
            ambiguous.append(
                f"{codes[p]} (zones {', '.join(str(zones.code.iloc[z]) for z in candidates)} ; "
                f"retenue : {zones.code.iloc[best]})"
            )
        rows.append((str(zones.code.iloc[best]), str(codes[p]), 1.0))
    notes = []
    if ambiguous:
        notes.append(f"{len(ambiguous)} unité(s) ambiguë(s) : " + " ; ".join(ambiguous[:20]))
    outside = len(codes) - len(hits)
    if outside:
        notes.append(f"{outside} unité(s) hors de toute zone (non rattachées)")
    if not rows:
        raise InvalidValueError(
            "aucune unité ne tombe dans les zones : vérifiez le système de "
            "coordonnées et l'étendue du fichier"
        )
    members = pd.DataFrame(rows, columns=["zone_code", "unit_code", "weight"])
    used = zones[zones.code.isin(members.zone_code)].drop_duplicates("code")
    empty = sorted(set(zones.code) - set(used.code))
    if empty:
        notes.append(f"zone(s) sans aucune unité : {', '.join(map(str, empty))}")
    return ZoningDraft(
        unit_level,
        used[["code", "name"]].reset_index(drop=True),
        members.sort_values(["zone_code", "unit_code"]).reset_index(drop=True),
        notes,
    )
