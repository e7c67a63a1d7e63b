"""Benchmark: ``compute`` on real national files, against DuckDB alone reading them.

Every file of ../shared/data the importers take (Filosofi communes 2016, 2019, 2021 and IRIS
2021, the official EPCI, département, région and France files of 2019, CNAF by IRIS 2016 and
2018, the census comparator), plus the vintages 2014, 2018 and 2020 built from the real files
(tests/vintages.py), imported into a home made by ``init`` (real referential, shipped COG).

Measured in the same run:

- ``compute`` of every indicator they feed, at every level and zoning, with the secret: time
  and the peak memory of the process (DuckDB runs in it);
- the baseline: DuckDB alone reading the same files (``read_csv``) and summing every numeric
  column by département — the least work that reads and aggregates the data;
- after a new version of a zoning, then after a new edition of one file: ``compute`` again.

Targets (issue 19): ``compute`` ≤ 20 s and ≤ 2 GB, within 5× of the baseline; a recompute
after a zoning version or one re-import ≤ 5 s.

    python benchmarks/bench_national.py
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.vintages: the vintages built from the real files

from tests.vintages import vintage  # noqa: E402

from observatoire.observatory import Observatory  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FILES = [
    "filosofi/FILO2016_DISP_COM.csv",
    "filosofi/FILO2019_DISP_COM.csv",
    "filosofi/cc_filosofi_2021_COM.csv",
    "filosofi/BASE_TD_FILO_IRIS_2021_DISP.csv",
    "filosofi/FILO2019_DISP_EPCI.csv",
    "filosofi/FILO2019_DISP_DEP.csv",
    "filosofi/FILO2019_DISP_REG.csv",
    "filosofi/FILO2019_DISP_METROPOLE.csv",
    "caf/data_CAF_2016_IRIS.csv",
    "caf/data_CAF_2018_IRIS.csv",
    "census/base_cc_comparateur_csv_RP2018.zip",
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def built_vintages(folder: Path) -> list[Path]:
    filosofi = DATA / "filosofi"
    return [
        vintage(filosofi / "FILO2016_DISP_COM.csv", folder / "FILO2014_DISP_COM.csv", "16", "14"),
        vintage(filosofi / "FILO2019_DISP_COM.csv", folder / "FILO2018_DISP_COM.csv", "19", "18"),
        vintage(filosofi / "cc_filosofi_2021_COM.csv", folder / "cc_filosofi_2020_COM.csv", "21",
                "20"),
    ]  # fmt: skip


def baseline(paths: list[Path], folder: Path) -> float:
    """DuckDB alone: read every file and sum its numeric columns by département."""
    started = time.perf_counter()
    con = duckdb.connect()
    for path in paths:
        if path.suffix == ".zip":
            import zipfile

            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.lower().startswith("base_cc"))
                path = Path(archive.extract(name, folder))
        rows = con.read_csv(str(path), sep=";", all_varchar=True, header=True)
        columns = rows.columns
        code = columns[0]
        numbers = [
            f'SUM(TRY_CAST(REPLACE("{c}", \',\', \'.\') AS DOUBLE))'
            for c in columns[1:]
            if c not in ("LIBGEO", "LIBCOM", "DEPCOM", "EPCI", "REG", "UU", "LIBIRIS")
        ]
        con.sql(
            f'SELECT LEFT("{code}", 2) AS dep, {", ".join(numbers)} FROM rows GROUP BY dep'
        ).fetchall()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        paths = [DATA / f for f in FILES] + built_vintages(folder)
        reading = baseline(paths, folder)
        obs, _ = Observatory.init(folder / "obs", name="Bench national")
        with obs:
            obs.geography.build_referential()
            started = time.perf_counter()
            for path in paths:
                obs.import_file(path)
            imported = time.perf_counter() - started
            values = obs.warehouse.count("series_value")
            zoning = folder / "zones.csv"
            communes = obs.geography.territories(level="commune")
            zone = communes.code.str[:2] + "-" + communes.code.str[-1:]
            pd.DataFrame({"code_commune": communes.code, "code_zone": zone}).to_csv(
                zoning, sep=";", index=False
            )
            obs.geography.import_zoning("zones", zoning, valid_from="2025-01-01")
            before = peak_mb()
            started = time.perf_counter()
            counts = obs.compute()
            computed = time.perf_counter() - started
            memory = peak_mb()
            # a new version of the zoning, then a new edition of one file
            shifted = communes.code.str[:2] + "-" + communes.code.str[-2:-1]
            pd.DataFrame({"code_commune": communes.code, "code_zone": shifted}).to_csv(
                zoning, sep=";", index=False
            )
            obs.geography.import_zoning("zones", zoning, valid_from="2026-01-01")
            started = time.perf_counter()
            obs.compute()
            after_zoning = time.perf_counter() - started
            edition = folder / "FILO2019_DISP_COM.csv"
            text = (DATA / "filosofi/FILO2019_DISP_COM.csv").read_text(encoding="utf-8-sig")
            edition.write_text(text + "\n", encoding="utf-8")
            obs.import_file(edition)
            started = time.perf_counter()
            obs.compute()
            after_import = time.perf_counter() - started
    rows = sum(counts.values())
    print(f"files: {len(paths)} ({values:,} values stored by the imports in {imported:.1f} s)")
    print(f"compute: {len(counts)} indicators, {rows:,} values in {computed:.1f} s "
          f"(target ≤ 20 s: {computed / 20:.2f}× the target)")  # fmt: skip
    print(f"peak memory: {memory:,.0f} MB (before compute {before:,.0f} MB; target ≤ 2,048 MB)")
    print(f"DuckDB alone reading and grouping the same files: {reading:.1f} s; "
          f"compute / baseline = {computed / reading:.1f}× (target ≤ 5×)")  # fmt: skip
    print(f"recompute after a zoning version: {after_zoning:.1f} s (target ≤ 5 s)")
    print(f"recompute after a new edition of one file: {after_import:.1f} s (target ≤ 5 s)")


if __name__ == "__main__":
    main()
