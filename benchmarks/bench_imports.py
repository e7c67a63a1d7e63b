"""Benchmark: importing the national commune Filosofi file and the CNAF IRIS file; memory on a
file ten times larger.

Targets (issue 3): each national file imports in ≤ 3 s on the project's machine; the memory an
import takes stays bounded when the file is ten times larger. Baselines, measured in the same
run: for time, pandas reading the same file as text (the least any import must do); for memory,
the same import of a file ten times smaller. Prints times, ratios and peak memory.

    python benchmarks/bench_imports.py [DATA_DIR]   (default ../shared/data)
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from observatoire.observatory import Observatory

FILES = ("filosofi/FILO2019_DISP_COM.csv", "caf/data_CAF_2018_IRIS.csv")
TARGET_SECONDS = 3.0

# Runs in a child process: the peak of the memory allocated by one import (dry run), as traced
# by tracemalloc (Python objects, numpy and pandas buffers).
_MEMORY_PROBE = """
import json, sys, tracemalloc
from observatoire.observatory import Observatory
with Observatory.open(sys.argv[1]) as obs:
    tracemalloc.start()
    report = obs.import_file(sys.argv[2], dry_run=True)
    _, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak_kb": peak / 1024, "rows": report.rows_read}))
"""


def baseline(path: Path) -> float:
    start = time.perf_counter()
    pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return time.perf_counter() - start


def jobseekers_file(path: Path, communes: list[str], quarters: int) -> int:
    """A synthetic France Travail-shaped long file over every commune (values random)."""
    rng = random.Random(quarters)
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("Période;Code commune;Catégorie;Sexe;Nombre\n")
        for q in range(quarters):
            period = f"{2015 + q // 4}-T{q % 4 + 1}"
            for code in communes:
                for category in ("A", "ABC"):
                    for sex in ("F", "H"):
                        n = rng.randint(0, 400)
                        out.write(f"{period};{code};{category};{sex};{n if n >= 5 else ''}\n")
                        rows += 1
    return rows


def memory(home: Path, path: Path) -> tuple[float, int]:
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(home), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    return probe["peak_kb"] / 1024, probe["rows"]


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "shared" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        obs, _ = Observatory.init(home)
        with obs:
            obs.geography.build_referential()
            obs.geography.import_cog(data / "cog" / "2026")
            communes = obs.geography.territories(level="commune").code.tolist()
        for name in FILES:
            path = data / name
            base = baseline(path)
            copy = Path(tmp) / f"copy-{path.name}"
            shutil.copytree(home, copy)
            with Observatory.open(copy, write=True) as writable:
                start = time.perf_counter()
                report = writable.import_file(path)
                seconds = time.perf_counter() - start
            verdict = "ok" if seconds <= TARGET_SECONDS else "OVER TARGET"
            print(
                f"{path.name}: {report.values_stored} values in {seconds:.2f} s "
                f"(target ≤ {TARGET_SECONDS:.0f} s: {verdict}); baseline read {base:.2f} s, "
                f"ratio {seconds / base:.1f}x"
            )
        small, large = Path(tmp) / "DEFM_small.csv", Path(tmp) / "DEFM_large.csv"
        jobseekers_file(small, communes, quarters=1)
        jobseekers_file(large, communes, quarters=10)
        small_mb, small_rows = memory(home, small)
        large_mb, large_rows = memory(home, large)
        ratio = large_mb / small_mb if small_mb else float("inf")
        print(
            f"memory: {small_rows} rows ({small.stat().st_size / 1e6:.0f} MB) peak +{small_mb:.0f} "
            f"MB; {large_rows} rows ({large.stat().st_size / 1e6:.0f} MB) peak +{large_mb:.0f} MB;"
            f" ratio {ratio:.1f}x for a file 10x larger (bounded: well under 10x)"
        )


if __name__ == "__main__":
    main()
