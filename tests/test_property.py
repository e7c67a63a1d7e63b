"""Property: for any set of imported files (vintages, overlapping supra-communal files), every
stored figure is what pandas computes from the raw files (issue 19).

Hypothesis draws which files are imported — Filosofi communes of 2014, 2016, 2018, 2019, 2020,
2021 (the real 2016, 2019 and 2021 files and vintages built from them, see :mod:`.vintages`)
and the official département and région files of 2019, which overlap the communes' sums —
restricted to Île-de-France to keep each example a few seconds. ``compute`` then stores
``menages_fiscaux`` (a count) and ``niveau_vie_median`` (a median) at every level, and for
every territory and year:

- a commune: the file's value in today's communes (INSEE's passage table; a merged commune
  with a part missing is not given);
- a département or the région: the official value where a file of that level and year was
  imported and gives one;
- elsewhere, a count is the sum of its communes that have one, with the coverage of their
  population (ok when complete, partial from 80 %, not given below); a median is never
  derived from its members.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from observatoire.observatory import Observatory

from .conftest import DATA, needs_data
from .test_resolution import FILES, expected_current, filosofi_years
from .vintages import number, read_raw

pytestmark = needs_data
FILOSOFI = DATA / "filosofi"
IDF = ("75", "77", "78", "91", "92", "93", "94", "95")
SUPRA = {"departement": "FILO2019_DISP_DEP.csv", "region": "FILO2019_DISP_REG.csv"}
LEVELS = ["commune", "epci", "departement", "region", "pays"]
THRESHOLD = 0.8


@pytest.fixture(scope="module")
def idf_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every file of the draw, cut to Île-de-France: year → commune file, level → supra."""
    folder = tmp_path_factory.mktemp("idf")
    full = tmp_path_factory.mktemp("full")
    sources = {**filosofi_years(full), **{level: FILOSOFI / name for level, name in SUPRA.items()}}
    out = {}
    for key, source in sources.items():
        raw = read_raw(source)
        keep = raw.CODGEO.isin(["11"]) if key == "region" else raw.CODGEO.str[:2].isin(IDF)
        target = folder / source.name
        raw[keep].to_csv(target, sep=";", index=False, encoding="utf-8")
        out[key] = target
    return out


def _expected_sums(members: pd.DataFrame, known: pd.Series) -> pd.DataFrame:
    """code, value, status of each territory of ``members`` (code, member, population): the
    sum of its members' ``known`` values with their population's coverage."""
    rows = members.assign(value=members.member.map(known))
    rows["covered"] = np.where(rows.value.notna(), rows.population, 0.0)
    groups = rows.groupby("code")
    frame = pd.DataFrame({
        "total": groups.value.sum(min_count=0),
        "pop_all": groups.population.sum(),
        "covered": groups.covered.sum(),
        "n_ok": groups.value.count(),
        "n": groups.size(),
    })  # fmt: skip
    share = np.where(frame.pop_all > 0, frame.covered / frame.pop_all.where(frame.pop_all > 0),
                     frame.n_ok / frame.n).round(6)  # fmt: skip
    frame["status"] = np.where(share >= 1, "ok", np.where(share >= THRESHOLD, "partial", "nd"))
    frame["value"] = np.where(share >= THRESHOLD, frame.total, np.nan)
    return frame[["value", "status"]]


@needs_data
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    years=st.sets(st.sampled_from(sorted(FILES)), min_size=1, max_size=4),
    supra=st.sets(st.sampled_from(sorted(SUPRA))),
)  # fmt: skip
# always: a supra file overlapping the communes' sums of its year, next to another year
@example(years={"2016", "2019", "2021"}, supra={"departement", "region"})
def test_every_stored_figure_is_the_raw_files_figure(
    built_home: Path, idf_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
    years: set[str], supra: set[str],
) -> None:  # fmt: skip
    home = tmp_path_factory.mktemp("property") / "obs"
    shutil.copytree(built_home, home)
    with Observatory.open(home, write=True) as obs:
        for key in [*sorted(years), *sorted(supra)]:
            obs.import_file(idf_files[key])
        obs.compute(indicators=["menages_fiscaux", "niveau_vie_median"], levels=LEVELS)
        stored = {(ident, level): obs.indicator(ident, level=level)
                  for ident in ("menages_fiscaux", "niveau_vie_median")
                  for level in LEVELS}  # fmt: skip
        parents = obs.warehouse.query(
            "SELECT p.code AS member, p.parent_level AS level, p.parent_code AS code, "
            "t.population FROM territory_parent p JOIN territory t ON t.level = 'commune' "
            "AND t.code = p.code WHERE p.level = 'commune' AND p.weight = 1"
        )
    checked = 0
    for year in sorted(years):
        name, median_column, households_column = FILES[year]
        raw = read_raw(idf_files[year])
        for ident, column, additive in (("menages_fiscaux", households_column, True),
                                        ("niveau_vie_median", median_column, False)):  # fmt: skip
            known = expected_current(home, raw, column, name, additive=additive)
            for level in LEVELS:
                mine = stored[ident, level]
                mine = mine[mine.period == year].set_index("code")
                if level == "commune":
                    expected = pd.DataFrame({"value": known, "status": "ok"})
                elif additive:
                    members = parents[parents.level == level]
                    expected = _expected_sums(members, known)
                else:  # a median: never derived from members
                    expected = pd.DataFrame(columns=["value", "status"], dtype=object)
                if level in supra and year == "2019":  # the official file answers
                    official = read_raw(idf_files[level]).set_index("CODGEO")
                    published = number(official[column if additive else "Q219"])
                    published = published[published.notna()]
                    expected = expected.reindex(expected.index.union(published.index))
                    expected.loc[published.index, "value"] = published
                    expected.loc[published.index, "status"] = "ok"
                shown = expected[expected.value.notna()]
                got = mine.reindex(shown.index)
                assert (got.status == shown.status).all(), (ident, level, year, got.status)
                np.testing.assert_allclose(
                    got.value.astype(float),
                    shown.value.astype(float),
                    rtol=1e-9,
                    err_msg=f"{ident} {level} {year}",
                )
                # nothing else is given with a value: no territory gets a figure pandas has not
                others = mine[~mine.index.isin(shown.index) & mine.value.notna()]
                assert others.empty, (ident, level, year, others.head())
                checked += len(shown)
    assert checked > 0
