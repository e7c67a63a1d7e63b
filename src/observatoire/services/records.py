"""Operators' records of one observatory (the OSIRIS work): the collections declared in
``<home>/collections/``, their imports, operators and restitution meetings, the completeness
of what operators entered, and the restitution reports' figures.

The facade gives it as ``obs.records``; SQL in :mod:`observatoire.store.records`, imports in
:mod:`observatoire.ingest.records`, reports' figures in :mod:`observatoire.engine.restitution`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from observatoire.engine.completeness import RecordsPolicy
from observatoire.engine.restitution import Restitution, build_restitution
from observatoire.errors import InputError, UnknownNameError
from observatoire.home import Home
from observatoire.ingest.records import RecordsReport, import_records, load_collections
from observatoire.quality.calendar import received_spans, reporting
from observatoire.quality.schema import CollectionSchema
from observatoire.services.geography import Geography
from observatoire.services.partners import Partners
from observatoire.store import records as records_store
from observatoire.store import review as review_store
from observatoire.store import territories as queries
from observatoire.store.base import Warehouse

__all__ = ["Records"]


class Records:
    """The operators' records of an observatory (``home``, ``warehouse``)."""

    def __init__(
        self, home: Home, warehouse: Warehouse, geography: Geography, partners: Partners
    ) -> None:
        self.home = home
        self.warehouse = warehouse
        self.geography = geography
        self.partners = partners
        self._collections: dict[str, CollectionSchema] | None = None

    def reload(self) -> None:
        """Read the collections again (after their files changed)."""
        self._collections = None

    def collections(self) -> dict[str, CollectionSchema]:
        """The collections of operators' records declared in ``<home>/collections/``."""
        if self._collections is None:
            self._collections = load_collections(self.home.path)
        return self._collections

    def collection(self, name: str) -> CollectionSchema:
        found = self.collections()
        if name not in found:
            raise UnknownNameError("collection", name, list(found))
        return found[name]

    def operators(self, collection: str, *, partner: str | None = None) -> pd.DataFrame:
        """The operators of ``collection`` (code, name, partner); only ``partner``'s when
        given."""
        name = self.collection(collection).name
        return records_store.operators_of(self.warehouse, name, partner=partner)

    def timeliness(self, collection: str, *, today: dt.date | None = None) -> pd.DataFrame:
        """operator, name, commune, departement, period, due, received, state, delay: every
        extract expected from each operator of ``collection`` by its calendar, as of
        ``today`` (see :mod:`observatoire.quality.calendar`)."""
        schema = self.collection(collection)
        if schema.calendar is None:
            raise InputError(
                f"collection {schema.name} : pas de calendrier des transmissions (clé "
                "« calendrier » de son fichier, voir docs/qualite.md)", path=schema.origin or None,
            )  # fmt: skip
        received = received_spans(review_store.receipts(self.warehouse, schema.name),
                                  schema.calendar)  # fmt: skip
        states = reporting(received, schema.calendar, today or dt.date.today())
        names = records_store.operators_of(self.warehouse, schema.name)[["code", "name"]]
        places = review_store.operator_places(self.warehouse, schema.name)
        out = states.merge(names.rename(columns={"code": "operator"}), on="operator",
                           how="left").merge(places, on="operator", how="left")  # fmt: skip
        return out.assign(name=out.name.fillna(""))  # a declared operator yet to send one

    def volume_jumps(self, collection: str) -> pd.DataFrame:
        """Months when an operator entered far more or fewer records than usual."""
        cube = records_store.read_cube(self.warehouse, self.collection(collection).name)
        return records_store.volume_jumps(cube)

    def duplicates(self, collection: str, *, days: int | None = None) -> pd.DataFrame:
        """Probable duplicates: one person entered by two operators within ``days`` (default:
        the collection's)."""
        schema = self.collection(collection)
        return records_store.duplicates(
            self.warehouse, schema.name, days=days or schema.duplicate_days
        )

    def in_force(self, collection: str) -> tuple[int, int]:
        """(imports, records) in force for ``collection``."""
        return records_store.imports_in_force(self.warehouse, self.collection(collection).name)

    def link_operator(self, collection: str, operator: str, partner: str) -> str:
        """Attach an operator of ``collection`` to a partner; returns the partner's code."""
        code = self.partners.require(partner)
        name = self.collection(collection).name
        records_store.link_operator(self.warehouse, name, operator, code)
        return code

    def save_meeting(
        self, collection: str, day: str, territory: str, label: str = ""
    ) -> tuple[str, str]:
        """Record a restitution meeting with the operators of ``territory`` (AAAA-MM-JJ);
        returns the territory's (level, code)."""
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise InputError(f"date « {day} » : attendu AAAA-MM-JJ") from None
        name = self.collection(collection).name
        level, code = self.geography.resolve(territory)
        records_store.save_meeting(
            self.warehouse, name, day=day, level=level, code=code, label=label
        )
        return level, code

    def import_file(self, path: str | Path, collection: str, **options: object) -> RecordsReport:
        """Import an operators' extract (see :func:`observatoire.ingest.records.import_records`)."""
        self.geography.require_referential()
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
        schema = self.collection(collection)
        if "territory" in by:
            level = self.geography.level_id(level or "commune")
        elif level is not None:
            raise InputError("--level sert au regroupement par territoire (--by territory)")
        scope = self._scope_of(within)
        cube = records_store.read_cube(
            self.warehouse,
            schema.name,
            level=level if "territory" in by else None,
            within=scope,
            operators=operators,
        )
        table = records_store.completeness_table(cube, schema, list(by))
        return self._named(table, schema, level)

    def _named(
        self, table: pd.DataFrame, schema: CollectionSchema, level: str | None
    ) -> pd.DataFrame:
        """Operators' and territories' names next to their codes; the alert flag."""
        for column in ("score", "after"):
            if column in table:
                table.insert(table.columns.get_loc(column) + 1, "alert",
                             table[column] < schema.alert)  # fmt: skip
                break
        if "operator" in table:
            names = records_store.operators_of(self.warehouse, schema.name).set_index("code").name
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
        schema = self.collection(collection)
        if "territory" in by:
            level = self.geography.level_id(level or "commune")
        cube = records_store.read_cube(
            self.warehouse, schema.name, level=level, operators=operators
        )
        meeting = None
        if since_meeting:
            held = records_store.meetings(self.warehouse, schema.name)
            if held.empty:
                raise InputError(
                    f"aucune réunion de restitution enregistrée pour {schema.name} : "
                    "« observatoire records meeting »"
                )
            meeting = str(held.day.iloc[-1])
        table = records_store.evolution_table(
            cube, schema, list(by), period=period, meeting=meeting
        )
        return self._named(table, schema, level)

    def _scope_of(self, within: str | tuple[str, str] | None) -> tuple[str, str] | None:
        if within is None or isinstance(within, tuple):
            return within
        return self.geography.resolve(within)

    def restitution(
        self,
        collection: str,
        *,
        territory: str | None = None,
        operator: str | None = None,
        analyst: bool = True,
    ) -> Restitution:
        """The restitution report of a territory's operators, or of one operator (see
        :mod:`observatoire.engine.restitution`; its documents:
        :mod:`observatoire.outputs.restitution`)."""
        schema = self.collection(collection)
        place = None
        if territory is not None:
            level, code = self.geography.resolve(territory)
            place = (level, code, self.geography.territory_name(level, code))
        if operator is not None:
            known = set(records_store.operators_of(self.warehouse, schema.name).code)
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

    def policies(self) -> dict[str, RecordsPolicy]:
        return {
            name: RecordsPolicy(schema.threshold, schema.withhold)
            for name, schema in self.collections().items()
        }
