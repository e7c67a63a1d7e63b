"""``compute`` limited to what is needed: to one territory (``--within``, the
``compute_within`` setting) — the territory, its references, what it contains and what crosses
its border are stored, with the figures a whole computation gives; nothing else — and, after a
new edition of a file, to the periods it touched. On both engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from observatoire.engine import compute_indicator
from observatoire.engine.materialise import Scope, compute_all
from observatoire.errors import InputError, ReferentialError
from observatoire.ingest.cog import import_cog
from observatoire.ingest.indicators import load_catalogue
from observatoire.ingest.pipeline import import_file
from observatoire.ingest.referential import build_into
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.store import open_warehouse
from observatoire.store.computed import computed_scope, stale_periods
from observatoire.store.territories import scope_of

from .conftest import COG_2026, DATA, needs_data, run
from .vintages import number, read_raw, vintage

pytestmark = needs_data

FILES = (
    "filosofi/FILO2019_DISP_COM.csv",
    "filosofi/FILO2019_DISP_DEP.csv",
    "filosofi/FILO2019_DISP_EPCI.csv",
    "census/base_cc_comparateur_csv_RP2018.zip",
)
CHECKED = ("menages_fiscaux", "niveau_vie_median", "population", "taux_chomage_15_64")


def _stored(wh: object) -> dict[str, set[str]]:
    rows = wh.query("SELECT DISTINCT level, code FROM indicator_result")  # type: ignore[attr-defined]
    return rows.groupby("level").code.agg(set).to_dict()


def test_compute_within_a_departement(warehouse_location: tuple[str, str]) -> None:
    backend, location = warehouse_location
    catalogue = load_catalogue()
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_cog(wh, COG_2026)
        for name in FILES:
            import_file(wh, DATA / name)
        scope = Scope("departement:93", scope_of(wh, "departement", "93"))
        counts = compute_all(wh, catalogue, scope=scope)
        assert sum(counts.values()) > 1_000
        assert computed_scope(wh) == "departement:93"
        # what is stored, from the referential read independently
        links = wh.query("SELECT level, code, parent_level, parent_code FROM territory_parent")
        communes = set(links[(links.level == "commune") & (links.parent_level == "departement")
                             & (links.parent_code == "93")].code)  # fmt: skip
        assert len(communes) == 39
        crossing = links[(links.level == "commune") & links.code.isin(communes)]
        epcis = set(crossing[crossing.parent_level == "epci"].parent_code)
        stored = _stored(wh)
        assert stored["commune"] == communes
        assert stored["epci"] == epcis == {"200054781"}  # the Métropole du Grand Paris, across
        assert stored["departement"] == {"93"}
        assert stored["region"] == {"11"}
        assert "FR" in stored["pays"]
        # the figures are those of a whole computation, France's included (all its communes)
        for ident in CHECKED:
            for level, codes in stored.items():
                whole = compute_indicator(wh, catalogue, ident, level=level)
                whole = whole[whole.period.notna() & whole.code.isin(codes)]
                mine = wh.query(
                    "SELECT * FROM indicator_result WHERE indicator = ? AND level = ?",
                    [ident, level],
                )
                assert len(mine) == len(whole), (ident, level)
                left, right = (
                    f[["code", "period", "value", "status", "coverage"]]
                    .sort_values(["code", "period"]).reset_index(drop=True)
                    .astype({"value": float, "coverage": float})
                    for f in (mine, whole)
                )  # fmt: skip
                pd.testing.assert_frame_equal(
                    left, right, check_dtype=False, rtol=1e-9, obj=f"{ident} {level}"
                )
        france = wh.query(
            "SELECT value FROM indicator_result WHERE indicator = 'population' "
            "AND level = 'pays' AND code = 'FR' AND period = '2018'"
        ).value
        assert float(france.iloc[0]) > 64_000_000  # every commune of France, not 93's only
        # another scope redoes everything: never with a part of the indicators only
        with pytest.raises(InputError, match="changer de périmètre"):
            compute_all(wh, catalogue, indicators=["population"])
        if backend == "duckdb":  # every commune of France: long to store on PostgreSQL
            compute_all(wh, catalogue)
            assert computed_scope(wh) == ""
            assert len(_stored(wh)["commune"]) > 34_000


def test_the_home_setting_and_the_command(census_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('compute_within = ""', 'compute_within = "territoire"'),
                        encoding="utf-8")  # fmt: skip
    code, out = run("compute", home=home)
    assert code == 0, out
    assert "limité à departement:93" in out
    with Observatory.open(home) as obs:
        communes = obs.warehouse.query(
            "SELECT DISTINCT code FROM indicator_result WHERE level = 'commune'"
        ).code
        assert set(communes.str[:2]) == {"93"} and len(communes) == 39
        # communes outside: computed on demand for the analyst, refused to the others
        metz = obs.values("population", level="commune", within=("departement", "57"))
        assert len(metz.code.unique()) > 700 and (metz.status == "ok").all()
        whole = compute_indicator(obs.warehouse, obs.catalogue(), "population", level="commune")
        assert metz.set_index(["code", "period"]).value.to_dict() == (
            whole[whole.code.str.startswith("57")].set_index(["code", "period"]).value.to_dict()
        )
        with pytest.raises(ReferentialError, match="hors du périmètre de calcul"):
            obs.values("population", level="commune", within=("departement", "57"),
                       reader=PUBLIC)  # fmt: skip
        with pytest.raises(ReferentialError, match="hors du périmètre de calcul"):
            obs.profile("57463")
        assert len(obs.profile("93066")) > 10
    code, out = run("compute", "--within", "93", "--everywhere", home=home)
    assert code == 2 and "s'excluent" in out
    code, out = run("compute", "--everywhere", home=home)
    assert code == 0, out
    with Observatory.open(home) as obs:
        assert obs.warehouse.count("indicator_result", "level = 'commune' AND indicator = ?",
                                   ["population"]) > 34_000  # fmt: skip


def test_a_new_edition_recomputes_its_periods_only(
    warehouse_location: tuple[str, str], tmp_path: Path
) -> None:
    """A new edition of one year: only that year's values, and their secret masks, are made
    again; the other years' rows and masks are those stored before; everything equals a
    whole computation."""
    from dataclasses import replace

    from observatoire.secret.rules import SecretRule

    backend, location = warehouse_location
    catalogue = load_catalogue()
    # every commune of France is long to store on PostgreSQL: the levels above there
    levels = ["departement", "region", "pays", *(["commune"] if backend == "duckdb" else [])]
    # under secret: communes of fewer than 500 households masked (départements below 60,000
    # where the communes are not computed)
    households = catalogue.get("menages_fiscaux")
    rule = SecretRule.parse(500 if "commune" in levels else 60_000)
    catalogue.indicators[households.id] = replace(households, secret=rule)
    key = ["indicator", "level", "code", "period"]

    def stored(wh: object) -> pd.DataFrame:
        rows = wh.query("SELECT * FROM indicator_result")  # type: ignore[attr-defined]
        return rows.sort_values(key).reset_index(drop=True)

    def masks(wh: object) -> pd.DataFrame:
        rows = wh.query("SELECT * FROM value_mask")  # type: ignore[attr-defined]
        return rows.sort_values([*key, "audience"]).reset_index(drop=True)

    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_cog(wh, COG_2026)
        for name in ("filosofi/FILO2016_DISP_COM.csv", "filosofi/FILO2019_DISP_COM.csv"):
            import_file(wh, DATA / name)
        compute_all(wh, catalogue, levels=levels)
        before, masked = stored(wh), masks(wh)
        assert len(masked[masked.period == "2016"]) > 10
        # a new edition of 2019: other figures (medians + 100, households + 1)
        edition = vintage(DATA / "filosofi/FILO2019_DISP_COM.csv",
                          tmp_path / "FILO2019_DISP_COM.csv", "19", "19")  # fmt: skip
        import_file(wh, edition)
        redo = stale_periods(wh)
        assert redo and all(periods == {"2019"} for periods in redo.values()), redo
        steps: list[str] = []
        compute_all(wh, catalogue, levels=levels, on_step=steps.append)
        assert any("période(s) 2019" in step for step in steps), steps
        assert "secret menages_fiscaux, période(s) 2019" in steps, steps
        assert not stale_periods(wh)
        after, masked_after = stored(wh), masks(wh)
        # the other years: the very rows and masks stored before (not recomputed)
        old = before[before.period != "2019"].reset_index(drop=True)
        kept = after[after.period != "2019"].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, old)
        pd.testing.assert_frame_equal(
            masked_after[masked_after.period != "2019"].reset_index(drop=True),
            masked[masked.period != "2019"].reset_index(drop=True),
        )
        # the year of the edition: what a whole computation gives, and the new figures
        compute_all(wh, catalogue, levels=levels, force=True)
        whole = stored(wh)
        columns = [*key, "value", "status", "coverage", "note"]
        pd.testing.assert_frame_equal(after[columns], whole[columns], check_dtype=False)
        pd.testing.assert_frame_equal(masked_after, masks(wh))
        # a rule extended to members since the masks were made: every period for them
        threshold = 500 if "commune" in levels else 60_000
        only_public = SecretRule.parse({"min_count": threshold, "audiences": ["public"]})
        catalogue.indicators[households.id] = replace(households, secret=only_public)
        compute_all(wh, catalogue, levels=levels, force=True)
        assert set(masks(wh).audience) == {"public"}
        catalogue.indicators[households.id] = replace(households, secret=rule)
        import_file(wh, DATA / "filosofi/FILO2019_DISP_COM.csv")  # 2019 changes again
        steps = []
        compute_all(wh, catalogue, levels=levels, on_step=steps.append)
        assert "secret menages_fiscaux" in steps, steps  # every period, not 2019 only
        extended = masks(wh)
        members_2016 = extended[(extended.audience == "member") & (extended.period == "2016")]
        assert len(members_2016) > 0
        compute_all(wh, catalogue, levels=levels, force=True)
        pd.testing.assert_frame_equal(extended, masks(wh))
        raw = read_raw(edition)
        households = number(raw[raw.CODGEO.str.startswith("93")].NBMEN19).sum()
        mine = after[(after.indicator == "menages_fiscaux") & (after.level == "departement")
                     & (after.code == "93") & (after.period == "2019")]  # fmt: skip
        assert mine.status.tolist() == ["ok"]
        assert mine.value.iloc[0] == pytest.approx(households, abs=1e-6)
        first = read_raw(DATA / "filosofi/FILO2019_DISP_COM.csv")
        first = number(first[first.CODGEO.str.startswith("93")].NBMEN19)
        # one more household in each of its communes: the new edition is the one read
        assert households == first.sum() + first.notna().sum()
