"""Reading the referential back: territories, parents, geometries, codes and vintages.

Service functions, keyword-only, each taking its warehouse explicitly.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.errors import InputError, ReferentialError, UnknownCodeError
from observatoire.store.base import Transaction, Warehouse, placeholders
from observatoire.territories.codes import CodeBook, normalise_code
from observatoire.territories.levels import LEVELS, is_official
from observatoire.territories.lookup import name_key
from observatoire.territories.vintages import Vintages
from observatoire.territories.zoning import version_in_force

if TYPE_CHECKING:
    import geopandas

__all__ = [
    "SHOWN",
    "arm_communes",
    "changed_communes",
    "codebook",
    "commune_end",
    "commune_parts",
    "communes_of_departements",
    "fallback_passage",
    "geometries",
    "geometry_map",
    "has_cog",
    "has_communes",
    "known_levels",
    "level_counts",
    "list_territories",
    "list_zonings",
    "load_vintages",
    "named_territories",
    "names_among",
    "population_year",
    "resolve_territory",
    "scope_of",
    "shown_version",
    "territory_card",
    "territory_codes",
    "territory_name",
    "territory_parents",
    "territory_sizes",
    "units_below_communes",
    "version_at",
    "version_shown",
    "zones_of",
    "zoning_versions",
]

UPPER_COLUMNS = ("epci", "departement", "region")


def known_levels(warehouse: Warehouse) -> list[str]:
    """Levels present in the warehouse: official first (finest first), then zonings."""
    present = set(warehouse.query("SELECT DISTINCT level FROM territory").level)
    official = [lvl for lvl in LEVELS if lvl in present]
    return official + sorted(present - set(official))


def _rank(level: str) -> int:
    return LEVELS[level].rank if level in LEVELS else 100  # zonings: after official levels


def resolve_territory(
    warehouse: Warehouse, text: str, *, below: str | None = None
) -> tuple[str, str]:
    """The (level, code) a user means by ``text``: ``level:code``, a code, or a name.

    A code that exists at several levels (``93`` is Seine-Saint-Denis and the région PACA)
    resolves to the finest level above ``below``; ``region:93`` says which explicitly.
    """
    text = text.strip()
    if ":" in text:
        level, _, code = text.partition(":")
        level = level.strip()
        if is_official(level):
            code = normalise_code(code, level) if level != "pays" else code.strip().upper()
        rows = warehouse.query(
            "SELECT level, code FROM territory WHERE level = ? AND code = ?", [level, code]
        )
    else:
        upper = text.upper()
        rows = warehouse.query("SELECT level, code FROM territory WHERE code = ?", [upper])
        if rows.empty and upper.isdigit() and len(upper) in (1, 4, 8):
            padded = upper.zfill(len(upper) + 1)
            rows = warehouse.query("SELECT level, code FROM territory WHERE code = ?", [padded])
        if rows.empty:
            names = warehouse.query("SELECT level, code, name FROM territory WHERE level <> 'iris'")
            folded = names.name.fillna("").map(name_key)
            rows = names[folded == name_key(text)][["level", "code"]]
    if rows.empty:
        names = warehouse.query("SELECT name FROM territory WHERE level <> 'iris'").name
        close = difflib.get_close_matches(text, sorted(set(names.dropna())), n=3, cutoff=0.7)
        raise UnknownCodeError(text, level="territoire", suggestions=close)
    candidates = sorted(zip(rows.level, rows.code, strict=True), key=lambda lc: _rank(lc[0]))
    if below is not None:
        above = [c for c in candidates if _rank(c[0]) > _rank(below)]
        candidates = above or candidates
    level, code = candidates[0]
    return str(level), str(code)


def within_clause(
    level: str, within: tuple[str, str] | None, column: str = "code"
) -> tuple[str, list[object]]:
    """SQL keeping the rows whose ``column`` (a code of ``level``) lies inside ``within``, and
    its parameters (nothing when ``within`` is None).

    >>> within_clause("commune", ("departement", "93"))[1]
    ['commune', 'departement', '93']
    """
    if within is None:
        return "", []
    return (
        f" AND {column} IN (SELECT code FROM territory_parent WHERE level = ? "
        "AND parent_level = ? AND parent_code = ?)",
        [level, *within],
    )


def territory_names(
    warehouse: Warehouse, *, level: str, within: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Code and name of the territories of ``level`` (inside ``within``): the light read of
    :func:`list_territories`."""
    sql = "SELECT code, name FROM territory WHERE level = ?"
    inside, params = within_clause(level, within)
    frame = warehouse.query(sql + inside + " ORDER BY code", [level, *params])
    if frame.empty:  # an unknown level: the full read says so, with the known ones
        return list_territories(warehouse, level=level, within=within)[["code", "name"]]
    return frame


def list_territories(
    warehouse: Warehouse,
    *,
    level: str,
    within: tuple[str, str] | None = None,
    zoning: str | None = None,
) -> pd.DataFrame:
    """Territories of ``level`` (optionally inside ``within``), with their parent codes.

    Columns: code, name, level, epci, departement, region (the main parent at each upper level),
    population, population_year, area_km2, kind; plus ``zone`` (and ``zone_weight``) when
    ``zoning`` is given.
    """
    sql = "SELECT t.* FROM territory t WHERE t.level = ?"
    params: list[object] = [level]
    inside, inside_params = within_clause(level, within)
    frame = warehouse.query(sql + inside + " ORDER BY t.code", params + inside_params)
    if frame.empty and level not in known_levels(warehouse):
        raise ReferentialError(
            f"aucun territoire de niveau « {level} » ; niveaux disponibles : "
            + ", ".join(known_levels(warehouse))
        )
    parents = warehouse.query(
        "SELECT code, parent_level, parent_code, weight FROM territory_parent WHERE level = ? "
        f"AND parent_level IN ({placeholders(UPPER_COLUMNS)}){inside}",
        [level, *UPPER_COLUMNS, *inside_params],
    )
    main = (
        parents.sort_values(["code", "parent_level", "weight"], ascending=[True, True, False])
        .drop_duplicates(["code", "parent_level"])
        .pivot(index="code", columns="parent_level", values="parent_code")
    )
    for column in UPPER_COLUMNS:
        frame[column] = frame.code.map(main[column]) if column in main else None
    if level == "iris" or level == "arm":
        commune = warehouse.query(
            "SELECT code, parent_code FROM territory_parent WHERE level = ? "
            "AND parent_level = 'commune'",
            [level],
        )
        frame.insert(
            3, "commune", frame.code.map(dict(zip(commune.code, commune.parent_code, strict=True)))
        )
    if zoning is not None:
        zones = warehouse.query(
            "SELECT code, parent_code AS zone, weight AS zone_weight FROM territory_parent "
            "WHERE level = ? AND parent_level = ?",
            [level, zoning],
        )
        frame = frame.merge(zones, on="code", how="left")
    columns = [
        "code",
        "name",
        "level",
        *(["commune"] if "commune" in frame else []),
        *UPPER_COLUMNS,
        "population",
        "population_year",
        "area_km2",
        "kind",
    ]
    columns += [c for c in ("zone", "zone_weight") if c in frame]
    out = frame[columns].copy()
    out["population_year"] = out.population_year.astype("Int64")
    return out.reset_index(drop=True)


def geometries(
    warehouse: Warehouse,
    *,
    level: str,
    within: tuple[str, str] | None = None,
    simplified: bool = True,
    zoning: str | None = None,
) -> geopandas.GeoDataFrame:
    """The territories of :func:`list_territories` with their geometry (EPSG:4326)."""
    import geopandas

    frame = list_territories(warehouse, level=level, within=within, zoning=zoning)
    shapes_by_code = geometry_map(warehouse, level, simplified=simplified, within=within)
    shapes = [shapes_by_code.get(c) for c in frame.code]
    return geopandas.GeoDataFrame(frame, geometry=shapes, crs="EPSG:4326")


def geometry_map(
    warehouse: Warehouse | Transaction,
    level: str,
    *,
    simplified: bool = False,
    within: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Code → shapely geometry for every territory of ``level`` (inside ``within``) that has
    one."""
    import shapely

    sql = "SELECT code, geom, geom_display FROM territory_geometry WHERE level = ?"
    inside, params = within_clause(level, within)
    geoms = warehouse.query(sql + inside, [level, *params])
    out: dict[str, Any] = {}
    for code, full, light in zip(geoms.code, geoms.geom, geoms.geom_display, strict=True):
        chosen = light if simplified and _present(light) else full
        if _present(chosen):
            out[str(code)] = shapely.from_wkb(bytes(chosen))
    return out


def _present(value: object) -> bool:
    """A stored WKB value (drivers return NULL as None or pandas.NA)."""
    return (
        value is not None
        and value is not pd.NA
        and not (isinstance(value, float) and value != value)
    )


def codebook(warehouse: Warehouse, level: str) -> CodeBook:
    """Current codes of ``level``, and past commune codes with the date they ended."""
    current = frozenset(territory_codes(warehouse, level))
    past: dict[str, str] = {}
    if level == "commune":
        parts = warehouse.query("SELECT code FROM commune_part")
        past.update({c: "" for c in parts.code if c not in current})
        history = warehouse.query(
            "SELECT code, MAX(CASE WHEN date_end = '' THEN '9999' ELSE date_end END) AS end_date "
            "FROM cog_commune WHERE typecom = 'COM' GROUP BY code"
        )
        past.update(
            {
                c: e
                for c, e in zip(history.code.tolist(), history.end_date.tolist(), strict=True)
                if c not in current
            }
        )
    return CodeBook(level, current, past)


def territory_codes(reader: Warehouse | Transaction, level: str) -> pd.Series:
    """The codes of the territories of ``level``."""
    return reader.query("SELECT code FROM territory WHERE level = ?", [level]).code


def territory_sizes(reader: Warehouse | Transaction, level: str) -> pd.DataFrame:
    """code, population, area_km2 of the territories of ``level``."""
    return reader.query("SELECT code, population, area_km2 FROM territory WHERE level = ?", [level])


def territory_parents(
    reader: Warehouse | Transaction, level: str, parent_levels: Sequence[str] = ()
) -> pd.DataFrame:
    """code, parent_level, parent_code, weight of the territories of ``level``: every parent,
    or those of ``parent_levels`` when given."""
    among = f" AND parent_level IN ({placeholders(parent_levels)})"
    return reader.query(
        "SELECT code, parent_level, parent_code, weight FROM territory_parent WHERE level = ?"
        + (among if parent_levels else ""),
        [level, *parent_levels],
    )


def arm_communes(reader: Warehouse | Transaction) -> pd.DataFrame:
    """The municipal arrondissements (Paris, Lyon, Marseille) and their commune: code,
    parent_code."""
    return reader.query(
        "SELECT code, parent_code FROM territory_parent WHERE level = 'arm' "
        "AND parent_level = 'commune'"
    )


def units_below_communes(reader: Warehouse | Transaction) -> pd.DataFrame:
    """level, code, parent_code of the IRIS and arrondissements, with their commune."""
    return reader.query(
        "SELECT level, code, parent_code FROM territory_parent "
        "WHERE level IN ('iris', 'arm') AND parent_level = 'commune'"
    )


def communes_of_departements(reader: Warehouse | Transaction, communes: Sequence[str]) -> pd.Series:
    """The codes of every commune of the départements ``communes`` (at least one) lie in."""
    marks = placeholders(communes)
    return reader.query(
        "SELECT code FROM territory_parent WHERE level = 'commune' AND parent_level = "
        "'departement' AND parent_code IN (SELECT parent_code FROM territory_parent WHERE "
        f"level = 'commune' AND parent_level = 'departement' AND code IN ({marks}))",
        list(communes),
    ).code


def commune_parts(reader: Warehouse | Transaction) -> pd.DataFrame:
    """The former communes now déléguées or associées, and the current commune each belongs
    to: code, current_code."""
    return reader.query("SELECT code, current_code FROM commune_part")


def changed_communes(reader: Warehouse | Transaction) -> set[str]:
    """Codes some change of the imported COG concerns, before or after it (fusions, scissions,
    code changes: every event but a change of name), and the communes holding communes
    déléguées or associées."""
    events = reader.query(
        "SELECT com_av AS code FROM cog_event WHERE mod <> '10' "
        "UNION SELECT com_ap FROM cog_event WHERE mod <> '10' "
        "UNION SELECT current_code FROM commune_part"
    )
    return set(events.code)


def commune_end(reader: Warehouse | Transaction, code: str) -> str:
    """The latest end date (AAAA-MM-JJ) the COG history gives commune ``code``; empty when it
    has none (a current commune, or a code the COG does not know)."""
    history = reader.query(
        "SELECT MAX(date_end) AS d FROM cog_commune WHERE code = ? AND typecom = 'COM'", [code]
    )
    return str(history.d.iloc[0] or "")


def population_year(reader: Warehouse | Transaction) -> int | None:
    """The year of the populations the referential holds (None before it is built)."""
    year = reader.query("SELECT value FROM meta WHERE key = 'population_year'")
    return int(year.value.iloc[0]) if len(year) else None


SHOWN = "zoning_version:"  # meta key: the version of a zoning its territories are made of


def shown_version(warehouse: Warehouse, name: str) -> int | None:
    """The version of zoning ``name`` whose zones are the territories of its level (the one
    in force when they were last refreshed); None when no version is in force yet."""
    rows = warehouse.query("SELECT value FROM meta WHERE key = ?", [SHOWN + name])
    if len(rows):  # empty: none of its versions has begun
        return int(rows.value.iloc[0]) if rows.value.iloc[0] else None
    # a home made before versions were dated: its latest version, whatever its start
    rows = warehouse.query("SELECT MAX(version) AS v FROM zoning_version WHERE zoning = ?", [name])
    known = rows.v.iloc[0] if len(rows) else None
    return None if known is None or pd.isna(known) else int(known)


def version_at(warehouse: Warehouse, name: str, at: str | None) -> int | None:
    """The version of zoning ``name`` in force on ``at`` (ISO date, AAAA-MM-JJ); with ``at``
    None, the one whose zones are its territories today (:func:`shown_version`). None when
    no version is in force then."""
    if at is None:
        return shown_version(warehouse, name)
    try:
        valid = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", at)) and bool(date.fromisoformat(at))
    except ValueError:
        valid = False
    if not valid:
        raise InputError(f"date {at!r} : attendu une date AAAA-MM-JJ (--at)")
    versions = warehouse.query(
        "SELECT version, valid_from, valid_to FROM zoning_version WHERE zoning = ?", [name]
    )
    return version_in_force(versions, at) if len(versions) else None


def version_shown(warehouse: Warehouse, name: str, at: str | None = None) -> str | None:
    """« zonage tas93, version 2, en vigueur du 2025-01-01 (aujourd'hui) »: the version of
    zoning ``name`` values are given for on ``at`` (today when None); None without one."""
    version = version_at(warehouse, name, at)
    rows = warehouse.query(
        "SELECT valid_from, valid_to FROM zoning_version WHERE zoning = ? AND version = ?",
        [name, version if version is not None else -1],
    )
    if rows.empty:
        return None
    start, end = rows.valid_from.iloc[0], rows.valid_to.iloc[0]
    until = f" au {end}" if isinstance(end, str) and end else ""
    when = f" (au {at})" if at else " (aujourd'hui)"
    return f"zonage {name}, version {version}, en vigueur du {start}{until}{when}"


def list_zonings(warehouse: Warehouse) -> pd.DataFrame:
    """Zonings with the version in force (whose zones are their territories) and counts;
    a zoning none of whose versions has begun is not listed."""
    rows = warehouse.query(
        "SELECT z.name, z.label, z.fictitious, v.version, v.unit_level, v.valid_from, "
        "(SELECT COUNT(*) FROM zoning_zone zz WHERE zz.zoning = z.name AND zz.version = "
        "v.version) AS zones, (SELECT COUNT(*) FROM zoning_member m WHERE m.zoning = z.name "
        "AND m.version = v.version) AS units FROM zoning z JOIN zoning_version v "
        "ON v.zoning = z.name ORDER BY z.name, v.version"
    )
    shown = {name: shown_version(warehouse, name) for name in set(rows.name)}
    keep = [shown[n] == v for n, v in zip(rows.name, rows.version, strict=True)]
    return rows[pd.Series(keep, index=rows.index, dtype=bool)].reset_index(drop=True)


def zoning_versions(warehouse: Warehouse, name: str) -> pd.DataFrame:
    """The versions of zoning ``name``: dates, unit level, import date and source."""
    return warehouse.query(
        "SELECT version, unit_level, valid_from, valid_to, imported_at, source "
        "FROM zoning_version WHERE zoning = ? ORDER BY version",
        [name],
    )


def territory_name(warehouse: Warehouse, level: str, code: str) -> str:
    """The name of territory ``level``/``code`` (its code when unknown)."""
    rows = warehouse.query("SELECT name FROM territory WHERE level = ? AND code = ?", [level, code])
    return str(rows.name.iloc[0]) if len(rows) else code


def level_counts(warehouse: Warehouse) -> dict[str, int]:
    """How many territories each level holds."""
    counts = warehouse.query("SELECT level, COUNT(*) AS n FROM territory GROUP BY level")
    return {str(level): int(n) for level, n in zip(counts.level, counts.n, strict=True)}


def named_territories(warehouse: Warehouse) -> pd.DataFrame:
    """level, code, name of every named territory but the IRIS (what the site's search finds)."""
    return warehouse.query(
        "SELECT level, code, name FROM territory WHERE level <> 'iris' AND name IS NOT NULL"
    )


def names_among(warehouse: Warehouse, level: str, codes: Sequence[str]) -> dict[str, str]:
    """code → name of the territories of ``level`` among ``codes``."""
    found: dict[str, str] = {}
    for start in range(0, len(codes), 5000):
        part = list(codes[start : start + 5000])
        rows = warehouse.query(f"SELECT code, name FROM territory WHERE level = ? AND code IN "
                               f"({placeholders(part)})", [level, *part])  # fmt: skip
        found.update(zip(rows.code.astype(str), rows.name.astype(str), strict=True))
    return found


def has_communes(warehouse: Warehouse) -> bool:
    """Whether the referential is built (its communes are there)."""
    return warehouse.count("territory", "level = 'commune'") > 0


def has_cog(warehouse: Warehouse) -> bool:
    """Whether a COG (the communes' history) has been imported."""
    return warehouse.count("cog_event") > 0


def zones_of(warehouse: Warehouse | Transaction, name: str, version: int) -> pd.DataFrame:
    """Code and name of the zones of a version of zoning ``name``."""
    return warehouse.query(
        "SELECT code, name FROM zoning_zone WHERE zoning = ? AND version = ? ORDER BY code",
        [name, version],
    )


def scope_of(warehouse: Warehouse | Transaction, level: str, code: str) -> pd.DataFrame:
    """level, code of every territory a computation limited to ``level:code`` stores: the
    territory, its ancestors (its references), every territory inside it at every level, and
    every territory sharing one of its communes (an EPCI or a zone across its border, the
    départements of an EPCI)."""
    return warehouse.query(
        "WITH inside AS (SELECT level, code FROM territory_parent "
        "WHERE parent_level = ? AND parent_code = ? UNION SELECT ?, ?), "
        "units AS (SELECT code FROM inside WHERE level = 'commune') "
        "SELECT level, code FROM inside "
        "UNION SELECT parent_level, parent_code FROM territory_parent "
        "WHERE level = ? AND code = ? "
        "UNION SELECT parent_level, parent_code FROM territory_parent "
        "WHERE level = 'commune' AND code IN (SELECT code FROM units) "
        "UNION SELECT level, code FROM territory_parent "
        "WHERE parent_level = 'commune' AND parent_code IN (SELECT code FROM units) "
        "ORDER BY 1, 2",
        [level, code, level, code, level, code],
    )


def fallback_passage(warehouse: Warehouse) -> pd.DataFrame:
    """A passage table without the COG: every current commune to itself, and every former
    commune that is now a commune déléguée or associée to the commune it belongs to.

    It covers the fusions into communes nouvelles, not scissions nor code changes, and holds for
    any past geography only as far as those fusions go: import the COG for the full history.
    """
    current = territory_codes(warehouse, "commune")
    parts = warehouse.query("SELECT DISTINCT code, current_code FROM commune_part")
    parts = parts[~parts.code.isin(set(current))]
    frame = pd.DataFrame(
        {
            "old_code": [*current, *parts.code],
            "new_code": [*current, *parts.current_code],
            "weight": 1.0,
            "estimated": False,
        }
    )
    return frame.drop_duplicates("old_code").reset_index(drop=True)


def load_vintages(warehouse: Warehouse) -> Vintages:
    """The commune history of the imported COG, with current populations for scissions."""
    if not has_cog(warehouse):
        raise ReferentialError(
            "aucun COG importé : lancez « observatoire geo import-cog DOSSIER » "
            "(fichiers v_commune_AAAA.csv et v_mvt_commune_AAAA.csv de l'INSEE)"
        )
    events = warehouse.query("SELECT * FROM cog_event")
    history = warehouse.query("SELECT * FROM cog_commune")
    communes = warehouse.query("SELECT code, population FROM territory WHERE level = 'commune'")
    population = dict(
        zip(communes.code.tolist(), communes.population.fillna(0.0).tolist(), strict=True)
    )
    return Vintages(events, history, population=population, current=communes.code)


def territory_card(warehouse: Warehouse, level: str, code: str) -> dict[str, Any]:
    """One territory: name, population, area, its parents (finest level first, named) and how
    many territories of each finer level it holds."""
    rows = warehouse.query(
        "SELECT name, population, population_year, area_km2 FROM territory "
        "WHERE level = ? AND code = ?",
        [level, code],
    )
    if rows.empty:
        raise UnknownCodeError(code, level=level)
    parents = warehouse.query(
        "SELECT p.parent_level AS level, p.parent_code AS code, t.name FROM territory_parent p "
        "JOIN territory t ON t.level = p.parent_level AND t.code = p.parent_code "
        "WHERE p.level = ? AND p.code = ?",
        [level, code],
    )
    children = warehouse.query(
        "SELECT level, COUNT(*) AS n FROM territory_parent WHERE parent_level = ? "
        "AND parent_code = ? GROUP BY level",
        [level, code],
    )
    first = rows.iloc[0]
    ordered = sorted(
        zip(parents.level, parents.code, parents.name, strict=True),
        key=lambda p: (_rank(p[0]), p[1]),
    )
    return {
        "level": level,
        "code": code,
        "name": str(first["name"]),
        "population": None if pd.isna(first.population) else float(first.population),
        "population_year": None if pd.isna(first.population_year) else int(first.population_year),
        "area_km2": None if pd.isna(first.area_km2) else float(first.area_km2),
        "parents": [{"level": lv, "code": c, "name": n} for lv, c, n in ordered],
        "children": {
            str(lv): int(n)
            for lv, n in sorted(
                zip(children.level, children.n, strict=True), key=lambda c: _rank(c[0])
            )
        },
    }
