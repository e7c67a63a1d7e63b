"""The Python entry point: an observatory home and what can be asked of it.

>>> obs = Observatory.open("observatoire-data")                              # doctest: +SKIP
>>> obs.geography.territories(level="commune", within="93")                 # doctest: +SKIP
>>> obs.indicator("part_allocataires_rsa", level="commune", within="93",
...               reader=PUBLIC)                                             # doctest: +SKIP

The facade composes and delegates: territories are ``obs.geography``
(:mod:`observatoire.services.geography`), partners ``obs.partners``, operators' records
``obs.records``, the analysts' views ``obs.views``; reads go through
:mod:`observatoire.engine.reading` and
:mod:`observatoire.engine.analysis` with the reader's rights applied by
:mod:`observatoire.engine.access`; every query is in :mod:`observatoire.store`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.catalog.variables import raw_indicator
from observatoire.engine import analysis
from observatoire.engine.access import ComputedScopes, ReadAccess
from observatoire.engine.cohorts import CohortProjection, project_cohorts
from observatoire.engine.compare import NEIGHBOURS, STRATUM
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
)
from observatoire.engine.projection import Projection, project_indicator
from observatoire.engine.reading import (
    analyst_only,
    past_version,
    read_indicator,
    read_profile,
    read_profiles,
    with_provenance,
)
from observatoire.errors import (
    AccessError,
    HomeError,
    InputError,
    UnknownNameError,
)
from observatoire.home import Home, resolve_home
from observatoire.ingest.pipeline import ImportReport, import_file, rollback
from observatoire.ingest.record_versions import rollback_records
from observatoire.secret.policy import ANALYST, PUBLIC, ReadPolicy
from observatoire.services.geography import Geography, Within
from observatoire.services.partners import Partners
from observatoire.services.records import Records
from observatoire.services.views import Views
from observatoire.stats.neighbours import DEFAULT_CONTEXT
from observatoire.store import Warehouse, open_warehouse
from observatoire.store import computed as computed_store
from observatoire.store import territories as queries
from observatoire.store import values as values_store
from observatoire.store.batches import batch_dataset, import_history
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.territories.levels import LEVELS

if TYPE_CHECKING:
    pass


__all__ = ["Observatory"]


@contextmanager
def _closed_on_error(warehouse: Warehouse) -> Iterator[None]:
    """Close ``warehouse`` when what the block does with it fails (then re-raise)."""
    try:
        yield
    except BaseException:
        warehouse.close()
        raise


class Observatory:
    """An opened observatory: its home, its settings and its warehouse."""

    def __init__(self, home: Home, warehouse: Warehouse) -> None:
        self.home = home
        self.warehouse = warehouse
        self._catalogue: Catalogue | None = None
        self._scopes = ComputedScopes()  # the codes computed in a scope (compute_within)
        self.partners = Partners(warehouse)
        self.geography = Geography(warehouse)  # territories, zonings, old geographies
        self.records = Records(home, warehouse, self.geography, self.partners)  # OSIRIS
        self.views = Views(self.access, self.geography)  # funnels, heatmaps, gradients…

    def access(self) -> ReadAccess:
        """Read authorisation over this observatory (see :mod:`observatoire.engine.access`)."""
        return ReadAccess(self.warehouse, self.catalogue(), scopes=self._scopes)

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def init(cls, home: str | Path | None = None, **settings: str) -> tuple[Observatory, bool]:
        """Create the home (settings, database) if needed; harmless when it exists.

        Returns the observatory, opened for writing, and whether the home was created now.
        """
        created_home, created = Home.create(resolve_home(home), **settings)
        warehouse = open_warehouse(created_home.backend, created_home.location)
        with _closed_on_error(warehouse):
            warehouse.migrate(home=created_home.path)
        return cls(created_home, warehouse), created

    @classmethod
    def open(cls, home: str | Path | None = None, *, write: bool = False) -> Observatory:
        """Open an initialised home, read-only unless ``write`` (then migrated to this
        release). A home a later release migrated is refused, read-only or not."""
        loaded = Home.load(resolve_home(home))
        warehouse = open_warehouse(loaded.backend, loaded.location, read_only=not write)
        with _closed_on_error(warehouse):
            if write:
                warehouse.migrate(home=loaded.path)
            elif warehouse.known_version(loaded.path) < SCHEMA_VERSION:
                raise HomeError(
                    f"l'observatoire {loaded.path} date d'une version précédente : lancez "
                    f"« observatoire --home {loaded.path} init » pour le mettre à jour"
                )
        return cls(loaded, warehouse)

    def close(self) -> None:
        self.warehouse.close()

    def snapshot(self) -> AbstractContextManager[None]:
        """The reads inside see one data version (a web request, its streamed answer too)."""
        return self.warehouse.snapshot()

    def on_wait(self, tell: Callable[[str], None]) -> None:
        """Have ``tell`` called with a message when a write waits for another process's."""
        self.warehouse.on_wait = tell

    def __enter__(self) -> Observatory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- imported values --------------------------------------------------------------------
    def import_file(self, path: str | Path, **options: object) -> ImportReport:
        """Import a producer's file (see :func:`observatoire.ingest.pipeline.import_file`)."""
        self.geography.require_referential()
        self.geography.ensure_cog()
        options.setdefault("vocabulary_home", self.home.path)
        return import_file(self.warehouse, path, **options)  # type: ignore[arg-type]

    def rollback(self, batch: int, *, recompute: bool = False) -> tuple[int, int | None]:
        """Withdraw import ``batch`` (the version it replaced is in force again); returns it
        and the restored import. The values computed from it are withdrawn with it:
        ``recompute`` computes their replacements in the same transaction, so that readers
        go from the old values to the new ones at once, never through none."""
        if recompute:
            with self.warehouse.transaction():
                withdrawn = self._rollback(batch)
                self.compute()
            return withdrawn
        return self._rollback(batch)

    def _rollback(self, batch: int) -> tuple[int, int | None]:
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

    def read_variable(self, name: str, *, reader: ReadPolicy = ANALYST) -> None:
        """Make the imported variable ``name`` (``filosofi.DISP_MED``) readable as an
        indicator of the same name, for maps and exports of a raw variable. The analyst's
        only: no secret rule is declared on a raw variable, so no other audience reads one."""
        if name in self.catalogue():
            return
        known = self.variables()
        found = known[known.id == name]
        if found.empty:
            names = [*self.catalogue().indicators, *known.id]
            close = difflib.get_close_matches(name, names, n=8, cutoff=0.5)
            raise UnknownNameError("indicateur ou variable", name, close or names[:20])
        if reader != ANALYST:
            raise AccessError(
                f"« {name} » est une variable brute : elle ne se cartographie et ne s'exporte "
                "que pour le public « chargé d'études » (--audience analyst), faute de règle "
                "de secret déclarée pour elle ; publiez un indicateur qui la lit"
            )
        row = found.iloc[0]
        label = row.label if isinstance(row.label, str) and row.label else ""
        unit = row.unit if isinstance(row.unit, str) else ""
        self.catalogue().add(
            raw_indicator(name, additive=bool(row.additive), unit=unit, label=label)
        )

    def indicator(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: Within = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        published: bool = True,
        reader: ReadPolicy = ANALYST,
        provenance: bool = False,
        at: str | None = None,
    ) -> pd.DataFrame:
        """Indicator ``ident`` for every territory of ``level`` (custom zonings included):
        code, name, period, value, status, coverage, note (see :mod:`observatoire.engine`);
        with ``provenance``, how each value was made, from which variables and imports
        (:meth:`provenance`).

        ``reader`` (:class:`~observatoire.secret.policy.ReadPolicy`: an audience, a partner's
        organisation): what it may see. A restricted one reads the stored values (``compute``)
        with the statistical secret applied, and never sees a dataset it is not entitled to.

        ``at`` (AAAA-MM-JJ, a custom zoning): the zones of the version in force that day,
        computed now when it is not today's (the secret is applied to today's zones only:
        an indicator under secret is refused to a restricted audience then)."""
        level = self.geography.level_id(level)
        access = self.access()
        # The checks in the order users have always met them: the date of a zoning version,
        # the indicator's name, the audience, what a restricted audience may ask, the place.
        past = past_version(access, level, at) if at is not None else None
        self.catalogue().get(ident)
        if reader.restricted:
            analyst_only(published, threshold)
        return read_indicator(
            access, ident, level, within=self.geography.within(within, level), period=period,
            threshold=threshold, published=published, reader=reader,
            at=at if past is not None else None,
            policies=self.records.policies, provenance=provenance,
        )  # fmt: skip

    def zoning_shown(self, level: str, at: str | None = None) -> str | None:
        """Which version of zoning ``level`` values are given for (None for an official
        level): « zonage tas93, version 2, en vigueur depuis le 2025-01-01 »."""
        level = self.geography.level_id(level)
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

        for change in refresh_zonings(self.warehouse):
            on_step(change)
        settings = self.home.settings
        wanted = "" if everywhere else (within or settings.get("compute_within", ""))
        scope = Scope.of(self.warehouse, wanted, settings.get("territory", ""))
        if scope is not None:
            on_step(f"limité à {scope.key} ({len(scope.territories)} territoires)")
        return compute_all(
            self.warehouse,
            self.catalogue(),
            indicators=indicators,
            levels=[self.geography.level_id(lvl) for lvl in levels] if levels else None,
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
            fed=self.datasets_of_indicators(reader=PUBLIC),
        )

    def datasets_of_indicators(self, *, reader: ReadPolicy = ANALYST) -> dict[str, list[str]]:
        """For each indicator computed for ``reader``, the datasets in force it is drawn
        from (through the variables it reads)."""
        return self.access().datasets_of_indicators(reader)

    def available(self, *, reader: ReadPolicy = ANALYST) -> dict[str, list[str]]:
        """The indicators ``reader`` can read, computed (``compute``), with their levels:
        those fed only by datasets it may see."""
        return self.access().available(reader)

    def profile(self, territory: str, *, reader: ReadPolicy = ANALYST,
                provenance: bool = False) -> pd.DataFrame:  # fmt: skip
        """Every stored indicator of one territory (``93066``, ``departement:93``…), with its
        label and theme, as ``reader`` may see it; with ``provenance``, how each value was
        made (see :func:`observatoire.engine.reading.read_profile`)."""
        level, code = self.geography.resolve(territory)
        return read_profile(self.access(), level, code, reader,
                            provenance=provenance)  # fmt: skip

    def profiles(
        self, level: str, within: tuple[str, str] | None, *, reader: ReadPolicy = ANALYST
    ) -> pd.DataFrame:
        """Every stored indicator of every territory of ``level`` inside ``within`` in one
        read (code, indicator, period, value, status…), as ``reader`` may see them."""
        return read_profiles(self.access(), self.geography.level_id(level), within, reader)

    def compare(
        self,
        ident: str,
        *,
        level: str = "commune",
        reference: str = "departement",
        within: Within = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        reader: ReadPolicy = ANALYST,
        k: int = 5,
    ) -> pd.DataFrame:
        """Indicator values with each territory's reference (a containing level, or a
        territory such as ``departement:93``), gap, index, significance, rank, percentile."""
        level = self.geography.level_id(level)
        chosen: str | tuple[str, str] = reference
        if reference not in (*LEVELS, STRATUM, NEIGHBOURS):
            chosen = self.geography.resolve(reference)
        return analysis.compare(
            self.access(), ident, level, chosen, within=self.geography.within(within, level),
            period=period, threshold=threshold, reader=reader, k=k,
        )  # fmt: skip

    def neighbours(
        self,
        *,
        level: str = "commune",
        k: int = 5,
        context: tuple[str, ...] = DEFAULT_CONTEXT,
        territory: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> pd.DataFrame:
        """Each territory's ``k`` statistical neighbours at ``level`` on the ``context``
        indicators (see :func:`observatoire.engine.analysis.neighbours`); only
        ``territory``'s when given."""
        code = self.geography.resolve(territory)[1] if territory is not None else None
        level = self.geography.level_id(level)
        return analysis.neighbours(self.access(), level, k=k, context=context, code=code,
                                   reader=reader)  # fmt: skip

    def evolution(
        self,
        ident: str,
        *,
        start: str,
        end: str,
        level: str = "commune",
        within: Within = None,
        threshold: float = DEFAULT_THRESHOLD,
        reader: ReadPolicy = ANALYST,
    ) -> pd.DataFrame:
        """Evolution of an indicator between two periods, for every territory of ``level``."""
        level = self.geography.level_id(level)
        return analysis.indicator_evolution(
            self.access(), ident, level, start=start, end=end,
            within=self.geography.within(within, level), threshold=threshold,
            reader=reader,
        )  # fmt: skip

    def projection(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: Within = None,
        to: str | None = None,
        method: str | None = None,
        confidence: float = 0.8,
        reader: ReadPolicy = ANALYST,
    ) -> Projection:
        """Indicator ``ident`` projected for every territory of ``level`` to year ``to``, by
        trend ``method``, with each method's error measured on the base and the interval of
        ``confidence`` it gives (see :mod:`observatoire.engine.projection`)."""
        level = self.geography.level_id(level)
        self.catalogue().get(ident)
        return project_indicator(
            self.access(), ident, level, within=self.geography.within(within, level), to=to,
            method=method, reader=reader, confidence=confidence,
        )  # fmt: skip

    def cohort_projection(
        self,
        variable: str,
        *,
        level: str = "commune",
        within: Within = None,
        to: str | None = None,
        control: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> CohortProjection:
        """Population by sex and age of ``variable`` (values with a sex and an age
        dimension, two censuses or more) projected by cohort-change ratios, constrained to
        the projection ``control`` of the containing level when given (see
        :mod:`observatoire.engine.cohorts`)."""
        level = self.geography.level_id(level)
        return project_cohorts(
            self.access(), variable, level, within=self.geography.within(within, level), to=to,
            control=control, reader=reader,
        )  # fmt: skip

    def values(
        self,
        variable: str,
        *,
        level: str = "commune",
        within: Within = None,
        period: str | None = None,
        dims: str | None = None,
        published: bool = False,
        reader: ReadPolicy = ANALYST,
    ) -> pd.DataFrame:
        """Stored values of ``variable`` (``source.CODE``): code, name, period, dims, value,
        status, note. For an indicator of the catalogue, see :meth:`indicator`.

        A restricted ``reader`` reads indicators only: a variable's raw values are refused
        when they are under secret or come from a dataset it may not see."""
        if "." not in variable and variable in self.catalogue():
            return self.indicator(
                variable, level=level, within=within, period=period, reader=reader
            )
        if reader.restricted:
            self.access().check_raw_readable(variable, reader)
        level = self.geography.level_id(level)
        return values_store.read_values(
            self.warehouse,
            variable=variable,
            level=level,
            within=self.geography.within(within, level),
            period=period,
            dims=dims,
            published=published,
        )

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
        return {
            "home": str(self.home.path),
            "backend": self.home.backend,
            "name": self.home.settings["name"],
            "levels": self.geography.level_counts(),
            "meta": self.warehouse.meta(),
        }
