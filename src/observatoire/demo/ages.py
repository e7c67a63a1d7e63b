"""Demo census by sex and five-year age group, of SYNTHETIC figures: two censuses (2013 and
2018) of the communes of Seine-Saint-Denis in an INSEE Melodi labelled export, their totals
close to the communes' real population, and a FICTITIOUS projection of the département for
2023 standing for INSEE's Omphale; the population by age is then projected by cohort-change
ratios (Hamilton-Perry) and constrained to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from observatoire.observatory import Observatory
from observatoire.stats.cohorts import hamilton_perry
from observatoire.text import french_number

__all__ = ["ages_import"]

AGES = [f"{a} à {a + 4} ans" for a in range(0, 85, 5)] + ["85 ans ou plus"]
HEADER = '"Géographie";"Niveau Géo";"Fréquence";"Sexe";"Âge";Période;Valeur'


def _pyramid(rng: np.random.Generator, total: float) -> np.ndarray:
    """A young urban pyramid (sexes × ages) adding up to ``total``."""
    shape = np.exp(-np.arange(len(AGES)) / 9.0) * rng.uniform(0.85, 1.15, len(AGES))
    shape[-1] *= 2.5  # the open group gathers every age above 85
    both = np.vstack([shape * 0.49, shape * 0.51])
    return total * both / both.sum()


def ages_import(obs: Observatory, home: Path) -> str:
    """Write and import the SYNTHETIC censuses and projection; project; say what came out."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(2018)
    first = np.stack([_pyramid(rng, float(p or 0) * 0.97) for p in communes.population])
    ratios = rng.uniform(0.95, 1.04, size=first.shape)
    second = hamilton_perry(first / ratios, first, steps=1)[:, 0]  # a second census
    lines = [HEADER]
    for year, population in ((2013, first), (2018, second)):
        for i, name in enumerate(communes.name):
            for s, sex in enumerate(("Hommes", "Femmes")):
                for a, age in enumerate(AGES):
                    value = f"{population[i, s, a]:.2f}".replace(".", ",")
                    lines.append(f'"{name}";"Commune";"Annuel";"{sex}";"{age}";{year};{value}')
    census = home / "POP_SEXE_AGE_SYNTHETIQUES.csv"
    census.write_text("\n".join(lines) + "\n", encoding="utf-8")
    obs.import_file(census, user="demo")
    ahead = hamilton_perry(first, second, steps=1)[:, 0].sum()
    name = obs.geography.card("departement", "93")["name"]
    control = home / "OMPHALE_SYNTHETIQUE_93.csv"
    control.write_text(
        f'{HEADER}\n"{name}";"Département";"Annuel";"Ensemble";"Ensemble";2023;'
        f"{ahead * 1.01:.0f}\n",
        encoding="utf-8",
    )
    obs.import_file(control, user="demo")
    variable, reference = "melodi.POP_SEXE_AGE_SYNTHETIQUES", "melodi.OMPHALE_SYNTHETIQUE_93"
    found = obs.cohort_projection(variable, level="commune", within="93", control=reference)
    values = found.values
    old = values[values.age.isin(["75-79", "80-84", "85+"])].value.sum()
    young = values[values.age == "0-4"].value.sum()
    return "\n".join(
        [
            "Population par sexe et âge (recensements SYNTHÉTIQUES 2013 et 2018, export Melodi)",
            f"  {census.name}, {control.name} (projection FICTIVE du département pour 2023)",
            f"  Projection {found.target} par rapports de cohortes (Hamilton-Perry), ajustée à "
            f"la projection du département : {french_number(old, 0)} personnes de 75 ans ou "
            f"plus, {french_number(young, 0)} enfants de moins de 5 ans dans les communes",
            f"  {found.unmeasured}",
            f"  observatoire projection-ages {variable} --within 93 --control {reference}",
        ]
    )
