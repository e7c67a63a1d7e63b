"""Building the French referential from commune-level facts.

Input: the current communes (with their département, EPCI, population and geometry), the
arrondissements municipaux, EPCI, départements and régions. Output: three tables ready to store:

* ``territories``: level, code, name, population, population_year, area_km2, kind;
* ``parents``: each territory's parents at every upper level (transitive), with a weight — 1
  when the territory lies wholly inside, the population share otherwise (an EPCI spanning two
  départements has both as parents);
* ``geometries``: WKB of each territory and a simplified copy for display. EPCI, départements,
  régions and France are dissolved from communes.

France has two territories at the ``pays`` level: ``FR`` (France, DROM included) and ``FRM``
(France métropolitaine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from observatoire.territories.geometry import (
    DISPLAY_TOLERANCE,
    area_km2,
    dissolve,
    simplify_for_display,
    to_wkb,
)

__all__ = ["COUNTRIES", "Referential", "build_referential", "is_metropolitan"]

COUNTRIES = {"FR": "France", "FRM": "France métropolitaine"}
TERRITORY_COLUMNS = ["level", "code", "name", "population", "population_year", "area_km2", "kind"]
PARENT_COLUMNS = ["level", "code", "parent_level", "parent_code", "weight"]


def is_metropolitan(departement: str) -> bool:
    """Whether a département code is in metropolitan France (not 971–976)."""
    return not str(departement).startswith("97")


@dataclass
class Referential:
    territories: pd.DataFrame
    parents: pd.DataFrame
    geometries: pd.DataFrame
    report: list[str] = field(default_factory=list)


def build_referential(
    communes: pd.DataFrame,
    epci: pd.DataFrame,
    departements: pd.DataFrame,
    regions: pd.DataFrame,
    *,
    population_year: int,
    on_step: Callable[[str], None] = lambda _: None,
) -> Referential:
    """Build territories, parents and geometries (see the module docstring).

    ``on_step`` is told, in French, each stage as it starts (for a progress display).

    ``communes`` has columns code, type (COM, ARM, COMD, COMA), name, population, parent
    (commune code, for ARM/COMD/COMA), departement, epci, geometry (WKB or None).
    """
    report: list[str] = []
    geoms = np.array(
        [shapely.from_wkb(g) if g is not None else None for g in communes.geometry], dtype=object
    )
    com_mask = (communes.type == "COM").to_numpy()
    com = communes[com_mask].reset_index(drop=True)
    com_geom = geoms[com_mask]
    on_step("contours des communes nouvelles")
    com_geom, com_pop = _fill_from_parts(communes, geoms, com, com_geom, report)
    dep_region = dict(zip(departements.code, departements.region, strict=True))
    com = com.assign(population=com_pop, region=com.departement.map(dep_region))
    on_step("superficies")
    com["area_km2"] = area_km2(com_geom, com.departement)

    arm = communes[communes.type == "ARM"].reset_index(drop=True)
    arm_geom = geoms[(communes.type == "ARM").to_numpy()]
    arm_dep = arm.parent.map(dict(zip(com.code, com.departement, strict=True)))
    arm = arm.assign(area_km2=area_km2(arm_geom, arm_dep))

    # -- aggregates -------------------------------------------------------------------------
    metro = com.departement.map(is_metropolitan).to_numpy()
    territories = [
        _frame("commune", com.code, com.name, com.population, population_year, com.area_km2),
        _frame("arm", arm.code, arm.name, arm.population, population_year, arm.area_km2),
    ]
    for level, table in (("epci", epci), ("departement", departements), ("region", regions)):
        sums = _sums(com, level)
        territories.append(
            _frame(
                level,
                table.code,
                table.name,
                table.code.map(sums.population),
                population_year,
                table.code.map(sums.area_km2),
                table.kind if "kind" in table else None,
            )
        )
    territories.append(
        _frame(
            "pays",
            list(COUNTRIES),
            list(COUNTRIES.values()),
            [com.population.sum(min_count=1), com.population[metro].sum(min_count=1)],
            population_year,
            [com.area_km2.sum(), com.area_km2[metro].sum()],
        )
    )

    on_step("rattachements (EPCI, départements, régions)")
    parents = _parents(com, arm, epci, departements, dep_region)

    # -- geometries -------------------------------------------------------------------------
    on_step("fusion des contours (EPCI, départements, régions, France)")
    present = ~shapely.is_missing(com_geom)
    by_epci = dissolve(
        com_geom[present & com.epci.notna().to_numpy()],
        com.epci[present & com.epci.notna().to_numpy()].tolist(),
    )
    by_dep = dissolve(com_geom[present], com.departement[present].tolist())
    dep_geom = np.array([by_dep.get(c) for c in departements.code], dtype=object)
    by_reg = dissolve(dep_geom, departements.region.tolist())
    reg_geom = np.array([by_reg.get(c) for c in regions.code], dtype=object)
    reg_metro = np.array([_region_is_metro(c, departements) for c in regions.code])
    frm = shapely.union_all(reg_geom[reg_metro])
    fr = shapely.union_all(np.array([frm, *reg_geom[~reg_metro]], dtype=object))
    epci_geom = np.array([by_epci.get(c) for c in epci.code], dtype=object)
    geometries = pd.concat(
        [
            _geoms("commune", com.code, com_geom, None),
            _geoms("arm", arm.code, arm_geom, None),
            _geoms("epci", epci.code, epci_geom, DISPLAY_TOLERANCE["epci"]),
            _geoms("departement", departements.code, dep_geom, DISPLAY_TOLERANCE["departement"]),
            _geoms("region", regions.code, reg_geom, DISPLAY_TOLERANCE["region"]),
            _geoms(
                "pays",
                pd.Series(["FR", "FRM"]),
                np.array([fr, frm], dtype=object),
                DISPLAY_TOLERANCE["pays"],
            ),
        ],
        ignore_index=True,
    )
    missing = int((~present).sum())
    if missing:
        report.append(f"{missing} commune(s) sans contour dans la source")
    no_pop = com.code[com.population.isna()].tolist()
    if no_pop:
        report.append(
            f"{len(no_pop)} commune(s) sans population 2017 (dont Mayotte) : "
            + ", ".join(no_pop[:5])
            + ("…" if len(no_pop) > 5 else "")
        )
    return Referential(pd.concat(territories, ignore_index=True), parents, geometries, report)


def _fill_from_parts(
    communes: pd.DataFrame,
    geoms: np.ndarray,
    com: pd.DataFrame,
    com_geom: np.ndarray,
    report: list[str],
) -> tuple[np.ndarray, pd.Series]:
    """Communes nouvelles lacking a contour or a population get those of their communes
    déléguées/associées when every part has one."""
    parts_mask = communes.type.isin(["COMD", "COMA"]).to_numpy()
    parts = communes[parts_mask].assign(geom=geoms[parts_mask])
    com_geom = com_geom.copy()
    population = com.population.copy()
    filled_geom, filled_pop = [], []
    grouped = dict(tuple(parts.groupby("parent")))
    for i, code in enumerate(com.code):
        group = grouped.get(code)
        if group is None:
            continue
        if com_geom[i] is None and group.geom.notna().all():
            com_geom[i] = shapely.union_all(np.array(list(group.geom), dtype=object))
            filled_geom.append(code)
        if pd.isna(population.iloc[i]) and group.population.notna().all():
            population.iloc[i] = group.population.sum()
            filled_pop.append(code)
    gaps = _fill_gaps(com, com_geom, parts)
    if gaps:
        report.append(
            "contour complété par le vide laissé par des communes déléguées sans contour : "
            + ", ".join(gaps[:8])
            + (f"… ({len(gaps)} communes)" if len(gaps) > 8 else "")
        )
    if filled_geom:
        report.append(
            f"contour reconstitué à partir des communes déléguées : {', '.join(filled_geom)}"
        )
    if filled_pop:
        report.append(
            f"population reconstituée à partir des communes déléguées : {', '.join(filled_pop)}"
        )
    return com_geom, population


def _fill_gaps(com: pd.DataFrame, com_geom: np.ndarray, parts: pd.DataFrame) -> list[str]:
    """Communes nouvelles whose communes déléguées have no contour often keep the contour of
    only one former commune (Saint-Denis after absorbing Pierrefitte-sur-Seine in 2025), leaving
    a gap in the map. Each gap enclosed by the neighbourhood and touching such a commune is given
    back to it (in place). Returns the codes completed."""
    incomplete = set(parts.loc[parts.geom.isna(), "parent"].dropna())
    present = np.flatnonzero(~shapely.is_missing(com_geom))
    tree = shapely.STRtree(com_geom[present])
    completed = []
    for i in np.flatnonzero(com.code.isin(incomplete).to_numpy()):
        own = com_geom[i]
        if own is None:
            continue
        minx, miny, maxx, maxy = own.bounds
        margin = max(maxx - minx, maxy - miny)
        around = present[
            tree.query(shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin))
        ]
        merged = shapely.union_all(com_geom[around])
        holes = [
            shapely.Polygon(ring) for poly in shapely.get_parts(merged) for ring in poly.interiors
        ]
        touching = shapely.buffer(own, 1e-5)
        gaps = [h for h in holes if h.area > 1e-6 and touching.intersects(h)]
        if gaps:
            com_geom[i] = shapely.make_valid(
                shapely.union_all(np.array([own, *gaps], dtype=object))
            )
            completed.append(str(com.code.iloc[i]))
    return completed


def _region_is_metro(region: str, departements: pd.DataFrame) -> bool:
    deps = departements.code[departements.region == region]
    return bool(len(deps)) and all(is_metropolitan(d) for d in deps)


def _sums(com: pd.DataFrame, key: str) -> pd.DataFrame:
    return com.groupby(key).agg(
        population=("population", lambda s: s.sum(min_count=len(s))),
        area_km2=("area_km2", "sum"),
    )


def _frame(
    level: str,
    codes: object,
    names: object,
    population: object,
    year: int,
    area: object,
    kind: object = None,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "level": level,
            "code": list(codes),  # type: ignore[call-overload]
            "name": list(names),  # type: ignore[call-overload]
            "population": pd.to_numeric(pd.Series(list(population)), errors="coerce"),  # type: ignore[call-overload]
            "population_year": year,
            "area_km2": pd.to_numeric(pd.Series(list(area)), errors="coerce").round(4),  # type: ignore[call-overload]
            "kind": list(kind) if kind is not None else None,  # type: ignore[call-overload]
        }
    )
    frame["population_year"] = (
        frame.population_year.astype("Int64").where(frame.population.notna()).astype("Int64")
    )
    return frame[TERRITORY_COLUMNS]


def _parents(
    com: pd.DataFrame,
    arm: pd.DataFrame,
    epci: pd.DataFrame,
    departements: pd.DataFrame,
    dep_region: dict[str, str],
) -> pd.DataFrame:
    """Transitive parents of every official territory, weighted by population share."""
    metro = com.departement.map(is_metropolitan)
    com_parents = pd.concat(
        [
            pd.DataFrame({"code": com.code, "parent_level": "epci", "parent_code": com.epci}),
            pd.DataFrame(
                {"code": com.code, "parent_level": "departement", "parent_code": com.departement}
            ),
            pd.DataFrame({"code": com.code, "parent_level": "region", "parent_code": com.region}),
            pd.DataFrame({"code": com.code, "parent_level": "pays", "parent_code": "FR"}),
            pd.DataFrame({"code": com.code[metro], "parent_level": "pays", "parent_code": "FRM"}),
        ]
    ).dropna(subset=["parent_code"])
    com_parents = com_parents.assign(level="commune", weight=1.0)
    arm_parents = arm[["code", "parent"]].merge(
        com_parents.drop(columns=["level"]),
        left_on="parent",
        right_on="code",
        suffixes=("", "_c"),
    )[["code", "parent_level", "parent_code", "weight"]]
    arm_parents = pd.concat(
        [
            arm_parents,
            pd.DataFrame(
                {
                    "code": arm.code,
                    "parent_level": "commune",
                    "parent_code": arm.parent,
                    "weight": 1.0,
                }
            ),
        ]
    ).assign(level="arm")
    # EPCI: parent département(s)/région(s)/pays with the share of population in each.
    epci_parents = _weighted_up(com[com.epci.notna()], "epci", ["departement", "region"], metro)
    dep = departements.assign(metro=departements.code.map(is_metropolitan))
    dep_parents = pd.concat(
        [
            pd.DataFrame({"code": dep.code, "parent_level": "region", "parent_code": dep.region}),
            pd.DataFrame({"code": dep.code, "parent_level": "pays", "parent_code": "FR"}),
            pd.DataFrame(
                {"code": dep.code[dep.metro], "parent_level": "pays", "parent_code": "FRM"}
            ),
        ]
    ).assign(level="departement", weight=1.0)
    regions = sorted(set(dep_region.values()))
    reg_metro = {
        r for r in regions if all(is_metropolitan(d) for d, rr in dep_region.items() if rr == r)
    }
    reg_parents = pd.DataFrame(
        [(r, "pays", "FR") for r in regions] + [(r, "pays", "FRM") for r in sorted(reg_metro)],
        columns=["code", "parent_level", "parent_code"],
    ).assign(level="region", weight=1.0)
    known_epci = set(epci.code)
    epci_parents = epci_parents[epci_parents.code.isin(known_epci)]
    frames = [com_parents, arm_parents, epci_parents, dep_parents, reg_parents]
    return pd.concat([f[PARENT_COLUMNS] for f in frames], ignore_index=True)


def _weighted_up(
    units: pd.DataFrame, level: str, upper: list[str], metro: pd.Series
) -> pd.DataFrame:
    """Parents of an aggregate (EPCI, zone) from its member communes: each upper territory it
    touches, weighted by the population share the aggregate has in it (area share when
    populations are unknown)."""
    units = units.assign(
        FR="FR",
        FRM=metro.loc[units.index].map({True: "FRM", False: None}),
        size=units.population.fillna(0.0).where(
            units.population.fillna(0.0) > 0, units.area_km2.fillna(0.0)
        ),
    )
    totals = units.groupby(level)["size"].sum()
    frames = []
    for parent_level, column in [*((u, u) for u in upper), ("pays", "FR"), ("pays", "FRM")]:
        part = units[units[column].notna()].groupby([level, column])["size"].sum().reset_index()
        part["weight"] = (part["size"] / part[level].map(totals)).fillna(1.0).round(6)
        frames.append(
            pd.DataFrame(
                {
                    "code": part[level],
                    "parent_level": parent_level,
                    "parent_code": part[column],
                    "weight": part["weight"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).assign(level=level)


def _geoms(
    level: str, codes: pd.Series, geoms: np.ndarray, tolerance: float | None
) -> pd.DataFrame:
    display = simplify_for_display(geoms, tolerance) if tolerance else [None] * len(geoms)
    return pd.DataFrame(
        {
            "level": level,
            "code": list(codes),
            "geom": to_wkb(list(geoms)),
            "geom_display": to_wkb(list(display)),
        }
    )
