"""Geography vintages on the real COG 2026 (INSEE, ../shared/data/cog/2026)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.errors import InvalidValueError
from observatoire.ingest.cog import _history_from_events, read_cog
from observatoire.territories.vintages import NOT_CONVERTIBLE, Vintages, convert

from .conftest import COG_2026, needs_data

pytestmark = needs_data


@pytest.fixture(scope="module")
def cog():  # type: ignore[no-untyped-def]
    return read_cog(COG_2026)


@pytest.fixture(scope="module")
def vintages(cog) -> Vintages:  # type: ignore[no-untyped-def]
    current = cog.communes[cog.communes.typecom == "COM"]
    # Populations légales of the five communes born of Neussargues-en-Pinatelle (2017).
    population = {c: 1000.0 for c in current.code}
    population.update({"15031": 142, "15035": 268, "15047": 69, "15141": 638, "15171": 97})
    return Vintages(cog.events, cog.history, population=population, current=current.code)


def test_cog_2026_is_read_whole(cog) -> None:  # type: ignore[no-untyped-def]
    assert cog.year == 2026
    assert (cog.communes.typecom == "COM").sum() == 34875
    assert len(cog.events) == 13734
    assert {"93059", "93066"} <= set(cog.history.code)


def test_pierrefitte_2019_goes_whole_into_saint_denis(vintages: Vintages) -> None:
    assert vintages.trace("93059", 2019) == ({"93066": 1.0}, False)
    assert vintages.trace("93066", 2019) == ({"93066": 1.0}, False)
    # Before 1968 Pierrefitte was 75059 (Seine); it still ends in Saint-Denis.
    assert vintages.trace("75059", 1960) == ({"93066": 1.0}, False)


def test_seine_saint_denis_went_from_40_to_39_communes(vintages: Vintages) -> None:
    def in_93(year: int) -> int:
        return sum(1 for c in vintages.valid_at(f"{year}-01-01") if c.startswith("93"))

    assert in_93(2024) == 40
    assert in_93(2025) == 39


def test_same_day_chain_of_events(vintages: Vintages) -> None:
    # 2018-01-01: Freigné changed département (49144 -> 44225) and merged into 44180.
    assert vintages.trace("49144", 2010) == ({"44180": 1.0}, False)


def test_scission_is_shared_by_population_and_flagged(vintages: Vintages) -> None:
    shares, estimated = vintages.trace("15141", 2024)
    assert estimated
    assert set(shares) == {"15031", "15035", "15047", "15141", "15171"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["15141"] == pytest.approx(638 / (142 + 268 + 69 + 638 + 97))


def test_passage_2019_lands_every_commune_in_the_current_geography(vintages: Vintages) -> None:
    passage = vintages.passage(2019)
    assert passage.old_code.nunique() == 34970
    assert set(passage.new_code) <= vintages.current
    assert passage.groupby("old_code").weight.sum().round(9).eq(1.0).all()


def test_convert_adds_counts_and_refuses_to_average_medians(vintages: Vintages) -> None:
    values = pd.DataFrame(
        {
            "code": ["93059", "93066", "93001"],
            "menages": [11000.0, 45000.0, 30000.0],
            "mediane": [17000.0, 16000.0, 15500.0],
        }
    )
    result = convert(values, vintages.passage(2019), additive=["menages"], non_additive=["mediane"])
    rows = result.values.set_index("code")
    assert rows.at["93066", "menages"] == 56000.0
    assert pd.isna(rows.at["93066", "mediane"])
    assert rows.at["93066", "methode"] == "fusion de 93059, 93066"
    assert rows.at["93001", "mediane"] == 15500.0 and rows.at["93001", "methode"] == "inchangée"
    notes = result.notes.set_index(["code", "variable"])
    assert notes.at[("93066", "mediane"), "statut"] == NOT_CONVERTIBLE


def test_convert_marks_incomplete_sources(vintages: Vintages) -> None:
    values = pd.DataFrame({"code": ["93059"], "menages": [11000.0]})
    result = convert(values, vintages.passage(2019), additive=["menages"])
    assert pd.isna(result.values.menages.iloc[0])
    assert "93066" in result.notes.statut.iloc[0]


def test_convert_rejects_codes_foreign_to_the_vintage(vintages: Vintages) -> None:
    values = pd.DataFrame({"code": ["99999"], "menages": [1.0]})
    with pytest.raises(InvalidValueError, match="99999"):
        convert(values, vintages.passage(2019), additive=["menages"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=60, max_size=60))
def test_conversion_preserves_totals(vintages: Vintages, numbers: list[float]) -> None:
    # Communes of the Cantal and Seine-Saint-Denis in 2019: fusions and a scission since.
    codes = [c for c in vintages.valid_at("2019-01-01") if c[:2] in {"15", "93"}][:60]
    values = pd.DataFrame({"code": codes, "n": numbers[: len(codes)]})
    passage = vintages.passage(2019, codes=codes)
    partners = set(passage[passage.new_code.isin(passage.new_code)].old_code)
    result = convert(values[values.code.isin(partners)], passage, additive=["n"])
    converted = result.values.n.dropna().sum()
    complete = set(result.values.code[result.values.n.notna()])
    expected = sum(
        v * w
        for old, new, w in zip(passage.old_code, passage.new_code, passage.weight, strict=True)
        for v in values.n[values.code == old]
        if new in complete
    )
    assert converted == pytest.approx(expected, rel=1e-9)


def test_infer_year_from_codes(vintages: Vintages) -> None:
    assert vintages.infer_year(["93059", "93066", "01001"]) == 2024
    assert vintages.infer_year(["93066", "01001"]) == 2026


def test_history_can_be_rebuilt_from_events_alone(cog) -> None:  # type: ignore[no-untyped-def]
    rebuilt = _history_from_events(cog.communes, cog.events)
    current = cog.communes[cog.communes.typecom == "COM"].code
    a = Vintages(cog.events, cog.history, population={}, current=current)
    b = Vintages(cog.events, rebuilt, population={}, current=current)
    for year in (2010, 2019, 2026):
        official, derived = set(a.valid_at(f"{year}-01-01")), set(b.valid_at(f"{year}-01-01"))
        assert len(official ^ derived) <= 4, sorted(official ^ derived)


def test_older_cog_layout_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """COG 2019–2022 naming (commune2022.csv, mvtcommune2022.csv), lowercase headers, the
    2019 ``effet`` date column, CRLF, and no commune_depuis_1943 file."""
    for source, target in (
        ("v_commune_2026.csv", "commune2022.csv"),
        ("v_mvt_commune_2026.csv", "mvtcommune2022.csv"),
    ):
        lines = (COG_2026 / source).read_text(encoding="utf-8").splitlines()
        header = lines[0].lower().replace("date_eff", "effet")
        (tmp_path / target).write_bytes("\r\n".join([header, *lines[1:]]).encode() + b"\r\n")
    cog = read_cog(tmp_path)
    assert cog.year == 2022
    assert (cog.communes.typecom == "COM").sum() == 34875
    current = cog.communes[cog.communes.typecom == "COM"].code
    rebuilt = Vintages(cog.events, cog.history, population={}, current=current)
    assert rebuilt.trace("93059", 2019) == ({"93066": 1.0}, False)
    assert "93059" in rebuilt.valid_at("2024-01-01")
    assert "93059" not in rebuilt.valid_at("2025-01-01")
