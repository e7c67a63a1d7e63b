"""Importing a custom zoning from a table (CSV/XLSX) or from zone polygons (any GDAL format).

Each import that changes the zoning creates a new version, valid from ``valid_from``; the previous
version is closed on that date and stays queryable. Re-importing the same content changes nothing.
The current version is materialised as territories of level ``NAME`` so that zones behave like
any official territory. Everything happens in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from observatoire.errors import InputError, ReferentialError
from observatoire.ingest.geofiles import is_geofile, read_geofile
from observatoire.ingest.tables import Table, column_key, find_column, read_table
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.computed import invalidate
from observatoire.store.territories import (
    codebook,
    commune_end,
    commune_parts,
    geometry_map,
    has_cog,
    has_communes,
    load_vintages,
    population_year,
    shown_version,
    territory_parents,
    territory_sizes,
    units_below_communes,
    version_at,
)
from observatoire.store.zonings import (
    add_version,
    all_versions,
    remember_shown,
    replace_zone_territories,
    version_content,
    versions_of,
    zoning_names,
)
from observatoire.territories.geometry import simplify_for_display, to_wkb
from observatoire.territories.levels import check_zoning_name
from observatoire.territories.vintages import Vintages
from observatoire.territories.zoning import (
    ZoningDraft,
    draft_from_polygons,
    draft_from_table,
    version_in_force,
)

__all__ = ["ZoningImportReport", "import_zoning", "refresh_zonings", "zoning_members"]

UNIT_COLUMNS = (
    "code_commune",
    "codgeo",
    "depcom",
    "insee_com",
    "code_insee",
    "com",
    "code_iris",
    "iris",
    "commune",
    "unite",
    "unit",
    "code",
)
ZONE_COLUMNS = ("code_zone", "zone", "code_territoire", "territoire", "secteur", "code_secteur")
# Otherwise a zone code is any « code … » / « numéro … » column that is not the unit's, and its
# name any « nom … » / « libellé … » column that is not a commune's: « Code EDS », « Libellé
# TAS », « Nom de la circonscription » as observatories write them.
_GEOGRAPHIC = (  # the keys of other geographies: never a zone's
    r"(departement|dep|dept|region|reg|epci|canton|arrondissement|arr|postal|cp|commune|com"
    r"|insee|iris|geo|codgeo|depcom)"
)
_ZONE_CODE = re.compile(rf"(code|num|numero|id|identifiant)_(?!{_GEOGRAPHIC}(_|$))\w+")
_ZONE_NAME = re.compile(rf"(nom|libelle|lib|intitule)_(?!(de_la_|du_|de_l_)?{_GEOGRAPHIC}(_|$))\w+")
NAME_COLUMNS = (
    "nom_zone",
    "libelle_zone",
    "lib_zone",
    "nom_territoire",
    "libelle_territoire",
    "nom_secteur",
    "libelle",
    "nom",
)
WEIGHT_COLUMNS = ("poids", "weight", "part")


@dataclass
class ZoningImportReport:
    name: str
    version: int
    created: bool
    zones: int
    units: int
    unit_level: str
    valid_from: str
    notes: list[str] = field(default_factory=list)


def import_zoning(
    warehouse: Warehouse,
    *,
    name: str,
    path: str | Path,
    label: str | None = None,
    valid_from: str | None = None,
    unit_level: str | None = None,
    unit_column: str | None = None,
    zone_column: str | None = None,
    name_column: str | None = None,
    weight_column: str | None = None,
    fictitious: bool = False,
) -> ZoningImportReport:
    """Import (or re-import) zoning ``name`` from ``path``; see the module docstring."""
    name = check_zoning_name(name)
    path = Path(path)
    start = valid_from or date.today().isoformat()
    try:
        date.fromisoformat(start)
    except ValueError:
        raise InputError(f"date de début invalide « {start} » (attendu AAAA-MM-JJ)") from None
    if not has_communes(warehouse):
        raise ReferentialError("référentiel absent : lancez « observatoire init »")
    if is_geofile(path):
        draft = _draft_from_polygons(
            warehouse, path, unit_level or "commune", zone_column, name_column
        )
    else:
        draft = _draft_from_table(
            warehouse, path, unit_level, unit_column, zone_column, name_column, weight_column
        )
    checksum = draft.checksum()
    versions = versions_of(warehouse, name)
    if len(versions) and versions.checksum.iloc[-1] == checksum:
        last = versions.iloc[-1]
        return ZoningImportReport(
            name,
            int(last.version),
            False,
            len(draft.zones),
            len(draft.members),
            draft.unit_level,
            str(last.valid_from),
            ["contenu identique à la version en vigueur : rien n'a changé"],
        )
    if len(versions) and start <= str(versions.valid_from.iloc[-1]):
        raise InputError(
            f"la nouvelle version doit commencer après la version en vigueur "
            f"({versions.valid_from.iloc[-1]}) : précisez --valid-from"
        )
    version = int(versions.version.max()) + 1 if len(versions) else 1
    today = date.today().isoformat()
    shown = shown_version(warehouse, name) if len(versions) else None  # before this one
    if start > today:
        in_force = version_in_force(versions, today) if len(versions) else None
        draft.notes.append(
            f"version {version} en vigueur à partir du {start} : jusque-là, les chiffres du "
            + (f"zonage restent ceux de la version {in_force}" if in_force is not None
               else "zonage ne sont pas calculés (aucune version en vigueur)")
        )  # fmt: skip
    with warehouse.transaction() as tx:
        add_version(
            tx,
            name,
            draft,
            version=version,
            valid_from=start,
            source=str(path),
            checksum=checksum,
            label=label,
            fictitious=fictitious,
        )
        if start <= today:
            invalidate(tx, level=name)  # indicators stored for the previous version
            _materialise(tx, name, draft, version)
        else:  # say which version its territories are (none yet for a first version)
            remember_shown(tx, name, shown)
    return ZoningImportReport(
        name,
        version,
        True,
        len(draft.zones),
        len(draft.members),
        draft.unit_level,
        start,
        draft.notes,
    )


def _draft_from_table(
    warehouse: Warehouse,
    path: Path,
    unit_level: str | None,
    unit_column: str | None,
    zone_column: str | None,
    name_column: str | None,
    weight_column: str | None,
) -> ZoningDraft:
    table = read_table(path, expect=[c for c in (unit_column,) if c] or UNIT_COLUMNS)
    columns = list(table.frame.columns)
    unit_col = table.column(unit_column) if unit_column else table.column(*UNIT_COLUMNS)
    zone_col = table.column(zone_column) if zone_column else _zone_column(table, unit_col)
    name_col = (
        table.column(name_column)
        if name_column
        else find_column(columns, NAME_COLUMNS) or _matching(columns, _ZONE_NAME, unit_col)
    )
    weight_col = (
        table.column(weight_column) if weight_column else find_column(columns, WEIGHT_COLUMNS)
    )
    if name_col in (unit_col, zone_col):
        name_col = None
    level = unit_level or _guess_unit_level(table.frame[unit_col])
    if level not in ("commune", "iris"):
        raise InputError(f"unités de zonage « {level} » : communes ou IRIS seulement")
    codes = codebook(warehouse, level)
    if level == "iris" and not codes.current:
        raise ReferentialError("aucun IRIS : lancez d'abord « observatoire geo import-iris »")
    return draft_from_table(
        table.frame,
        unit_column=unit_col,
        zone_column=zone_col,
        name_column=name_col,
        weight_column=weight_col,
        unit_level=level,
        codes=codes,
        successor=_successor_finder(warehouse),
        line_of=table.line_of,
        path=str(path),
    )


def _matching(columns: list[str], pattern: re.Pattern[str], *besides: str) -> str | None:
    return next(
        (c for c in columns if c not in besides and pattern.fullmatch(column_key(str(c)))), None
    )


def _zone_column(table: Table, unit_col: str) -> str:
    """The column of the zones' codes: a known name, else the first « code … » column that is
    not the units'; a clear error naming the columns seen and the names expected."""
    columns = [str(c) for c in table.frame.columns]
    found = find_column(columns, ZONE_COLUMNS)
    if found is not None:
        return found
    candidates = [c for c in columns if c != unit_col and _ZONE_CODE.fullmatch(column_key(c))]
    if len(candidates) > 1:
        raise InputError(
            f"plusieurs colonnes pourraient être celle des zones : {', '.join(candidates)} ; "
            "précisez --zone-column",
            path=table.path,
        )
    found = candidates[0] if candidates else None
    if found is None:
        raise InputError(
            f"colonne des zones introuvable. Colonnes vues : {', '.join(columns)}. Attendu : "
            f"une colonne des communes ou IRIS ({unit_col} reconnue) et une colonne des zones "
            "(« Code zone », « Zone », « Secteur », « Code EDS »… ou tout « Code … ») ; "
            "sinon précisez --zone-column",
            path=table.path,
        )
    return found


def _guess_unit_level(values: pd.Series) -> str:
    lengths = values.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True).str.len()
    return "iris" if (lengths >= 8).mean() > 0.5 else "commune"


def _successor_finder(warehouse: Warehouse) -> Callable[[str], str | None]:
    """A lookup: the current commune a former commune passed to whole, if any. It reads the
    communes déléguées once, and the COG (when imported) only if one is needed."""
    parts = commune_parts(warehouse)
    part_of = dict(zip(parts.code, parts.current_code, strict=True))
    loaded: list[Vintages] = []

    def successor(code: str) -> str | None:
        if code in part_of:
            return str(part_of[code])
        if not has_cog(warehouse):
            return None
        end = commune_end(warehouse, code)
        if not end:
            return None
        if not loaded:
            loaded.append(load_vintages(warehouse))
        shares, _ = loaded[0].trace(code, int(end[:4]) - 1)
        return next(iter(shares)) if len(shares) == 1 else None

    return successor


def _draft_from_polygons(
    warehouse: Warehouse,
    path: Path,
    unit_level: str,
    zone_column: str | None,
    name_column: str | None,
) -> ZoningDraft:
    frame = read_geofile(path)
    columns = [c for c in frame.columns if c != "geometry"]
    zone_col = zone_column or find_column(columns, ZONE_COLUMNS) or find_column(columns, ("code",))
    if zone_col is None or zone_col not in frame:
        raise InputError(
            f"colonne du code de zone introuvable (colonnes : {', '.join(columns)}) : "
            "précisez --zone-column",
            path=path,
        )
    name_col = name_column or find_column(columns, NAME_COLUMNS) or zone_col
    zones = pd.DataFrame(
        {
            "code": frame[zone_col].astype(str).str.strip(),
            "name": frame[name_col].astype(str).str.strip(),
        }
    )
    units = geometry_map(warehouse, unit_level)
    if not units:
        raise ReferentialError(f"aucun contour de niveau {unit_level} dans le référentiel")
    return draft_from_polygons(
        zones, np.asarray(frame.geometry.values, dtype=object), units, unit_level=unit_level
    )


def refresh_zonings(warehouse: Warehouse, today: str | None = None) -> list[str]:
    """Make each zoning's territories those of the version in force ``today``: a version
    imported ahead of its start date takes over once the date has come (its stored
    indicators are then recomputed). Returns what changed, in French."""
    today = today or date.today().isoformat()
    versions = all_versions(warehouse)
    changed = []
    for name, own in versions.groupby("zoning", sort=True):
        shown = shown_version(warehouse, str(name))
        in_force = version_in_force(own, today)
        if in_force is None or in_force == shown:
            continue
        row = own[own.version == in_force].iloc[0]
        with warehouse.transaction() as tx:
            zones, members = version_content(tx, str(name), in_force)
            draft = ZoningDraft(str(row.unit_level), zones, members)
            invalidate(tx, level=str(name))
            _materialise(tx, str(name), draft, in_force)
        changed.append(f"zonage {name} : version {in_force} en vigueur depuis le {row.valid_from}")
    return changed


def _materialise(tx: Transaction, name: str, draft: ZoningDraft, version: int) -> None:
    """Write version ``version`` (the one in force) as territories of level ``name``
    (replacing the previous), and remember which version they are."""
    remember_shown(tx, name, version)
    members = draft.members
    level = draft.unit_level
    units = territory_sizes(tx, level)
    facts = members.merge(units, left_on="unit_code", right_on="code", how="left")
    facts["w_pop"] = facts.population * facts.weight
    facts["w_area"] = facts.area_km2 * facts.weight
    sums = facts.groupby("zone_code").agg(
        population=("w_pop", lambda s: s.sum(min_count=len(s))),
        area_km2=("w_area", lambda s: s.sum(min_count=len(s))),
    )
    territories = draft.zones.assign(
        level=name,
        population=draft.zones.code.map(sums.population),
        population_year=population_year(tx),
        area_km2=draft.zones.code.map(sums.area_km2).round(4),
        kind=None,
    )
    territories["population_year"] = (
        territories.population_year.astype("Int64")
        .where(territories.population.notna())
        .astype("Int64")
    )
    replace_zone_territories(
        tx,
        name,
        territories[["level", "code", "name", "population", "population_year", "area_km2", "kind"]],
        _parent_rows(tx, name, draft, facts),
        _zone_geometries(tx, name, draft),
    )


def _parent_rows(
    tx: Transaction, name: str, draft: ZoningDraft, facts: pd.DataFrame
) -> pd.DataFrame:
    level = draft.unit_level
    members = draft.members
    rows = [
        pd.DataFrame(
            {
                "level": level,
                "code": members.unit_code,
                "parent_level": name,
                "parent_code": members.zone_code,
                "weight": members.weight,
            }
        )
    ]
    if level == "commune":
        below = units_below_communes(tx)
        nested = below.merge(members, left_on="parent_code", right_on="unit_code")
        rows.append(
            pd.DataFrame(
                {
                    "level": nested.level,
                    "code": nested.code,
                    "parent_level": name,
                    "parent_code": nested.zone_code,
                    "weight": nested.weight,
                }
            )
        )
    # The zone's own parents (département, région, pays), weighted by population share.
    up = territory_parents(tx, level, ("departement", "region", "pays"))[
        ["code", "parent_level", "parent_code"]
    ]
    size = facts.assign(
        size=facts.population.fillna(0).where(
            facts.population.fillna(0) > 0, facts.area_km2.fillna(0)
        )
        * facts.weight
    )
    joined = size.merge(up, left_on="unit_code", right_on="code", suffixes=("", "_p"))
    totals = size.groupby("zone_code")["size"].sum()
    agg = joined.groupby(["zone_code", "parent_level", "parent_code"], as_index=False)["size"].sum()
    agg["weight"] = (agg["size"] / agg.zone_code.map(totals)).fillna(1.0).round(6)
    rows.append(
        pd.DataFrame(
            {
                "level": name,
                "code": agg.zone_code,
                "parent_level": agg.parent_level,
                "parent_code": agg.parent_code,
                "weight": agg.weight,
            }
        )
    )
    out = pd.concat(rows, ignore_index=True)
    return out.drop_duplicates(["level", "code", "parent_level", "parent_code"])


def _zone_geometries(tx: Transaction, name: str, draft: ZoningDraft) -> pd.DataFrame:
    lookup = geometry_map(tx, draft.unit_level)
    shapes = []
    for zone in draft.zones.code:
        units = draft.members.unit_code[draft.members.zone_code == zone]
        parts = [lookup[u] for u in units if u in lookup]
        shapes.append(shapely.union_all(np.array(parts, dtype=object)) if parts else None)
    array = np.array(shapes, dtype=object)
    display = simplify_for_display(array, 0.0005)
    return pd.DataFrame(
        {
            "level": name,
            "code": draft.zones.code,
            "geom": to_wkb(list(array)),
            "geom_display": to_wkb(list(display)),
        }
    )


def zoning_members(
    warehouse: Warehouse, name: str, *, version: int | None = None, at: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Zones and members of a version (the current one by default, or the one valid ``at``)."""
    versions = versions_of(warehouse, name)
    if versions.empty:
        from observatoire.errors import UnknownNameError

        raise UnknownNameError("zonage", name, zoning_names(warehouse))
    if version is None and at is not None:
        version = version_at(warehouse, name, at)
        if version is None:
            raise InputError(f"aucune version du zonage {name} en vigueur le {at}")
    if version is None:
        version = shown_version(warehouse, name)
        if version is None:
            raise InputError(f"aucune version du zonage {name} en vigueur aujourd'hui : "
                             "précisez la date (--at) ou la version")  # fmt: skip
    version = int(version)
    if version not in set(versions.version):
        raise InputError(
            f"version {version} inconnue ; versions : " + ", ".join(map(str, versions.version))
        )
    return version_content(warehouse, name, version)
