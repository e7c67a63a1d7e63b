"""Statistical secret: primary and secondary suppression attacked by linear programming, on
random hierarchical tables (property test) and on the real état civil counts of every commune
of France; audiences and their views through the observatory and the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.engine.secrecy import count_table, relations
from observatoire.errors import AccessError, InputError
from observatoire.observatory import Observatory
from observatoire.secret.attack import feasible_intervals, is_protected
from observatoire.secret.policy import MEMBER, PUBLIC
from observatoire.secret.rules import Audience, SecretRule
from observatoire.secret.suppression import suppress
from observatoire.secret.tables import CellTable
from observatoire.store.computed import stale_indicators

from .conftest import DATA, needs_data, run


# -- random tables ------------------------------------------------------------------------------
@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Communes in départements in régions in France; EPCIs that may straddle two
    départements; a zoning of some communes, one of them split between two zones."""
    n_regions = draw(st.integers(1, 2))
    links = []
    communes: list[tuple[str, str]] = []  # (commune, departement)
    for r in range(n_regions):
        for d in range(draw(st.integers(1, 3))):
            dep = f"D{r}{d}"
            links.append(("region", f"R{r}", "departement", dep, 1.0))
            for c in range(draw(st.integers(2, 7))):
                communes.append((f"C{r}{d}{c}", dep))
        links.append(("pays", "FR", "region", f"R{r}", 1.0))
    values = draw(
        st.lists(
            st.one_of(st.integers(0, 4), st.integers(5, 60)),
            min_size=len(communes), max_size=len(communes),
        )
    )  # fmt: skip
    epci_of = draw(
        st.lists(st.integers(0, max(1, len(communes) // 3)), min_size=len(communes),
                 max_size=len(communes))
    )  # fmt: skip
    zone_of = draw(
        st.lists(st.sampled_from(["Z1", "Z2", "Z3", None]), min_size=len(communes),
                 max_size=len(communes))
    )  # fmt: skip
    split = draw(st.integers(0, len(communes) - 1))
    for (commune, dep), epci, zone in zip(communes, epci_of, zone_of, strict=True):
        links.append(("departement", dep, "commune", commune, 1.0))
        links.append(("epci", f"E{epci}", "commune", commune, 1.0))
        if zone is not None:
            weight = 0.5 if commune == communes[split][0] else 1.0
            links.append(("zones", zone, "commune", commune, weight))
            if weight < 1:
                links.append(("zones", "Z9", "commune", commune, 0.5))
    cells = pd.DataFrame({"level": "commune", "code": [c for c, _ in communes],
                          "value": np.array(values, dtype=float)})  # fmt: skip
    frame = pd.DataFrame(links, columns=["level", "code", "part_level", "part_code", "weight"])
    for level in ("departement", "epci", "zones", "region", "pays"):  # totals, finest first
        mine = frame[frame.level == level]
        known = cells.set_index(["level", "code"]).value
        parts = known.reindex(pd.MultiIndex.from_arrays([mine.part_level, mine.part_code]))
        sums = parts.to_numpy() * mine.weight.to_numpy()
        totals = pd.Series(sums).groupby(mine.code.to_numpy()).sum()
        cells = pd.concat(
            [cells, pd.DataFrame({"level": level, "code": totals.index, "value": totals.values})]
        )
    return cells.assign(status="ok").reset_index(drop=True), frame


def _exposed(table: CellTable, masked: np.ndarray, cells: np.ndarray, level: float) -> list:
    intervals = feasible_intervals(table, masked, cells)
    return [c for c in cells if not is_protected(table.values[c], intervals[c], level)]


@pytest.mark.slow  # 60 drawn hierarchies, each solved
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.sampled_from([3, 5, 11]))
def test_no_masked_cell_can_be_narrowed_by_linear_programming(
    drawn: tuple[pd.DataFrame, pd.DataFrame], threshold: int
) -> None:
    cells, links = drawn
    table, _ = count_table(cells, links)
    pattern = suppress(table, threshold=threshold)
    values = table.values
    assert (pattern.primary == ((values > 0) & (values < threshold))).all()
    primary = np.flatnonzero(pattern.primary)
    assert _exposed(table, pattern.masked, primary, float(threshold)) == []


def test_the_attack_finds_what_primary_suppression_alone_leaves_open() -> None:
    """The attack is not blind: masking only the small cell of 30 = 3 + 12 + 15 leaves it
    exactly recoverable, and the suppression masks a second cell."""
    terms = pd.DataFrame({"equation": [0] * 4, "cell": [0, 1, 2, 3], "coef": [1.0, -1, -1, -1]})
    table = CellTable.build([30, 3, 12, 15], [True] * 4, terms)
    alone = np.array([False, True, False, False])
    assert feasible_intervals(table, alone, [1]) == {1: (3.0, 3.0)}
    pattern = suppress(table, threshold=5)
    low, high = feasible_intervals(table, pattern.masked, [1])[1]
    assert low == 0 and high >= 8
    assert pattern.secondary.sum() == 1


def test_rules_parse_and_refuse_nonsense() -> None:
    assert SecretRule.parse({"min_count": 11, "audiences": ["public"]}).thresholds == {"public": 11}
    rule = SecretRule.parse({"min_count": {"public": 11, "membre": 5}, "protection": 3})
    assert rule.threshold(Audience.MEMBER) == 5 and rule.protection_level(Audience.PUBLIC) == 3
    for bad in (0, "5", {"min_count": 5, "audiences": ["tout le monde"]}, {"seuil": 5}):
        with pytest.raises(InputError):
            SecretRule.parse(bad)


# -- real data -----------------------------------------------------------------------------------
BIRTHS_RULE = """theme: cadrage
indicators:
  - id: naissances_annuelles
    label: "Naissances domiciliées de l'année"
    unit: naissances
    formula: {variable: ["etatcivil.NAISD"]}
    aggregation: sum
    secret: {min_count: 5, audiences: [public, member]}
  - id: part_naissances
    label: "Naissances parmi les naissances et décès de l'année"
    unit: "%"
    formula: {numerator: etatcivil.NAISD, denominator: "etatcivil.NAISD + etatcivil.DECESD",
              multiplier: 100}
"""


@pytest.fixture(scope="module")
def births(tmp_path_factory: pytest.TempPathFactory, built_home: Path) -> Path:
    """Every commune's births (INSEE état civil, through the census comparator file) under a
    rule: counts below 5 masked for the public and members."""
    home = tmp_path_factory.mktemp("secret") / "obs"
    shutil.copytree(built_home, home)
    (home / "indicateurs").mkdir()
    (home / "indicateurs" / "secret.yaml").write_text(BIRTHS_RULE, encoding="utf-8")
    code, out = run("import", str(DATA / "census/base_cc_comparateur_csv_RP2018.zip"), home=home)
    assert code in (0, 3), out
    code, out = run("compute", "--indicator", "part_naissances", home=home)
    assert code == 0, out
    return home


@needs_data
def test_real_births_no_masked_commune_can_be_recovered(births: Path) -> None:
    with Observatory.open(births) as obs:
        stored = obs.warehouse.query(
            "SELECT level, code, period, value, status FROM indicator_result "
            "WHERE indicator = 'naissances_annuelles'"
        )
        links = relations(obs.warehouse, stored.level.unique())
    table, numbered = count_table(stored, links)
    pattern = suppress(table, threshold=5)
    primary = np.flatnonzero(pattern.primary)
    assert len(primary) > 10_000  # births under 5: most small communes
    assert pattern.secondary.sum() < len(primary) / 10  # twins do most of the work
    # every masked cell of two départements and their EPCIs (straddling ones included), and
    # a sample of the whole country, attacked with the whole table's relations
    codes = numbered.code.to_numpy()
    local = [c for c in primary if codes[c].startswith(("04", "05")) or len(codes[c]) == 9]
    rng = np.random.default_rng(2026)
    sample = rng.choice(primary, 150, replace=False)
    chosen = np.unique(np.concatenate([local, sample]))
    assert _exposed(table, pattern.masked, chosen, 5.0) == []


@needs_data
def test_audiences_see_masked_tables_and_ratios_masked_with_them(births: Path) -> None:
    with Observatory.open(births) as obs:
        public = obs.indicator("naissances_annuelles", level="commune", within="04",
                               reader=PUBLIC)  # fmt: skip
        analyst = obs.indicator("naissances_annuelles", level="commune", within="04")
        member = obs.indicator("naissances_annuelles", level="commune", within="04",
                               reader=MEMBER)  # fmt: skip
        rate = obs.indicator("part_naissances", level="commune", within="04",
                             reader=PUBLIC)  # fmt: skip
        everywhere = obs.indicator("naissances_annuelles", level="commune", reader=PUBLIC)
        raw = obs.indicator("naissances_annuelles", level="commune")
    secondary = (everywhere.status == "secret") & ~raw.value.between(1, 4)
    assert secondary.sum() > 0  # masked to protect the small ones
    assert analyst.value.notna().all()
    small = analyst.value.between(1, 4)
    assert (public.status[small] == "secret").all() and public.value[small].isna().all()
    hidden = public.status == "secret"
    assert hidden.sum() >= small.sum()
    assert (public.note[hidden] == "secret statistique").all()
    assert public.ci_low[hidden].isna().all() and public.coverage[hidden].isna().all()
    assert (member.status == public.status).all()
    # the rate of a masked count would give the count back (× population): masked too
    assert (rate.set_index("code").status[public.code[hidden]] == "secret").all()


@needs_data
def test_a_restricted_audience_never_sees_stale_or_unmasked_values(
    births: Path, tmp_path: Path
) -> None:
    home = tmp_path / "obs"
    shutil.copytree(births, home)
    with Observatory.open(home, write=True) as obs:
        with obs.warehouse.transaction() as tx:  # as after a computation, before its secret
            tx.execute("DELETE FROM secret_state")
        frame = obs.indicator("naissances_annuelles", level="commune", within="04",
                              reader=PUBLIC)  # fmt: skip
        assert frame.value.isna().all() and frame.note.str.contains("compute").all()
        with pytest.raises(AccessError):
            obs.values("etatcivil.NAISD", level="commune", within="04", reader=PUBLIC)
        with pytest.raises(AccessError):
            obs.indicator("naissances_annuelles", level="commune", threshold=0.5,
                          reader=PUBLIC)  # fmt: skip
    code, out = run("compute", home=home)
    assert code == 0, out
    code, out = run("values", "naissances_annuelles", "--within", "04", "--audience", "public",
                    "--format", "csv", home=home)  # fmt: skip
    assert code == 0, out
    assert "secret statistique" in out


@needs_data
def test_secret_on_both_engines(warehouse_location: tuple[str, str]) -> None:
    """compute applies the secret the same way on DuckDB and PostgreSQL: every count under the
    threshold masked for the public, secondary cells as well, nothing recoverable."""
    from dataclasses import replace

    from observatoire.engine.materialise import compute_all
    from observatoire.ingest.indicators import load_catalogue
    from observatoire.ingest.pipeline import import_file
    from observatoire.ingest.referential import build_into
    from observatoire.store import open_warehouse

    catalogue = load_catalogue()
    births = catalogue.get("naissances_annuelles")
    catalogue.indicators[births.id] = replace(births, secret=SecretRule.parse(5))
    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_file(wh, DATA / "census/base_cc_comparateur_csv_RP2018.zip")
        compute_all(wh, catalogue, indicators=[births.id], levels=["commune", "departement"])
        masks = wh.query(
            "SELECT level, code, reason FROM value_mask WHERE indicator = ? AND audience = ?",
            [births.id, "public"],
        )
        values = wh.query(
            "SELECT level, code, period, value, status FROM indicator_result WHERE indicator = ?",
            [births.id],
        )
        links = relations(wh, ["commune", "departement"])
    small = values[values.value.between(1, 4)]
    primary = masks[masks.reason == "primaire"]
    assert set(primary.code) == set(small.code) and len(primary) > 10_000
    assert (masks.reason == "secondaire").sum() > 0
    table, numbered = count_table(values, links)
    hidden = numbered.code.isin(set(masks.code)).to_numpy()
    sample = np.flatnonzero(hidden & numbered.value.between(1, 4).to_numpy())[::200]
    assert _exposed(table, hidden, sample, 5.0) == []


@needs_data
def test_computing_a_masked_count_alone_recomputes_its_stale_followers(
    births: Path, tmp_path: Path
) -> None:
    """After a new edition of the data, ``compute --indicator`` of a count under secret also
    recomputes the stale indicators masked with it: new masks are never laid over old values
    (found in review: the share of births kept its old values under the new masks)."""
    import zipfile

    home = tmp_path / "obs"
    shutil.copytree(births, home)
    edition = tmp_path / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(DATA / "census/base_cc_comparateur_csv_RP2018.zip") as source, \
            zipfile.ZipFile(edition, "w", zipfile.ZIP_DEFLATED) as target:  # fmt: skip
        for item in source.infolist():
            target.writestr(item, source.read(item.filename) + b"\r\n")  # another file
    with Observatory.open(home, write=True) as obs:
        stored = set(obs.warehouse.query("SELECT DISTINCT indicator FROM indicator_result")
                     .indicator)  # fmt: skip
        followers = {i for i in stored if "naissances_annuelles" in
                     obs.catalogue().secret_sources(i)} - {"naissances_annuelles"}  # fmt: skip
        assert "part_naissances" in followers
        obs.import_file(edition)
        assert followers <= stale_indicators(obs.warehouse)
        counts = obs.compute(indicators=["naissances_annuelles"])
        assert {"naissances_annuelles", *followers} <= set(counts)
        assert not followers & stale_indicators(obs.warehouse)
