"""Demo files in the formats producers publish today, all of SYNTHETIC figures: an INSEE Melodi
labelled export (territories by name) and an ANCT file by quartier prioritaire (QPV) of six
FICTITIOUS quartiers (codes QP093901 to QP093906, which no real QPV bears), attached by name to
real communes of Seine-Saint-Denis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from observatoire.observatory import Observatory

__all__ = ["MELODI_FILE", "households_export", "melodi_import", "qpv_import"]

# Fictitious quartiers: (code, name, communes as the ANCT's LIB_COM writes them)
DEMO_QPV = (
    ("QP093901", "Quartier fictif des Tilleuls (démonstration)", "Saint-Denis"),
    ("QP093902", "Quartier fictif du Canal (démonstration)", "Aubervilliers, Pantin"),
    ("QP093903", "Quartier fictif du Plateau (démonstration)", "Clichy-sous-Bois, Montfermeil"),
    ("QP093904", "Quartier fictif de la Gare (démonstration)", "Bobigny"),
    ("QP093905", "Quartier fictif des Sablons (démonstration)", "Sevran"),
    ("QP093906", "Quartier fictif des Quatre-Routes (démonstration)", "La Courneuve"),
)


def qpv_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC ANCT/ONPV file by QPV (DEMO layout) of fictitious quartiers: the QPV level
    and the ensemble of the département's QPV are built from it."""
    rng = np.random.default_rng(93)
    students = np.random.default_rng(95).integers(0, 12, len(DEMO_QPV))  # small: some secret
    lines = ["CODGEO;LIB_QP;LIB_COM;POP_MUN;TX_F;TX_TOT_0A24;A;PERCOU;AM;AI;ENF;A_ETUD;;"]
    for (code, name, communes), student in zip(DEMO_QPV, students, strict=True):
        population = int(rng.integers(2_000, 12_000))
        households = int(population * rng.uniform(0.22, 0.3))
        single = int(households * rng.uniform(0.15, 0.25))
        alone = int(households * rng.uniform(0.3, 0.45))
        covered = int(population * rng.uniform(0.45, 0.6))
        women = f"{rng.uniform(49, 54):.1f}".replace(".", ",")
        young = f"{rng.uniform(33, 45):.1f}".replace(".", ",")
        lines.append(f"{code};{name};{communes};{population};{women};{young};{households};"
                     f"{covered};{single};{alone};{int(covered * 0.4)};{student};;")  # fmt: skip
    path = home / "data_DEMO_2024_QP_SYNTHETIQUES.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = obs.import_file(path, user="demo")
    counts = obs.geography.level_counts()
    return "\n".join(
        [
            "Quartiers prioritaires de la ville (QPV FICTIFS, données SYNTHÉTIQUES)",
            f"  {path.name} : reconnu comme {report.connector} ({report.producer}), "
            f"{report.rows_imported} quartiers ; au référentiel : {counts.get('qpv', 0)} QPV, "
            f"{counts.get('ensemble_qpv', 0)} ensemble(s) de QPV par département",
            "  Pages : /territoires/qpv/QP093901 (comparé à sa commune, à l'ensemble des QPV du "
            "département et au département), /territoires/ensemble_qpv/QPV2015-93",
        ]
    )


MELODI_FILE = "MELODI_MENAGES_SYNTHETIQUES.csv"


def households_export(obs: Observatory, year: int) -> str:
    """A SYNTHETIC Melodi labelled export of households (all, one-person) for the communes of
    the 93 in ``year`` (the year seeds the draws: one edition a year)."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(year)
    header = ('"Géographie";"Niveau Géo";"Fréquence";"Mesure du recensement";'
              '"Type de ménage";Période;Valeur')  # fmt: skip
    lines = [header]
    for name, population in zip(communes.name, communes.population, strict=True):
        households = float(population or 0) / rng.uniform(2.3, 2.7)
        alone = households * rng.uniform(0.3, 0.45)
        for kind, value in (("Total", households), ("Ménage à une personne", alone)):
            cell = f"{value:.6f}".replace(".", ",")
            lines.append(f'"{name}";"Commune";"Annuel";"Logements";"{kind}";{year};{cell}')
    return "\n".join(lines)  # Melodi: no final newline


def melodi_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC Melodi labelled export (territories by name, « Niveau Géo »): households
    by type for the communes of the 93 and the département, read through a vocabulary."""
    path = home / MELODI_FILE
    path.write_text(households_export(obs, 2022), encoding="utf-8")
    report = obs.import_file(path, user="demo")
    return "\n".join(
        [
            "Export Melodi de l'INSEE, territoires désignés par leur nom (données SYNTHÉTIQUES)",
            f"  {path.name} : reconnu comme {report.connector}, {report.rows_imported} lignes, "
            f"{report.rows_rejected} rejetée(s)",
            *(f"  {note}" for note in report.notes),
        ]
    )
