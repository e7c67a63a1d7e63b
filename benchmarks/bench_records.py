"""Benchmark: the completeness cube of a million operators' records.

Target (issue 7): one million records → the full completeness cube in ≤ 10 s on the project's
machine. The cube is built by the import itself (each record read against the collection's
schema, then counted by operator, commune and month), so the time measured is the import of a
one-million-record extract of the demo collection (17 columns, French dates, "unknown"
markers, pseudonymised household ids); then the time to read the full cube back grouped by
operator × commune × month × field, and by operator × quarter with scores.

Baseline, measured in the same run: pandas reading the same file as text (the least any import
must do). Prints times and ratios.

    python benchmarks/bench_records.py [RECORDS]   (default 1 000 000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from observatoire.demo.records import COLLECTION, COLLECTION_YAML, OPERATORS, synthetic_records
from observatoire.observatory import Observatory
from observatoire.store.records import completeness_table, read_cube

TARGET_SECONDS = 10.0


def main() -> None:
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "obs"
        obs, _ = Observatory.init(home)
        with obs:
            obs.geography.build_referential()
            communes = obs.geography.territories(level="commune", within="93").code.tolist()
        (home / "collections").mkdir()
        (home / "collections" / f"{COLLECTION}.yaml").write_text(COLLECTION_YAML, "utf-8")
        per_run = sum(op.volume for op in OPERATORS) * 18
        records = synthetic_records(communes, scale=1.02 * wanted / per_run)
        extract = Path(tmp) / "extraction.csv"
        records.to_csv(extract, sep=";", index=False)
        size = extract.stat().st_size / 1e6
        print(f"extract: {len(records):,} records, {size:.0f} MB".replace(",", " "))
        del records

        start = time.perf_counter()
        pd.read_csv(extract, sep=";", dtype=str, keep_default_na=False)
        baseline = time.perf_counter() - start

        with Observatory.open(home, write=True) as obs:
            start = time.perf_counter()
            report = obs.records.import_file(extract, COLLECTION)
            cube_time = time.perf_counter() - start
            start = time.perf_counter()
            schema = obs.records.collection(COLLECTION)
            cube = read_cube(obs.warehouse, COLLECTION, level="commune")
            fields = completeness_table(cube, schema, ["operator", "territory", "month", "field"])
            scores = completeness_table(cube, schema, ["operator", "quarter"])
            read_time = time.perf_counter() - start
        print(f"baseline (pandas reads the file as text): {baseline:6.2f} s")
        verdict = "met" if cube_time <= TARGET_SECONDS else "NOT met"
        print(
            f"import → full cube: {cube_time:6.2f} s  ({report.records_kept:,} records, "
            f"score {report.score} %)  ratio {cube_time / baseline:4.1f}×  "
            f"target ≤ {TARGET_SECONDS:.0f} s: {verdict}"
        )
        print(
            f"cube read back: {read_time:6.2f} s  ({len(fields):,} rows by operator × commune × "
            f"month × field, {len(scores)} operator-quarter scores)  ratio "
            f"{read_time / baseline:4.2f}×"
        )


if __name__ == "__main__":
    main()
