"""The partners' files of the demo, SYNTHETIC and labelled so: the CAF's (recognised without
configuration), the CPAM's and the Département's (each with its YAML descriptor), France
Travail's job seekers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.demo.fictitious import (
    thousands,
)
from observatoire.observatory import Observatory
from observatoire.text import french_number

CAF_FILE = "donnees_SYNTHETIQUES_CAF_2024_COM.csv"


def caf_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC CNAF file of the 93 in the CNAF's native layout (CODGEO;LIBGEO;A;PERCOU;…),
    imported through the same pipeline as real files (recognised with zero configuration)."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(2024)
    households = (communes.population.fillna(0) / 2.3).round()
    share = rng.uniform(0.35, 0.55, len(communes))
    a = (households * share).round().astype(int)
    table = pd.DataFrame(
        {
            "CODGEO": communes.code,
            "LIBGEO": communes.name,
            "A": a,
            "PERCOU": (a * rng.uniform(2.2, 2.9, len(a))).round().astype(int),
            "AM": (a * rng.uniform(0.12, 0.22, len(a))).round().astype(int),
            "AI": (a * rng.uniform(0.3, 0.45, len(a))).round().astype(int),
            "AAL": (a * rng.uniform(0.25, 0.4, len(a))).round().astype(int),
            "AAPL": (a * rng.uniform(0.1, 0.2, len(a))).round().astype(int),
            "AAAH": (a * rng.uniform(0.03, 0.06, len(a))).round().astype(int),
            "APPA": (a * rng.uniform(0.15, 0.25, len(a))).round().astype(int),
            "ARSAS": (a * rng.uniform(0.1, 0.3, len(a))).round().astype(int),
            # a rare case, small counts in places: what the statistical secret is for
            "A_ETUD": (a * rng.uniform(0.0, 0.0012, len(a))).round().astype(int),
        }
    )
    table.loc[table.A < 2000, "ARSAS"] = -1  # marked secret below, as the CNAF does
    path = home / CAF_FILE
    text = table.to_csv(sep=";", index=False).replace(";-1\n", ";\n")
    path.write_text(text, encoding="utf-8")
    report = obs.import_file(path, user="demo")
    values = obs.values("caf.ARSAS", within=("departement", "93"), period="2024")
    top = values.sort_values("value", ascending=False).iloc[0]
    return "\n".join(
        [
            "Import d'un fichier partenaire (données SYNTHÉTIQUES, format natif CNAF)",
            f"  {path.name} : reconnu comme {report.connector}, {report.rows_imported} communes, "
            f"{report.values_stored} valeurs (import n° {report.batch})",
            f"  {report.statuses.get('secret', 0)} valeurs en secret statistique (cellules vides), "
            "gardées comme telles",
            "  Foyers allocataires du RSA (caf.ARSAS, 2024) : le plus grand nombre à "
            f"{top['name']} ({thousands(top.value)})",
        ]
    )


CPAM_DESCRIPTOR = """\
# Descripteur d'un fichier partenaire FICTIF (démonstration) : voir docs/imports.md
[dataset]
id = "cpam.c2s"
label = "Complémentaire santé solidaire (données SYNTHÉTIQUES)"
producer = "CPAM (fictive, démonstration)"
confidentiality = "membres"
frequency = "annuelle"

[geography]
level = "commune"
code_column = "Code commune"

[period]
value = "2024"

[markers]
secret = ["<5"]

[[variables]]
column = "Assurés"
code = "ASSURES"
kind = "count"

[[variables]]
column = "Bénéficiaires C2S"
code = "C2S"
label = "Bénéficiaires de la complémentaire santé solidaire"
kind = "count"
total = "Assurés"
"""


def described_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC CPAM extraction (title line, CP1252, thousands separators) imported with a
    descriptor, as an analyst does for a partner's own format."""
    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    descriptor = home / "descripteur_cpam_c2s_FICTIF.toml"
    descriptor.write_text(CPAM_DESCRIPTOR, encoding="utf-8")
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(7)
    insured = (communes.population.fillna(0) * rng.uniform(0.85, 0.95, len(communes))).round()
    c2s = (insured * rng.uniform(0.08, 0.22, len(communes))).round()
    lines = [
        "Extraction CPAM (FICTIVE) - données SYNTHÉTIQUES",
        "",
        "Code commune;Commune;Assurés;Bénéficiaires C2S",
    ]
    for code, name, a, b in zip(communes.code, communes.name, insured, c2s, strict=True):
        # Thousands separated by a no-break space, as a French spreadsheet exports them.
        lines.append(
            f"{code};{name};{a:,.0f};{f'{b:,.0f}' if b >= 5 else '<5'}".replace(",", "\u00a0")
        )
    path = home / "donnees_SYNTHETIQUES_CPAM_C2S_2024.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    connector = DescriptorConnector(load_descriptor(descriptor))
    report = obs.import_file(path, connector=connector, user="demo")
    return "\n".join(
        [
            "Import d'un fichier partenaire décrit par un descripteur (données SYNTHÉTIQUES)",
            f"  {path.name} + {descriptor.name} : {report.rows_imported} communes, "
            f"{report.values_stored} valeurs, {report.cells_rejected} cellule(s) rejetée(s), "
            "variables " + ", ".join(report.variables_created or report.variables_updated),
        ]
    )


# Two jumps slipped into the SYNTHETIC file, for the data-quality review to find: Montreuil's
# third quarter of 2024 (a partner's entry error, which the demo's analyst confirms) and
# Bondy's first quarter of 2025 (a real rise, judged a false positive).
ANOMALIES = {("93048", "2024-T3"): 2.2, ("93010", "2025-T1"): 1.7}


def jobseekers_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC France Travail file in its long layout (quarter × commune × category × sex),
    recognised from the shape of its values."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(2025)
    lines = ["Période;Code commune;Libellé commune;Catégorie;Sexe;Nombre"]
    # two years of quarters: each commune its own level and trend, and some noise (a series
    # to project: see « observatoire projection demandeurs_emploi --within 93 »)
    count = len(communes)
    rate, trend = rng.uniform(0.02, 0.05, count), rng.normal(-0.03, 0.03, count)
    quarters = [f"{y}-T{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)][2:10]
    for step, quarter in enumerate(quarters):
        level = communes.population.fillna(0).to_numpy() * rate * (1 + trend) ** (step / 4)
        for i, (code, name) in enumerate(zip(communes.code, communes.name, strict=True)):
            for category in ("A", "ABC"):
                for sex in ("F", "H"):
                    noise = rng.normal(1, 0.015) * ANOMALIES.get((code, quarter), 1.0)
                    n = int(level[i] / 2 * noise * (1.6 if category == "ABC" else 1))
                    lines.append(f"{quarter};{code};{name};{category};{sex};{n}")
    path = home / "donnees_SYNTHETIQUES_FranceTravail_DEFM_2025.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = obs.import_file(path, user="demo")
    return "\n".join(
        [
            "Import d'un fichier France Travail au format long (données SYNTHÉTIQUES)",
            f"  {path.name} : reconnu comme {report.connector}, périodes "
            f"{', '.join(report.periods)}, {report.values_stored} valeurs par catégorie et sexe",
            *(f"  {note}" for note in report.notes),
            _projected_jobseekers(obs),
        ]
    )


def _projected_jobseekers(obs: Observatory) -> str:
    """The projection of the synthetic series, with the error measured on it."""
    found = obs.projection("demandeurs_emploi", level="commune", within=("departement", "93"))
    error = found.error
    return (
        f"  Projection des demandeurs d'emploi jusqu'en {found.target}, {found.assumption} : "
        f"méthode {found.method}, erreur mesurée {french_number(error.mape, 1)} % en moyenne sur "
        f"{int(error.territories)} communes (observatoire projection demandeurs_emploi "
        "--within 93 ; page /indicateurs/demandeurs_emploi/projection?dans=93)"
    )


DEPARTEMENT_DESCRIPTOR = """\
# Descripteur (YAML) d'un tableau FICTIF du Département (démonstration) : voir docs/imports.md
dataset:
  id: departement93.rsa
  label: Allocataires du RSA suivis par le Département (données SYNTHÉTIQUES)
  producer: Département (fictif, démonstration)
  confidentiality: partenaire
  frequency: trimestrielle
geography:
  level: commune
  code_column: Code INSEE
period:
  value: "2025"
variables:
  - column: Allocataires RSA
    code: RSA_SUIVIS
    kind: count
    unit: foyers
  - column: Dont en parcours d'insertion
    code: RSA_PARCOURS
    kind: count
    unit: foyers
    total: Allocataires RSA
"""


def departement_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC table of the Département, an XLSX with title rows above the codes, imported
    with a descriptor."""
    import openpyxl

    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    descriptor = home / "descripteur_departement_rsa_FICTIF.yaml"
    descriptor.write_text(DEPARTEMENT_DESCRIPTOR, encoding="utf-8")
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(93093)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Département - Direction de l'insertion (FICTIF)"])
    sheet.append(["Allocataires du RSA au 31/12/2025 - données SYNTHÉTIQUES"])
    sheet.append([])
    sheet.append(["Code INSEE", "Commune", "Allocataires RSA", "Dont en parcours d'insertion"])
    for code, name, pop in zip(communes.code, communes.name, communes.population, strict=True):
        total = int(pop * rng.uniform(0.02, 0.06))
        sheet.append([int(code), name, total, int(total * rng.uniform(0.4, 0.8))])
    path = home / "donnees_SYNTHETIQUES_Departement_RSA_2025.xlsx"
    book.save(path)
    connector = DescriptorConnector(load_descriptor(descriptor))
    report = obs.import_file(path, connector=connector, user="demo")
    return "\n".join(
        [
            "Import d'un tableau du Département (XLSX avec lignes de titre, données SYNTHÉTIQUES)",
            f"  {path.name} + {descriptor.name} : {report.rows_imported} communes "
            f"(codes saisis comme nombres dans le classeur), {report.values_stored} valeurs",
        ]
    )
