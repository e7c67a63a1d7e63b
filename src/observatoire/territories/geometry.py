"""Geometry computations on shapely arrays: dissolve, area, display simplification.

Pure functions: arrays of shapely geometries in EPSG:4326 in, arrays or numbers out.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["area_km2", "dissolve", "simplify_for_display", "to_wkb"]

# Equal-area projections: LAEA Europe for metropolitan France, UTM zones for the DROM.
_EQUAL_AREA = {
    "971": "EPSG:5490",
    "972": "EPSG:5490",
    "973": "EPSG:2972",
    "974": "EPSG:2975",
    "976": "EPSG:4471",
}
_DEFAULT_EQUAL_AREA = "EPSG:3035"

# Display tolerance in degrees (~ metres × 1e-5) by level.
DISPLAY_TOLERANCE = {"epci": 0.001, "departement": 0.002, "region": 0.004, "pays": 0.01}


def dissolve(
    geometries: np.ndarray, keys: Sequence[Hashable], *, workers: int | None = None
) -> dict[Hashable, BaseGeometry]:
    """Union of the geometries sharing a key, for every key (in parallel: GEOS frees the GIL).

    Missing geometries (None) are ignored; a key with none gets an empty geometry.
    """
    key_array = np.asarray(keys, dtype=object)
    groups: dict[Hashable, np.ndarray] = {}
    order = np.argsort(key_array.astype(str), kind="stable")
    sorted_keys = key_array[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    for start, end in itertools.pairwise(bounds):
        members = geometries[order[start:end]]
        groups[sorted_keys[start]] = members[~shapely.is_missing(members)]

    def union(item: tuple[Hashable, np.ndarray]) -> tuple[Hashable, BaseGeometry]:
        key, members = item
        if len(members) == 0:
            return key, shapely.Polygon()
        merged = shapely.union_all(members)
        return key, shapely.make_valid(merged) if not shapely.is_valid(merged) else merged

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return dict(pool.map(union, sorted(groups.items(), key=lambda kv: -len(kv[1]))))


def area_km2(geometries: np.ndarray, departements: Sequence[str | None]) -> np.ndarray:
    """Areas in km², each geometry projected to the equal-area CRS of its département."""
    areas = np.full(len(geometries), np.nan)
    deps = np.asarray(departements, dtype=object)
    crs_of = np.array([_EQUAL_AREA.get(str(d), _DEFAULT_EQUAL_AREA) for d in deps], dtype=object)
    present = ~shapely.is_missing(geometries)
    for crs in np.unique(crs_of):
        mask = (crs_of == crs) & present
        if not mask.any():
            continue
        transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        projected = shapely.transform(geometries[mask], transformer.transform, interleaved=False)
        areas[mask] = shapely.area(projected) / 1e6
    return areas


def simplify_for_display(geometries: np.ndarray, tolerance: float) -> np.ndarray:
    """A lighter copy for maps; shared borders stay shared (coverage simplification)."""
    present = ~shapely.is_missing(geometries)
    out = geometries.copy()
    if present.any():
        try:
            out[present] = shapely.coverage_simplify(geometries[present], tolerance)
        except shapely.errors.GEOSException:
            out[present] = shapely.simplify(geometries[present], tolerance, preserve_topology=True)
    return out


def to_wkb(geometries: Sequence[BaseGeometry | None]) -> list[bytes | None]:
    """WKB bytes (None stays None)."""
    return [None if g is None else shapely.to_wkb(g) for g in geometries]
