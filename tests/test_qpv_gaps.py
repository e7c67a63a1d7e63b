"""The quartiers prioritaires against the rest of their communes (engine/qpv_gaps.py): the real
ANCT file of the QPV of Seine-Saint-Denis (2020 CAF counts) and the real CNAF file by IRIS
(2018); the rest counted per whole of communes linked by their QPV, checked against an
independent computation over the raw files (membership read from the file's commune names);
refusals said with their reason; a public reader's rest built from what it sees only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC

from .conftest import COG_2026, DATA, needs_data, run

pytestmark = needs_data

QPV = DATA / "qpv" / "data_DEMO_2020_V1_QP.csv"
CAF_2018 = DATA / "caf" / "data_CAF_2018_IRIS.csv"
RATE = "part_allocataires_monoparents"  # caf.AM / caf.A, Wilson interval
# Pierrefitte-sur-Seine merged into Saint-Denis on 1 January 2025 (COG 2026)
MERGED = {"Pierrefitte-sur-Seine": "93066"}
# masked for the public below 200 monoparent households, with the rates that use the count
SECRET_RULE = """theme: social
indicators:
  - id: monoparents_masques
    label: "Foyers allocataires monoparents (masqués sous 200 pour le public)"
    unit: foyers
    formula: {variable: ["caf.AM"]}
    aggregation: sum
    secret: {min_count: 200, audiences: [public]}
"""


def _quartiers() -> pd.DataFrame:
    """The 63 QPV of the 93 in the real file, as read by pandas."""
    frame = pd.read_csv(QPV, sep=";", dtype=str, keep_default_na=False)
    return frame[frame.CODGEO.str.startswith("QP093")].set_index("CODGEO")


def _communes_93() -> dict[str, str]:
    cog = pd.read_csv(COG_2026 / "v_commune_2026.csv", dtype=str)
    cog = cog[(cog.TYPECOM == "COM") & (cog.DEP == "93")]
    return dict(zip(cog.LIBELLE, cog.COM, strict=True)) | MERGED


def _wholes(quartiers: pd.DataFrame) -> list[tuple[set[str], set[str]]]:
    """The QPV and communes linked to one another, from the file's commune names (LIB_COM),
    by plain iteration (not the engine's union-find)."""
    code_of = _communes_93()
    towns = {q: {code_of[n.strip()] for n in label.split(",")}
             for q, label in quartiers.LIB_COM.items()}  # fmt: skip
    wholes: list[tuple[set[str], set[str]]] = []
    for qpv, cities in towns.items():
        joined = [w for w in wholes if w[1] & cities]
        merged = ({qpv} | set().union(*[w[0] for w in joined]),
                  set(cities).union(*[w[1] for w in joined]))  # fmt: skip
        wholes = [w for w in wholes if w not in joined] + [merged]
    return wholes


@pytest.fixture(scope="module")
def qpv93(small_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The home of the 93 with the real QPV file (its 93 rows) and the real CNAF IRIS file of
    2018 (its 93 rows) imported; then a commune file of 2020 written by the test: SYNTHETIC
    counts, each commune's the sum of the QPV the file names first in it plus a known rest,
    so that every rest is known by construction. Read-only."""
    import shutil

    root = tmp_path_factory.mktemp("qpvgaps")
    home = root / "obs"
    shutil.copytree(small_home, home)
    lines = QPV.read_text(encoding="utf-8").splitlines()
    (root / QPV.name).write_text("\n".join([lines[0], *[x for x in lines[1:]
                                 if x.startswith("QP093")]]) + "\n", "utf-8")  # fmt: skip
    caf = CAF_2018.read_text(encoding="utf-8").splitlines()
    (root / CAF_2018.name).write_text("\n".join([caf[0], *[x for x in caf[1:]
                                      if x.startswith("93")]]) + "\n", "utf-8")  # fmt: skip
    for path in (root / QPV.name, root / CAF_2018.name):
        code, out = run("import", str(path), home=home)
        assert code == 0, out
    synthetic = _synthetic_2020()
    path = root / "data_CAF_2020_COM_SYNTHETIQUE.csv"
    synthetic.to_csv(path, sep=";", index=False)
    code, out = run("import", str(path), home=home)
    assert code == 0, out
    (home / "indicateurs").mkdir(exist_ok=True)
    (home / "indicateurs" / "secret_qpv.yaml").write_text(SECRET_RULE, encoding="utf-8")
    code, out = run("compute", home=home)
    assert code == 0, out
    return home


def _synthetic_2020() -> pd.DataFrame:
    """Every commune of the 93: A and AM = the QPV counts the real file places first in it +
    1 000 + 10 × its rank, 150 + its rank (a known rest per commune)."""
    code_of = _communes_93()
    quartiers = _quartiers()
    first = quartiers.LIB_COM.map(lambda label: code_of[label.split(",")[0].strip()])
    codes = sorted(set(code_of.values()))
    sums = quartiers[["A", "AM"]].astype(int).groupby(first).sum()
    names = {c: n for n, c in code_of.items() if n not in MERGED}
    frame = pd.DataFrame({"CODGEO": codes, "LIBGEO": [names[c] for c in codes]})
    frame["A"] = [int(sums.A.get(c, 0)) + 1000 + 10 * i for i, c in enumerate(codes)]
    frame["AM"] = [int(sums.AM.get(c, 0)) + 150 + i for i, c in enumerate(codes)]
    frame["PERCOU"], frame["AI"] = frame.A * 2, frame.A // 3  # four CNAF codes: recognised
    return frame


def test_each_qpv_against_the_rest_of_its_communes_is_an_independent_count(qpv93: Path) -> None:
    """2020: every QPV of the 93 has its rest: Σ the communes of its whole − Σ its QPV,
    equal to the count made here from the raw QPV file and the commune file; the value and
    interval of the rest follow; QP093005 (Bobigny, Drancy) shares its whole's rest. The
    ensemble of the 93's QPV against the rest of the département likewise."""
    quartiers = _quartiers()
    communes = _synthetic_2020().set_index("CODGEO")
    with Observatory.open(qpv93) as obs:
        found = obs.views.qpv_gaps(RATE, within="93")
    rows = found.quartiers.set_index("code")
    assert found.period == "2020" and len(rows) == 63 and not found.notes
    assert rows.rest_value.notna().all(), rows[rows.rest_value.isna()].note.tolist()
    wholes = _wholes(quartiers)
    assert len(wholes) > 1 and max(len(q) for q, _ in wholes) > 1
    for qpvs, cities in wholes:
        am = communes.loc[sorted(cities), "AM"].sum() - quartiers.loc[sorted(qpvs), "AM"].astype(
            int).sum()  # fmt: skip
        a = communes.loc[sorted(cities), "A"].sum() - quartiers.loc[sorted(qpvs), "A"].astype(
            int).sum()  # fmt: skip
        for qpv in qpvs:
            assert rows.loc[qpv, "rest_numerator"] == am and rows.loc[qpv, "rest_denominator"] == a
            assert np.isclose(rows.loc[qpv, "rest_value"], am / a * 100)
    # the QPV's own value is the file's
    own = quartiers.AM.astype(int) / quartiers.A.astype(int) * 100
    assert np.allclose(rows.value.reindex(own.index), own)
    bobigny = rows.loc["QP093005"]
    assert bobigny.communes == "Bobigny, Drancy" and "Aubervilliers" in bobigny.rest_communes
    # the verdict is the engine's rule: the rest outside the QPV's 95 % interval
    outside = (rows.rest_value < rows.ci_low) | (rows.rest_value > rows.ci_high)
    assert (rows.assessment[~outside] == "écart non significatif").all()
    assert rows.assessment[outside].isin(["plus élevé", "moins élevé"]).all()
    ensemble = found.ensembles.set_index("code").loc["QPV2015-93"]
    am = communes.AM.sum() - quartiers.AM.astype(int).sum()
    a = communes.A.sum() - quartiers.A.astype(int).sum()
    assert (ensemble.rest_numerator, ensemble.rest_denominator) == (am, a)
    assert ensemble.numerator == quartiers.AM.astype(int).sum()


def test_no_rest_without_commune_values_of_the_same_year(qpv93: Path) -> None:
    """The real files alone: QPV counts of 2020, communes of 2018 (the CNAF IRIS file). The
    2018 communes are never taken for 2020; asked for 2018, there is no QPV value."""
    with Observatory.open(qpv93) as obs:
        rate = obs.views.qpv_gaps("part_allocataires_couples_avec_enfants", within="93")
        with pytest.raises(Exception, match="pas de valeur de QPV en 2018"):
            obs.views.qpv_gaps(RATE, within="93", period="2018")
        with pytest.raises(Exception, match=r"ce n.est pas le cas de allocataires_caf"):
            obs.views.qpv_gaps("allocataires_caf", within="93")
        with pytest.raises(Exception, match="département ou une région"):
            obs.views.qpv_gaps(RATE, within="93066")
    assert rate.period == "2020" and rate.quartiers.rest_value.isna().all()
    assert "Aucune commune" in rate.notes[0] and "2020" in rate.notes[0]
    assert rate.quartiers.note.str.contains(" : non disponible").all()


def test_a_public_rest_is_made_of_what_the_public_sees(qpv93: Path) -> None:
    """The rate masked for the public below 200 monoparent households: a QPV masked for it
    gives no count, and no whole holding it has a rest; a rest of fewer than 200 households
    (a new cell, commune − its QPV) is not shown either; the other wholes have the analyst's
    rest."""
    with Observatory.open(qpv93) as obs:
        analyst = obs.views.qpv_gaps(RATE, within="93")
        public = obs.views.qpv_gaps(RATE, within="93", reader=PUBLIC)
        towns = obs.indicator(RATE, level="commune", within="93", reader=PUBLIC)
    towns = towns[towns.period.astype(str) == "2020"]
    hidden = set(towns.code[towns.value.isna()])  # masked for the public (secondary secret)
    mine, theirs = analyst.quartiers.set_index("code"), public.quartiers.set_index("code")
    masked = set(theirs.index[theirs.value.isna()])
    assert masked and masked == set(mine.index[mine.numerator < 200])
    assert theirs.loc[sorted(masked), ["numerator", "denominator"]].isna().all().all()
    shared = 0
    for qpvs, cities in _wholes(_quartiers()):
        shown = theirs.loc[sorted(qpvs), "rest_value"]
        if qpvs & masked or cities & hidden:
            assert shown.isna().all()
            assert theirs.loc[sorted(qpvs), "note"].str.contains("secret").all()
        elif (mine.loc[sorted(qpvs), "rest_numerator"] < 200).all():  # a small rest: hidden
            assert shown.isna().all()
            assert theirs.loc[sorted(qpvs), "note"].str.contains("seuil du secret").all()
        else:
            shared += 1
            assert np.allclose(shown, mine.loc[sorted(qpvs), "rest_value"])
    assert shared > 0
    # no count under the threshold is published, the rest's included
    for column in ("numerator", "rest_numerator"):
        assert not ((theirs[column] > 0) & (theirs[column] < 200)).any(), column


def test_qpv_gaps_from_the_command_line_the_pages_and_the_api(qpv93: Path) -> None:
    """The CLI, the page (with its CSV and JSON twins, and the links from the indicator, QPV
    and département pages) and the API give one answer."""
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    code, out = run("qpv", RATE, "--within", "93", "--format", "csv", home=qpv93)
    assert code == 0, out
    assert "63 sur 63 QPV" in out and "QP093005" in out
    code, out = run("qpv", RATE, "--within", "93", "--ensembles", home=qpv93)
    assert code == 0 and "QPV2015-93" in out
    with Observatory.open(qpv93) as obs, TestClient(create_app(obs)) as client:
        page = client.get(f"/indicateurs/{RATE}/qpv", params={"dans": "93"})
        data = client.get(f"/indicateurs/{RATE}/qpv.json", params={"dans": "93"}).json()
        table = client.get(f"/indicateurs/{RATE}/qpv.csv", params={"dans": "93"})
        api = client.get(f"/api/v1/indicators/{RATE}/qpv", params={"within": "93"}).json()
        refused = client.get("/indicateurs/population/qpv", params={"dans": "93"})
        links = [client.get(u).text for u in (f"/indicateurs/{RATE}?niveau=commune&dans=93",
                 "/territoires/qpv/QP093005", "/territoires/departement/93")]  # fmt: skip
    assert page.status_code == 200 and "QP093005 – Bobigny, Drancy" in page.text
    assert "<svg" in page.text and "reste" in page.text
    assert data["qpv"]["quartiers"] == api["quartiers"] and len(api["quartiers"]) == 63
    assert table.status_code == 200 and table.text.count("\n") == 63 + 1 + 1
    assert refused.status_code == 200 and "Pas de comparaison" in refused.text
    assert all(f"/indicateurs/{RATE}/qpv" in text for text in links)
