"""Population by age and sex projected by cohort-change ratios (Hamilton-Perry): the method on
populations built with known ratios, checked against a computation written out cohort by
cohort; a Melodi export by sex and five-year age group of the communes of Seine-Saint-Denis
(SYNTHETIC values, real names) imported and projected from the command line, its error
measured with three censuses, unmeasured with two, and constrained to a projection of the
département (an Omphale-like file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from observatoire.errors import InputError, ReferentialError
from observatoire.observatory import Observatory
from observatoire.stats import cohorts

from .conftest import run

AGES = [f"{a} à {a + 4} ans" for a in range(0, 85, 5)] + ["85 ans ou plus"]
WOMEN = slice(3, 10)  # 15 to 49 years


def _step(population: np.ndarray, ratios: np.ndarray, child_woman: np.ndarray) -> np.ndarray:
    """One five-year step, cohort by cohort (sexes × ages), written out with loops."""
    out = np.zeros_like(population)
    groups = population.shape[1]
    for s in range(2):
        for a in range(1, groups - 1):
            out[s, a] = ratios[s, a] * population[s, a - 1]
        out[s, -1] = ratios[s, -1] * (population[s, -2] + population[s, -1])
    for s in range(2):
        out[s, 0] = child_woman[s] * out[1, WOMEN].sum()
    return out


def _populations(count: int, seed: int = 5) -> tuple[np.ndarray, ...]:
    """Three censuses per territory (2008, 2013, 2018) that follow known ratios exactly."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(400, 3000, size=(count, 2, len(AGES)))
    ratios = rng.uniform(0.85, 1.15, size=(count, 2, len(AGES)))
    child_woman = rng.uniform(0.08, 0.14, size=(count, 2))
    second = np.stack([_step(first[i], ratios[i], child_woman[i]) for i in range(count)])
    third = np.stack([_step(second[i], ratios[i], child_woman[i]) for i in range(count)])
    fourth = np.stack([_step(third[i], ratios[i], child_woman[i]) for i in range(count)])
    return first, second, third, fourth


def test_known_ratios_are_recovered_over_two_steps() -> None:
    first, second, third, fourth = _populations(12)
    got = cohorts.hamilton_perry(second, third, steps=2)
    assert got[:, 0] == pytest.approx(fourth, rel=1e-12)
    # and from the first two censuses: the third, then the fourth
    again = cohorts.hamilton_perry(first, second, steps=2)
    assert again[:, 0] == pytest.approx(third, rel=1e-12)
    assert again[:, 1] == pytest.approx(fourth, rel=1e-12)


def test_constrained_to_the_containing_level() -> None:
    _, second, third, _ = _populations(6)
    ahead = cohorts.hamilton_perry(second, third, steps=1)[:, 0]
    groups = np.array([0, 0, 0, 1, 1, -1])
    totals = cohorts.constrain(ahead, groups, np.array([50_000.0, 30_000.0]))
    assert totals[:3].sum() == pytest.approx(50_000) and totals[3:5].sum() == pytest.approx(30_000)
    assert totals[5] == pytest.approx(ahead[5])  # outside any group: as it was
    shares = totals[:3].sum(axis=(1, 2)) / totals[:3].sum()
    assert shares == pytest.approx(ahead[:3].sum(axis=(1, 2)) / ahead[:3].sum())
    control = np.full((1, 2, len(AGES)), 1000.0)
    cells = cohorts.constrain(ahead[:2], np.array([0, 0]), control)
    assert cells.sum(axis=0) == pytest.approx(control[0])


def test_labels() -> None:
    assert cohorts.age_group("De 15 à 19 ans") == (15, 19)
    assert cohorts.age_group("00-04") == (0, 4)
    assert cohorts.age_group("85 ans et plus") == (85, None)
    assert cohorts.age_group("Ensemble") is None
    assert (cohorts.sex_of("Femmes"), cohorts.sex_of("M"), cohorts.sex_of("Total")) == (
        "F", "H", None,
    )  # fmt: skip


def _melodi(path: Path, names: list[str], censuses: dict[int, np.ndarray]) -> Path:
    lines = ['"Géographie";"Niveau Géo";"Fréquence";"Sexe";"Âge";Période;Valeur']
    for year, population in censuses.items():
        for i, name in enumerate(names):
            for s, sex in enumerate(("Hommes", "Femmes")):
                for a, age in enumerate(AGES):
                    value = f"{population[i, s, a]:.6f}".replace(".", ",")
                    lines.append(f'"{name}";"Commune";"Annuel";"{sex}";"{age}";{year};{value}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_melodi_export_projected_from_the_command_line(home93: Path, tmp_path: Path) -> None:
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93")
    names, codes = communes.name.tolist(), communes.code.tolist()
    first, second, third, fourth = _populations(len(names))
    # two censuses first: projected, the error said to be unmeasurable
    two = _melodi(tmp_path / "POP_SEXE_AGE.csv", names, {2013: second, 2018: third})
    code, out = run("import", str(two), home=home93)
    assert code in (0, 3), out
    code, out = run("projection-ages", "melodi.POP_SEXE_AGE", "--within", "93", "--format",
                    "csv", home=home93)  # fmt: skip
    assert code == 0, out
    assert "deux recensements seulement" in out
    with Observatory.open(home93) as obs:
        found = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93")
        with pytest.raises(InputError, match="2023"):
            obs.cohort_projection("melodi.POP_SEXE_AGE", within="93", to="2028")
        with pytest.raises(InputError, match="pas de 5 ans"):
            obs.cohort_projection("melodi.POP_SEXE_AGE", within="93", to="2021")
    assert found.target == "2023" and found.errors.empty and found.unmeasured
    values = found.values.set_index(["code", "sexe", "age"]).value
    for i, code_ in enumerate(codes):
        for s, sex in enumerate(("H", "F")):
            for a, age in enumerate([f"{x}-{x + 4}" for x in range(0, 85, 5)] + ["85+"]):
                assert values[(code_, sex, age)] == pytest.approx(fourth[i, s, a], rel=1e-6)
    # a third census: the error measured (the last projected from the two before)
    three = _melodi(tmp_path / "POP_SEXE_AGE.csv", names,
                    {2008: first, 2013: second, 2018: third})  # fmt: skip
    code, out = run("import", str(three), home=home93)
    assert code in (0, 3), out
    with Observatory.open(home93) as obs:
        measured = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93", to="2028")
    errors = measured.errors.set_index("method")
    assert errors.loc["hamilton_perry", "territories"] == len(codes)
    assert errors.loc["hamilton_perry", "mape_total"] == pytest.approx(0, abs=1e-6)
    expected = np.mean(np.abs(second.sum(axis=(1, 2)) - third.sum(axis=(1, 2)))
                       / third.sum(axis=(1, 2))) * 100  # fmt: skip
    assert errors.loc["constant", "mape_total"] == pytest.approx(expected, rel=1e-6)
    assert measured.target == "2028" and not measured.unmeasured


def test_constrained_to_an_imported_projection_of_the_departement(
    home93: Path, tmp_path: Path
) -> None:
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93")
        departement = obs.geography.card("departement", "93")["name"]
    _, second, third, _ = _populations(len(communes))
    path = _melodi(tmp_path / "POP_SEXE_AGE.csv", communes.name.tolist(),
                   {2013: second, 2018: third})  # fmt: skip
    assert run("import", str(path), home=home93)[0] in (0, 3)
    omphale = tmp_path / "OMPHALE_93.csv"
    omphale.write_text(
        '"Géographie";"Niveau Géo";"Fréquence";"Sexe";"Âge";Période;Valeur\n'
        f'"{departement}";"Département";"Annuel";"Ensemble";"Ensemble";2023;1700000\n',
        encoding="utf-8",
    )
    code, out = run("import", str(omphale), home=home93)
    assert code in (0, 3), out
    with Observatory.open(home93) as obs:
        found = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93",
                                      control="melodi.OMPHALE_93")  # fmt: skip
        with pytest.raises(ReferentialError, match="aucune valeur pour 2023"):
            obs.cohort_projection("melodi.POP_SEXE_AGE", within="93",
                                  control="melodi.POP_SEXE_AGE")  # fmt: skip
    assert found.totals.value.sum() == pytest.approx(1_700_000)
    assert any("OMPHALE_93" in n for n in found.notes)


def test_controls_of_every_layout_and_partial_territories(home93: Path, tmp_path: Path) -> None:
    """A control by sex and age up to « 95 ans ou plus » (Omphale's groups) gathered into the
    census's 85+; by sex only; the territories shown inside a part of the département are
    constrained with all its communes, not scaled up to the whole."""
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93")
        departement = obs.geography.card("departement", "93")["name"]
    _, second, third, _fourth = _populations(len(communes))
    path = _melodi(tmp_path / "POP_SEXE_AGE.csv", communes.name.tolist(),
                   {2013: second, 2018: third})  # fmt: skip
    assert run("import", str(path), home=home93)[0] in (0, 3)
    groups = [f"{a} à {a + 4} ans" for a in range(0, 95, 5)] + ["95 ans ou plus"]
    lines = ['"Géographie";"Niveau Géo";"Fréquence";"Sexe";"Âge";Période;Valeur']
    for sex in ("Hommes", "Femmes"):
        for group in groups:
            lines.append(f'"{departement}";"Département";"Annuel";"{sex}";"{group}";2023;1000')
    cells = tmp_path / "OMPHALE_AGES.csv"
    cells.write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_sex = tmp_path / "OMPHALE_SEXES.csv"
    by_sex.write_text(
        lines[0] + "\n"
        + f'"{departement}";"Département";"Annuel";"Hommes";"Ensemble";2023;800000\n'
        + f'"{departement}";"Département";"Annuel";"Femmes";"Ensemble";2023;900000\n',
        encoding="utf-8",
    )  # fmt: skip
    for file in (cells, by_sex):
        assert run("import", str(file), home=home93)[0] in (0, 3)
    with Observatory.open(home93) as obs:
        aged = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93",
                                     control="melodi.OMPHALE_AGES")  # fmt: skip
        sexed = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93",
                                      control="melodi.OMPHALE_SEXES")  # fmt: skip
        one = obs.cohort_projection("melodi.POP_SEXE_AGE", within="commune:93066",
                                    control="melodi.OMPHALE_SEXES")  # fmt: skip
    values = aged.values
    assert values.value.notna().all()
    old = values[values.age == "85+"].groupby("sexe").value.sum()
    assert old.to_dict() == pytest.approx({"H": 3000, "F": 3000})  # 85-89, 90-94, 95+
    assert values[values.age == "0-4"].groupby("sexe").value.sum().to_dict() == pytest.approx(
        {"H": 1000, "F": 1000}
    )  # fmt: skip
    totals = sexed.values.groupby("sexe").value.sum()
    assert totals.to_dict() == pytest.approx({"H": 800000, "F": 900000})
    assert any("facteur" in n and "par sexe" in n for n in sexed.notes)
    # one commune shown: constrained with every commune of the département, then kept
    assert set(one.values.code) == {"93066"}
    mine = sexed.values[sexed.values.code == "93066"].value.to_numpy()
    assert one.values.value.to_numpy() == pytest.approx(mine)


def test_bad_censuses_are_refused_and_yearly_releases_chained(home93: Path, tmp_path: Path) -> None:
    with Observatory.open(home93) as obs:
        names = obs.geography.territories(level="commune", within="93").name.tolist()
    _first, second, third, fourth = _populations(len(names))
    middle = (second + third) / 2  # an INSEE release of 2017, between the two
    path = _melodi(tmp_path / "POP_SEXE_AGE.csv", names,
                   {2013: second, 2017: middle, 2018: third})  # fmt: skip
    assert run("import", str(path), home=home93)[0] in (0, 3)
    with Observatory.open(home93) as obs:
        found = obs.cohort_projection("melodi.POP_SEXE_AGE", within="93")
    assert found.history == ("2013", "2018") and found.target == "2023"
    assert found.values.set_index(["code", "sexe", "age"]).value.iloc[0] == pytest.approx(
        fourth[0, 0, 0], rel=1e-6
    )  # fmt: skip
    negative = third.copy()
    negative[0, 1, 5] = -50
    bad = _melodi(tmp_path / "POP_NEGATIVE.csv", names, {2013: second, 2018: negative})
    assert run("import", str(bad), home=home93)[0] in (0, 3)
    women = tmp_path / "POP_FEMMES.csv"
    text = _melodi(tmp_path / "x.csv", names, {2013: second, 2018: third}).read_text("utf-8")
    women.write_text("\n".join(line for line in text.splitlines() if "Hommes" not in line),
                     encoding="utf-8")  # fmt: skip
    assert run("import", str(women), home=home93)[0] in (0, 3)
    with Observatory.open(home93) as obs:
        with pytest.raises(InputError, match="négatif"):
            obs.cohort_projection("melodi.POP_NEGATIVE", within="93")
        with pytest.raises(InputError, match="les deux sexes"):
            obs.cohort_projection("melodi.POP_FEMMES", within="93")


def test_an_empty_cohort_stays_empty() -> None:
    _, second, third, _ = _populations(2)
    second[:, :, 4] = 0.0
    third[:, :, 5] = 0.0  # the same cohort, five years older: nobody, both times
    ahead = cohorts.hamilton_perry(second, third, steps=1)[:, 0]
    assert np.isfinite(ahead).all()
