"""Benchmark: importing the national commune Filosofi file and the CNAF IRIS file.

Targets (issue 3): each imports in ≤ 3 s on the project's machine. The baseline, measured in the
same run, is the least any import must do: pandas reading the same file as text. Prints the
import time, the ratio to the baseline, and the peak memory (tracemalloc) of each import.

    python benchmarks/bench_imports.py [DATA_DIR]   (default ../shared/data)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from observatoire.observatory import Observatory

FILES = ("filosofi/FILO2019_DISP_COM.csv", "caf/data_CAF_2018_IRIS.csv")
TARGET_SECONDS = 3.0


def baseline(path: Path) -> float:
    start = time.perf_counter()
    pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return time.perf_counter() - start


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "shared" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        obs, _ = Observatory.init(home)
        with obs:
            obs.build_referential()
        for name in FILES:
            path = data / name
            base = baseline(path)
            copy = Path(tmp) / f"copy-{path.name}"
            shutil.copytree(home, copy)
            with Observatory.open(copy, write=True) as writable:
                start = time.perf_counter()
                report = writable.import_file(path)
                seconds = time.perf_counter() - start
                # Memory in a second, dry run: tracemalloc slows the code it watches.
                tracemalloc.start()
                writable.import_file(path, dry_run=True)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            verdict = "ok" if seconds <= TARGET_SECONDS else "OVER TARGET"
            print(
                f"{path.name}: {report.values_stored} values in {seconds:.2f} s "
                f"(target ≤ {TARGET_SECONDS:.0f} s: {verdict}); baseline read {base:.2f} s, "
                f"ratio {seconds / base:.1f}x; peak traced memory {peak / 1e6:.0f} MB"
            )


if __name__ == "__main__":
    main()
