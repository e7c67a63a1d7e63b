"""The indicator engine on the real files: published figures where they exist, honest aggregates
(sums with coverage, ratios of sums) elsewhere, never an averaged median; on both engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.engine import compute_indicator
from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor
from observatoire.ingest.indicators import load_catalogue
from observatoire.ingest.pipeline import import_file
from observatoire.ingest.referential import build_into
from observatoire.observatory import Observatory
from observatoire.store import open_warehouse
from observatoire.store.computed import stale_indicators

from .conftest import COG_2026, DATA, IRIS_REFERENCE, needs_data, run

pytestmark = needs_data

FILES = [
    "filosofi/FILO2019_DISP_COM.csv",
    "filosofi/FILO2019_DISP_DEP.csv",
    "filosofi/FILO2019_DISP_REG.csv",
    "caf/data_CAF_2018_IRIS.csv",
    "census/base_cc_comparateur_csv_RP2018.zip",
]


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory, built_home: Path) -> Path:
    home = tmp_path_factory.mktemp("engine") / "obs"
    shutil.copytree(built_home, home)
    zoning = home.parent / "tas.csv"
    zoning.write_text(
        "code_commune;code_zone;nom_zone\n93066;N;Nord\n93001;N;Nord\n93005;E;Est\n93006;E;Est\n",
        encoding="utf-8",
    )
    with Observatory.open(home, write=True) as obs:
        for name in FILES:
            obs.import_file(DATA / name)
        obs.geography.import_zoning("tas", zoning, label="TAS (test)", valid_from="2025-01-01")
    return home


def test_communes_add_up_to_the_published_departement(computed: Path) -> None:
    """Summing the communes of a département reproduces INSEE's département figure where the
    commune file is complete; where it is not, the coverage says so."""
    with Observatory.open(computed) as obs:
        published = obs.indicator("menages_fiscaux", level="departement").set_index("code")
        summed = obs.indicator("menages_fiscaux", level="departement", published=False)
    summed = summed.set_index("code")
    complete = summed[summed.status == "ok"]
    assert len(complete) >= 10 and "93" in complete.index
    assert (complete.value == published.value[complete.index]).all()  # exactly
    partial = summed[summed.status == "partial"]
    assert len(partial) > 50
    assert (partial.coverage < 1).all() and (partial.note == "couverture partielle").all()
    # The missing households are those of the communes the coverage leaves out (small rural
    # ones, where households are smaller: the gap may exceed the population share a little).
    gap = 1 - partial.value / published.value[partial.index]
    assert (gap >= -1e-9).all() and (gap < 2 * (1 - partial.coverage) + 0.01).all(), gap.describe()


def test_medians_come_from_the_supra_file_never_from_communes(computed: Path) -> None:
    with Observatory.open(computed) as obs:
        departments = obs.indicator("niveau_vie_median", level="departement").set_index("code")
        forced = obs.indicator("niveau_vie_median", level="departement", published=False)
        zones = obs.indicator("niveau_vie_median", level="tas")
    import csv

    with (DATA / "filosofi" / "FILO2019_DISP_DEP.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["CODGEO"]: r for r in csv.DictReader(handle, delimiter=";")}
    assert departments.at["93", "value"] == float(rows["93"]["Q219"].replace(",", "."))
    assert (forced.status == "nd").all() and forced.note.str.contains("non agrégeable").all()
    assert (zones.status == "nd").all()  # a zone's median cannot be made from its communes


def test_ratio_of_sums_over_iris_with_coverage(computed: Path) -> None:
    with Observatory.open(computed) as obs:
        rate = obs.indicator("part_allocataires_rsa", level="commune", within="93")
        rate = rate.set_index("code")
        rsa = obs.values("caf.ARSAS", level="iris", within="commune:93066").set_index("code")
        households = obs.values("caf.A", level="iris", within="commune:93066").set_index("code")
        iris = obs.geography.territories(level="iris", within="commune:93066")
    both = rsa.join(households, suffixes=("", "_a"))
    both = both[(both.status == "ok") & (both.status_a == "ok")]
    expected = both.value.sum() / both.value_a.sum() * 100
    assert rate.at["93066", "value"] == pytest.approx(expected)
    # Coverage: the IRIS of Saint-Denis without values are not hidden.
    assert 0 < rate.at["93066", "coverage"] <= 1
    if len(both) < len(iris):
        assert rate.at["93066", "status"] in ("partial", "nd")
    assert set(rate.status) <= {"ok", "partial", "nd"}


def test_custom_zoning_sums_its_communes(computed: Path) -> None:
    with Observatory.open(computed) as obs:
        zones = obs.indicator("menages_fiscaux", level="tas").set_index("code")
        communes = obs.indicator("menages_fiscaux", level="commune", within="93").set_index("code")
    assert zones.at["N", "value"] == communes.value[["93066", "93001"]].sum()
    assert zones.at["E", "value"] == communes.value[["93005", "93006"]].sum()
    assert (zones.status == "ok").all() and (zones.coverage == 1).all()


def test_zero_denominator_is_undefined_and_secret_stays_secret(
    computed: Path, tmp_path: Path
) -> None:
    descriptor = tmp_path / "c2s.toml"
    descriptor.write_text(
        """
[dataset]
id = "cpam.c2s"
producer = "CPAM (test)"
[geography]
level = "commune"
code_column = "Commune"
[period]
value = "2024"
[markers]
secret = ["<5"]
[[variables]]
column = "Assurés"
code = "ASSURES"
[[variables]]
column = "C2S"
code = "C2S"
total = "Assurés"
""",
        encoding="utf-8",
    )
    data = tmp_path / "c2s.csv"
    data.write_text(
        "Commune;Assurés;C2S\n93066;1000;150\n93001;0;0\n93005;800;<5\n93006;500;50\n",
        encoding="utf-8",
    )
    indicators = tmp_path / "obs" / "indicateurs"
    home = tmp_path / "obs"
    shutil.copytree(computed, home)
    indicators.mkdir()
    (indicators / "c2s.yaml").write_text(
        """
theme: sante
indicators:
  - id: part_c2s
    label: Part des assurés bénéficiaires de la C2S
    unit: "%"
    formula: {numerator: cpam.C2S, denominator: cpam.ASSURES, multiplier: 100}
    definition: Test.
    sources: [CPAM]
""",
        encoding="utf-8",
    )
    with Observatory.open(home, write=True) as obs:
        obs.import_file(data, connector=DescriptorConnector(load_descriptor(descriptor)))
        rate = obs.indicator("part_c2s", level="commune", within="93").set_index("code")
        zones = obs.indicator("part_c2s", level="tas").set_index("code")
        communes = obs.geography.territories(level="commune", within="93")
        population = communes.set_index("code").population
    assert rate.at["93066", "value"] == pytest.approx(15.0)
    assert rate.at["93001", "status"] == "undefined" and np.isnan(rate.at["93001", "value"])
    assert rate.at["93005", "status"] == "secret" and np.isnan(rate.at["93005", "value"])
    # Zone E: Aulnay's numerator is secret; the ratio covers Bagnolet only: 500 of the 1,300
    # insured, and Bagnolet's share of the zone's population, whichever is smaller.
    people = population["93006"] / (population["93005"] + population["93006"])
    assert zones.at["E", "coverage"] == pytest.approx(min(500 / 1300, people), abs=1e-6)
    assert zones.at["E", "status"] == "nd" and np.isnan(zones.at["E", "value"])
    assert zones.at["N", "value"] == pytest.approx(15.0)  # 150 / (1000 + 0)


def test_cli_values_of_an_indicator(computed: Path) -> None:
    code, out = run(
        "values", "part_allocataires_rsa", "--within", "93", "--format", "csv", home=computed
    )
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out), dtype={"code": str})
    assert list(frame.columns) == [
        "code", "name", "period", "value", "status", "coverage", "ci_low", "ci_high", "note",
        "methode", "variables", "sources",
    ]  # fmt: skip
    assert len(frame) == 39
    valued = frame[frame.value.notna()]  # where a value is given, where it comes from
    assert len(valued) >= 30 and valued.methode.str.startswith("rapport des sommes sur ").all()
    assert valued.variables.eq("caf.ARSAS / caf.A").all()
    assert valued.sources.str.contains("data_CAF_2018_IRIS.csv").all()
    code, out = run("values", "taux_pauvrete", "--level", "departement", home=computed)
    assert code == 0 and "non agrégeable" in out


def test_same_figures_on_both_engines(warehouse_location: tuple[str, str]) -> None:
    """The engine's SQL (compiled by Ibis) gives the same figures on DuckDB and PostgreSQL."""
    backend, location = warehouse_location
    catalogue = load_catalogue()
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        for name in ("filosofi/FILO2019_DISP_COM.csv", "filosofi/FILO2019_DISP_DEP.csv"):
            import_file(wh, DATA / name)
        summed = compute_indicator(
            wh, catalogue, "menages_fiscaux", level="departement", published=False
        ).set_index("code")
        published = compute_indicator(wh, catalogue, "menages_fiscaux", level="departement")
        median = compute_indicator(wh, catalogue, "niveau_vie_median", level="region")
    published = published.set_index("code")
    assert summed.at["93", "status"] == "ok"
    assert summed.at["93", "value"] == published.at["93", "value"] == 600_389
    assert (median.status == "nd").all()  # no regional file imported: never averaged


def test_intervals_comparison_and_ranks(computed: Path) -> None:
    from observatoire.catalog.intervals import wilson

    with Observatory.open(computed) as obs:
        compared = obs.compare(
            "taux_chomage_15_64", level="commune", reference="departement", within="93"
        ).set_index("code")
        unemployed = obs.values("rp.CHOM1564", within="93", period="2018").set_index("code")
        active = obs.values("rp.ACT1564", within="93", period="2018").set_index("code")
        everyone = obs.indicator("taux_chomage_15_64", level="commune")
    row = compared.loc["93066"]
    low, high = wilson(
        np.array([unemployed.at["93066", "value"]]), np.array([active.at["93066", "value"]])
    )
    assert row.ci_low == pytest.approx(low[0] * 100) and row.ci_high == pytest.approx(high[0] * 100)
    assert row.ci_low < row.value < row.ci_high
    assert row.reference_code == "93" and row.reference_name == "Seine-Saint-Denis"
    assert row.gap == pytest.approx(row.value - row.reference_value)
    outside = (compared.reference_value < compared.ci_low) | (
        compared.reference_value > compared.ci_high
    )
    assert (compared.significant.astype(bool) == outside).all()
    # Unemployment: lower is better.
    worse = compared[(compared.significant == True) & (compared.gap > 0)]  # noqa: E712
    assert len(worse) > 0 and (worse.assessment == "moins favorable").all()
    # Rank among all communes of France: 1 is the highest rate.
    best = everyone[everyone.status == "ok"].value.max()
    assert (compared["rank"] >= 1).all() and compared["percentile"].between(0, 100).all()
    assert row["rank"] == (everyone[everyone.status == "ok"].value > row.value).sum() + 1
    assert best >= compared.value.max()


def test_evolution_between_censuses(computed: Path) -> None:
    with Observatory.open(computed) as obs:
        change = obs.evolution(
            "population", start="2013", end="2018", level="commune", within="93"
        ).set_index("code")
        population = obs.indicator("population", level="commune", within="93")
    by_period = population.pivot(index="code", columns="period", values="value")
    start, end = by_period.at["93066", "2013"], by_period.at["93066", "2018"]
    row = change.loc["93066"]
    assert row.absolute == end - start
    assert row.relative == pytest.approx((end / start - 1) * 100)
    assert row.tcam == pytest.approx(((end / start) ** (1 / 5) - 1) * 100)
    assert row.status == "ok" and row.unit == "habitants"
    code, out = run(
        "evolution", "population", "--from", "2013", "--to", "2018", "--within", "93",
        "--format", "csv", home=computed,
    )  # fmt: skip
    assert code == 0 and "tcam" in out.splitlines()[0]


def test_stored_indicators_stay_consistent_with_the_data(computed: Path, tmp_path: Path) -> None:
    """compute stores; an import marks what it makes stale, which is read as it was until
    compute redoes only that, at once; a rollback removes what it makes wrong."""
    home = tmp_path / "obs"
    shutil.copytree(computed, home)
    chosen = ["menages_fiscaux", "part_allocataires_rsa"]
    with Observatory.open(home, write=True) as obs:
        first = obs.compute(indicators=chosen, levels=["commune", "departement", "tas"])
        # with the counts whose statistical secret the RSA share follows
        sources = {"allocataires_rsa", "allocataires_caf"}
        assert set(first) == {*chosen, *sources} and all(n > 0 for n in first.values())
        assert obs.compute(indicators=chosen, levels=["commune", "departement", "tas"]) == {}
        stored = obs.indicator("menages_fiscaux", level="tas").set_index("code")
        fresh = compute_indicator(
            obs.warehouse, obs.catalogue(), "menages_fiscaux", level="tas"
        ).set_index("code")
        assert stored.value.to_dict() == fresh.value.to_dict()
        profile = obs.profile("93066")
        assert {"menages_fiscaux", "part_allocataires_rsa"} <= set(profile.indicator)
        assert profile.set_index("indicator").at["menages_fiscaux", "value"] == 51_132
        # A new edition of the commune Filosofi file: households are stale, RSA is not.
        edited = tmp_path / "FILO2019_DISP_COM.csv"
        text = (DATA / "filosofi" / "FILO2019_DISP_COM.csv").read_text(encoding="utf-8-sig")
        edited.write_text(text.replace("\n93066;", "\n93066;", 1) + "\n", encoding="utf-8")
        report = obs.import_file(edited)
        # no gap: the values in force are read until compute replaces them, at once
        kept = set(obs.warehouse.query("SELECT DISTINCT indicator FROM indicator_result").indicator)
        assert kept == {*chosen, *sources}
        assert stale_indicators(obs.warehouse) == {"menages_fiscaux"}
        assert obs.profile("93066").set_index("indicator").at["menages_fiscaux", "value"] == (
            51_132
        )
        redone = obs.compute(indicators=chosen, levels=["commune", "departement", "tas"])
        assert set(redone) == {"menages_fiscaux"}  # only what the import made stale
        assert stale_indicators(obs.warehouse) == set()
        assert obs.compute(indicators=chosen, levels=["commune", "departement", "tas"]) == {}
        obs.rollback(report.batch)
        kept = set(obs.warehouse.query("SELECT DISTINCT indicator FROM indicator_result").indicator)
        assert kept == {"part_allocataires_rsa", *sources}
    code, out = run("compute", "--indicator", "menages_fiscaux", "--level", "tas", home=home)
    assert code == 0 and "1 indicateur(s) calculé(s)" in out
    code, out = run("profile", "departement:93", "--format", "csv", home=home)
    assert code == 0 and "part_allocataires_rsa" in out


def test_batched_compute_equals_indicator_by_indicator(
    warehouse_location: tuple[str, str], tmp_path: Path
) -> None:
    """``compute`` works level by level, every indicator at once, in the database; each row it
    stores is the row :func:`compute_indicator` gives, for every way of computing (published
    counts and ratios, sums of members, ratios of sums with every member known or paired
    member by member, sums of variables, differences, several vintages read at several
    levels, published values of other boundaries), on both engines."""
    from observatoire.engine.batch import plan_level
    from observatoire.engine.materialise import compute_all
    from observatoire.engine.parts import stored_levels
    from observatoire.engine.rollup import ROLL_UP, nests
    from observatoire.ingest.cog import import_cog
    from observatoire.ingest.iris import import_iris
    from observatoire.ingest.zoning import import_zoning

    backend, location = warehouse_location
    catalogue = load_catalogue()
    levels = ["commune", "departement", "epci", "region", "pays", "tas"]
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_cog(wh, COG_2026)
        import_iris(wh, IRIS_REFERENCE)
        for name in ("filosofi/FILO2019_DISP_COM.csv", "filosofi/FILO2019_DISP_DEP.csv",
                     "filosofi/FILO2016_DISP_COM.csv", "filosofi/FILO2019_DISP_EPCI.csv",
                     "caf/data_CAF_2018_IRIS.csv",
                     "census/base_cc_comparateur_csv_RP2018.zip"):  # fmt: skip
            import_file(wh, DATA / name)
        zoning = tmp_path / "tas.csv"
        zoning.write_text(TAS, encoding="utf-8")
        import_zoning(wh, name="tas", path=zoning, label="TAS (test)", valid_from="2025-01-01")
        computable = {i.id for i in catalogue.computable(set(_variables(wh)))}
        counts = compute_all(wh, catalogue, levels=levels[1:])
        assert set(counts) == computable and sum(counts.values()) > 5_000
        stored = stored_levels(wh)
        # communes: a few of each way (every commune of France is long to store on PostgreSQL)
        plan = plan_level(catalogue, sorted(computable), "commune", stored)
        few = {i for rows in (*plan.counts.values(), *plan.ratios.values()) for i, *_ in rows[:3]}
        few |= {p for i in plan.combined for p in (i, *catalogue.get(i).formula.indicators)}
        compute_all(wh, catalogue, levels=["commune"], indicators=sorted(few))
        ways: dict[str, set[str]] = {}
        for level in levels:
            done = wh.query("SELECT DISTINCT indicator FROM indicator_result WHERE level = ?",
                            [level]).indicator  # fmt: skip
            plan = plan_level(catalogue, sorted(set(done)), level, stored)
            for source, rows in plan.counts.items():
                key = "published count" if source == level else "sum of members"
                ways.setdefault(key, set()).update(f"{level}:{r[0]}" for r in rows)
            for source, ratios in plan.ratios.items():
                key = "published ratio" if source == level else "ratio of sums"
                ways.setdefault(key, set()).update(f"{level}:{r[0]}" for r in ratios)
            ways.setdefault("combined", set()).update(f"{level}:{i}" for i in plan.combined)
            ways.setdefault("one by one", set()).update(f"{level}:{i}" for i in plan.one_by_one)
            ways.setdefault("several levels", set()).update(f"{level}:{i}" for i in plan.several)
        perimeter = wh.query("SELECT DISTINCT level, indicator FROM indicator_result "
                             "WHERE status = 'perimetre'")  # fmt: skip
        ways["other boundaries"] = {
            f"{lvl}:{i}" for lvl, i in zip(perimeter.level, perimeter.indicator, strict=True)
        }
        ways["other boundaries"] |= {"epci:menages_fiscaux"}  # summed where they are
        assert all(ways.values()), {k: len(v) for k, v in ways.items()}
        # a few of each way, ratios of sums all (some with members knowing one side only)
        chosen = sorted({x for key, v in ways.items()
                         for x in sorted(v)[: 12 if key == "ratio of sums" else 3]})  # fmt: skip
        # régions and France add up the sums of their départements and régions (kept by the
        # same compute): every member of each in exactly one part
        with wh.transaction() as tx:
            assert nests(tx, "commune", "departement", "region")
            assert nests(tx, "commune", "region", "pays")
            assert not nests(tx, "commune", "epci", "departement")
        chosen += sorted({x for key in ("sum of members", "ratio of sums")
                          for lvl in ROLL_UP for x in sorted(
                              i for i in ways[key] if i.startswith(f"{lvl}:"))[:6]})  # fmt: skip
        for item in chosen:
            level, ident = item.split(":")
            fresh = compute_indicator(wh, catalogue, ident, level=level)
            fresh = fresh[fresh.period.notna()].drop(columns=["name"])
            mine = wh.query(
                "SELECT * FROM indicator_result WHERE indicator = ? AND level = ?", [ident, level]
            )[fresh.columns]
            fresh, mine = (
                f.sort_values(["code", "period"])
                .reset_index(drop=True)
                .astype({c: float for c in ("value", "coverage", "ci_low", "ci_high")})
                for f in (fresh, mine)
            )
            for frame in (fresh, mine):
                frame["note"] = frame.note.astype(object).where(frame.note.notna(), None)
            pd.testing.assert_frame_equal(mine, fresh, check_dtype=False, rtol=1e-9, obj=item)


TAS = "code_commune;code_zone;nom_zone\n93066;N;Nord\n93001;N;Nord\n93005;E;Est\n94028;E;Est\n"


def _variables(wh: object) -> list[str]:
    return list(wh.query("SELECT DISTINCT variable FROM series").variable)  # type: ignore[attr-defined]


def test_readers_never_see_a_gap_while_compute_runs(
    warehouse_location: tuple[str, str], tmp_path: Path
) -> None:
    """An import keeps the values in force readable (marked stale); ``compute`` replaces them
    in one transaction with their secret: a reader polling during the whole recomputation
    always finds every value, the old ones then the new ones, never a missing or half-written
    level, and the data version changes once (the defect fixed: an import deleted them, and
    until compute ended readers got « valeurs non calculées »). On both engines; the reader
    has its own connection."""
    import threading

    from observatoire.engine.materialise import compute_all

    backend, location = warehouse_location
    catalogue = load_catalogue()
    chosen = ["menages_fiscaux", "niveau_vie_median"]
    count = ("SELECT COUNT(*) AS n FROM indicator_result WHERE indicator = 'menages_fiscaux' "
             "AND level IN ('commune', 'departement')")  # fmt: skip
    edited = tmp_path / "FILO2019_DISP_COM.csv"
    text = (DATA / "filosofi" / "FILO2019_DISP_COM.csv").read_text(encoding="utf-8-sig")
    edited.write_text(text.replace("\n93066;Saint-Denis;", "\n93066;Saint-Denis;", 1) + "\n",
                      encoding="utf-8")  # fmt: skip
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_file(wh, DATA / "filosofi" / "FILO2019_DISP_COM.csv")
        compute_all(wh, catalogue, indicators=chosen, levels=["commune", "departement"])
        full = int(wh.query(count).n.iloc[0])
        assert full > 30_000
        import_file(wh, edited)  # a new edition: the households are stale, still readable
        assert int(wh.query(count).n.iloc[0]) == full
        reader = wh if backend == "duckdb" else open_warehouse(backend, location)
        seen: list[tuple[int, str]] = []
        stop = threading.Event()

        def poll() -> None:  # the DuckDB reader thread reads through a cursor of its own
            while not stop.is_set():
                seen.append((int(reader.query(count).n.iloc[0]), reader.data_version()))

        thread = threading.Thread(target=poll)
        thread.start()
        try:
            compute_all(wh, catalogue, indicators=chosen, levels=["commune", "departement"],
                        force=True)  # fmt: skip
        finally:
            stop.set()
            thread.join()
            if reader is not wh:
                reader.close()
        assert len(seen) > 3
        assert {n for n, _ in seen} == {full}, sorted({n for n, _ in seen})
        assert len({v for _, v in seen}) <= 2  # before, then after: one switch
        assert stale_indicators(wh) == set()


def test_an_empty_level_does_not_lose_the_next_one(census_home: Path, tmp_path: Path) -> None:
    """DuckDB 1.5.6 loses the rows inserted after an INSERT … SELECT that inserts none, in
    the same transaction. ``compute`` writes every level in one transaction: a level with
    nothing to store (the IRIS of a home holding census values by commune only, whose
    differences of indicators give no row) must not empty the next (found by the CSV tests:
    every commune value gone, then duplicated)."""
    from observatoire.engine.batch import compute_level, plan_level
    from observatoire.engine.parts import stored_levels

    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    with Observatory.open(home, write=True) as obs:
        wh, catalogue = obs.warehouse, obs.catalogue()
        expected = wh.count("indicator_result", "level = 'commune'")
        assert expected > 1_000_000
        stored = stored_levels(wh)
        todo = [i.id for i in catalogue.computable(set(stored))]
        iris = plan_level(catalogue, todo, "iris", stored)
        assert not iris.sources and iris.combined  # nothing read, differences attempted
        with wh.transaction() as tx:
            tx.execute("DELETE FROM indicator_value")
            tx.execute("DELETE FROM indicator_link")
            compute_level(tx, wh, catalogue, iris, stamp="t", stored=stored)
            compute_level(tx, wh, catalogue, plan_level(catalogue, todo, "commune", stored),
                          stamp="t", stored=stored)  # fmt: skip
        assert wh.count("indicator_result", "level = 'commune'") == expected
