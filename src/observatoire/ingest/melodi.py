"""INSEE's Melodi exports (the catalogue of data cubes where INSEE publishes since 2024).

Two layouts, one row per territory × dimensions × period:

- **labelled** (the site's « télécharger » with labels): ``Géographie`` gives the territory by
  *name* and ``Niveau Géo`` its level in words; each dimension is a column of labels;
  ``Période``, ``Valeur``; a confidential cell has an empty value;
- **coded** (the API and the site's coded files): ``GEO`` gives the code, either plain with a
  ``GEO_OBJECT`` column (COM, EPCI, DEP…) or as ``2023-COM-91477``; dimensions are codes;
  ``TIME_PERIOD``, ``OBS_VALUE``, ``OBS_STATUS`` (SDMX: ``C`` confidential, ``M``/``O``
  missing).

The value becomes ``melodi.<CUBE>`` (the file's name: ``POP_MENAGES``) with the dimensions
kept as dimensions; a declared vocabulary (:mod:`observatoire.ingest.vocabulary`) derives the
catalogue's variables from them (households, one-person households…).
"""

from __future__ import annotations

from pathlib import Path

from observatoire.catalog.datasets import OPEN_LICENCE
from observatoire.catalog.statuses import ValueStatus
from observatoire.ingest.connectors import ColumnSpec, Connector, Layout, register_connector, slug
from observatoire.ingest.tables import Table, find_column
from observatoire.territories.levels import LEVELS, level_from_label
from observatoire.text import fold

__all__ = ["MelodiConnector"]

_LABELLED = ("Géographie", "Période", "Valeur")
_CODED = ("GEO", "TIME_PERIOD", "OBS_VALUE")
_NOT_DIMENSIONS = {"frequence", "freq", "obs_status", "obs_status_fr", "conf_status", "unit_mult",
                   "decimals", "geo_object", "niveau geo", "unit_measure"}  # fmt: skip
# SDMX observation statuses Melodi writes in OBS_STATUS
STATUSES = {
    "C": ValueStatus.SECRET,
    "M": ValueStatus.MISSING,
    "O": ValueStatus.MISSING,
    "N": ValueStatus.NOT_SIGNIFICANT,
    "L": ValueStatus.NOT_AVAILABLE,
}
# The whole country as Melodi codes it
COUNTRY_CODES = {"F": "FR", "FE": "FR", "FR": "FR", "FRANCE": "FR", "M": "FRM", "FM": "FRM",
                 "FRM": "FRM", "METRO": "FRM"}  # fmt: skip


def _frequency(values: list[str]) -> str:
    words = {fold(v) for v in values if v}
    if words <= {"annuel", "annuelle", "a"}:
        return "annuelle"
    if words <= {"trimestriel", "trimestrielle", "q"}:
        return "trimestrielle"
    if words <= {"mensuel", "mensuelle", "m"}:
        return "mensuelle"
    return ""


class MelodiConnector(Connector):
    """INSEE Melodi, both layouts (see the module docstring)."""

    name = "insee.melodi"
    description = "INSEE Melodi (catalogue de données), export libellé ou codé"

    def header_names(self) -> tuple[str, ...]:
        return (*_LABELLED, *_CODED)

    def recognise(self, table: Table) -> Layout | None:
        columns = list(table.frame.columns)
        labelled = all(find_column(columns, (c,)) for c in _LABELLED)
        coded = all(find_column(columns, (c,)) for c in _CODED)
        if not (labelled or coded):
            return None
        names = _LABELLED if labelled else _CODED
        geo, period, value = (find_column(columns, (c,)) for c in names)
        assert geo and period and value
        level_column = (
            find_column(columns, ("Niveau Géo", "Niveau geo")) if labelled
            else find_column(columns, ("GEO_OBJECT",)) or geo
        )  # fmt: skip
        if level_column is None:
            return None
        sample = table.frame.head(2000)
        levels = {self._level(v, level_column == geo) for v in sample[level_column]}
        known = sorted((lv for lv in levels if lv in LEVELS), key=lambda lv: LEVELS[lv].rank)
        if not known:
            return None
        frequency_column = find_column(columns, ("Fréquence", "FREQ"))
        kept = (geo, period, value, level_column)
        dims = [c for c in columns if c not in kept and fold(c.strip()) not in _NOT_DIMENSIONS]
        cube = slug(Path(table.path.name.split("!")[-1]).stem)
        status_column = find_column(columns, ("OBS_STATUS",))
        return Layout(
            connector=self.name,
            producer="INSEE",
            licence=OPEN_LICENCE,
            frequency=_frequency(sample[frequency_column].tolist()) if frequency_column else "",
            dataset=f"insee.melodi.{cube.lower()}",
            level=known[0],
            code_column=geo,
            columns=[ColumnSpec(value, "melodi", cube, "", additive=False)],
            empty=ValueStatus.SECRET if labelled else ValueStatus.MISSING,
            period_column=period,
            dim_columns=dims,
            labels={value: f"Melodi {cube}"},
            level_column=level_column,
            by_name=labelled,
            code_map=dict(COUNTRY_CODES) if coded else {},
            status_column=status_column,
            status_values=dict(STATUSES) if status_column else {},
        )

    @staticmethod
    def _level(value: object, in_code: bool) -> str | None:
        text = str(value).strip()
        if in_code:  # 2023-COM-91477
            parts = text.split("-")
            text = parts[1] if len(parts) == 3 else ""
        return level_from_label(text)


register_connector(MelodiConnector(), before="long.periodique")
