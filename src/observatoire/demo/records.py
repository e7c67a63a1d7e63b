"""The demo's collection of operators' records: fictitious accommodation requests.

Eight fictitious operators of Seine-Saint-Denis (their names say FICTIF) record requests for
emergency accommodation over eighteen months. Their entries are complete to very different
degrees, one of them improves markedly after the restitution meeting of June 2025, one stops
entering for a month (a volume jump), and two of them record some of the same households
(probable duplicates). The communes are real; every record is invented (seeded, reproducible).
:func:`synthetic_records` also feeds the benchmark (a million records).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from observatoire.observatory import Observatory

__all__ = [
    "COLLECTION",
    "COLLECTION_YAML",
    "MEETING",
    "OPERATORS",
    "OWN_OPERATOR",
    "import_demo_records",
    "restitution_reports",
    "synthetic_records",
]
OWN_OPERATOR = "OP03"  # the demo's operator account (partner « op03 ») sees this one's records

COLLECTION = "demandes_hebergement"
MEETING = "2025-06-16"
CALENDAR_START, CALENDAR_END = "2025-07", "2025-12"  # the extracts' calendar (timeliness)
COLLECTION_YAML = """\
# Collection FICTIVE de la démonstration : demandes d'hébergement d'urgence saisies par les
# opérateurs (voir docs/completude.md). Les opérateurs et les enregistrements sont inventés.
collection: demandes_hebergement
libelle: Demandes d'hébergement d'urgence (FICTIF)
fictif: oui
theme: social
diffusion: public
secret: 5
colonnes:
  operateur: code_structure
  nom_operateur: structure
  commune: commune
  date: date_demande
  personne: id_menage
valeurs_manquantes: [non renseigné, non renseignée, inconnu, inconnue, NSP, ne sait pas, "?"]
champs:
  - {nom: sexe, libelle: Sexe du demandeur, type: code, valeurs: {F: Femme, M: Homme},
     obligatoire: oui}
  - {nom: age, libelle: Âge du demandeur, type: entier, obligatoire: oui, poids: 2}
  - nom: composition
    libelle: Composition du ménage
    type: code
    valeurs: {seul: Personne seule, couple: Couple sans enfant,
              monoparentale: Famille monoparentale, couple_enfants: Couple avec enfants}
    obligatoire: oui
    poids: 2
  - {nom: nb_enfants, libelle: Nombre d'enfants, type: entier,
     obligatoire_si: 'composition dans ("monoparentale", "couple_enfants")'}
  - {nom: taille_menage, libelle: Taille du ménage, type: entier, obligatoire: oui}
  - nom: ressources
    libelle: Principale ressource
    type: code
    valeurs: {aucune: Aucune, rsa: RSA, salaire: Salaire, are: Allocation chômage,
              aah: AAH, autre: Autre}
    obligatoire: oui
  - nom: situation
    libelle: Situation au moment de la demande
    type: code
    valeurs: {rue: À la rue, tiers: Hébergé par un tiers, hotel: À l'hôtel,
              expulsion: Sortie de logement, institution: Sortie d'institution}
    obligatoire: oui
  - nom: issue
    libelle: Suite donnée
    type: code
    valeurs: {orientee: Orientée vers une place, sans_solution: Sans solution,
              annulee: Annulée}
    obligatoire: oui
    poids: 2
  - {nom: date_orientation, libelle: Date d'orientation, type: date,
     obligatoire_si: 'issue == "orientee"'}
  - {nom: nationalite, libelle: Nationalité, type: code,
     valeurs: {francaise: Française, ue: Union européenne, hors_ue: Hors Union européenne},
     poids: 0.5}
  - {nom: nir, libelle: NIR du demandeur, identifiant: hacher}
regles:
  - {id: age_plausible, libelle: Âge entre 0 et 110 ans, condition: "0 <= age <= 110"}
  - {id: menage_coherent, libelle: Ménage plus grand que le nombre d'enfants,
     condition: "taille_menage > nb_enfants"}
  - {id: orientation_apres_demande, libelle: Orientation après la demande,
     condition: "date_orientation >= date"}
mesures:
  - {id: FAMILLES, libelle: Demandes de familles avec enfants,
     si: 'composition dans ("monoparentale", "couple_enfants")'}
  - {id: SANS_SOLUTION, libelle: Demandes restées sans solution, si: 'issue == "sans_solution"'}
  - {id: PERSONNES, libelle: Personnes concernées, somme: taille_menage}
indicateurs:
  - id: demandes_hebergement
    label: Demandes d'hébergement d'urgence (FICTIF)
    unit: demandes
    formula: {variable: demandes_hebergement.ENREGISTREMENTS}
    aggregation: sum
    definition: Demandes enregistrées par les opérateurs dans l'année (données fictives).
    sources: [Opérateurs de l'hébergement (démonstration, FICTIF)]
  - id: part_demandes_sans_solution
    label: Part des demandes d'hébergement restées sans solution (FICTIF)
    unit: "%"
    polarity: lower_is_better
    formula: {numerator: demandes_hebergement.SANS_SOLUTION,
              denominator: demandes_hebergement.ENREGISTREMENTS, multiplier: 100}
    definition: Demandes sans solution parmi les demandes enregistrées (données fictives).
    sources: [Opérateurs de l'hébergement (démonstration, FICTIF)]
  - id: part_demandes_familles
    label: Part des demandes venant de familles avec enfants (FICTIF)
    unit: "%"
    formula: {numerator: demandes_hebergement.FAMILLES,
              denominator: demandes_hebergement.ENREGISTREMENTS, multiplier: 100}
    sources: [Opérateurs de l'hébergement (démonstration, FICTIF)]
completude: {seuil: 80, sous_le_seuil: signaler, alerte: 70}
doublons: {fenetre_jours: 30}
# Calendrier adopté à la réunion de juin 2025 : une extraction par mois, due le 10 du mois
# suivant, de juillet à décembre 2025 (l'historique FICTIF de la démonstration s'arrête là).
calendrier:
  frequence: mensuelle
  echeance: 10
  alerte: 80
  operateurs:
"""


@dataclass(frozen=True)
class Operator:
    code: str
    name: str
    missing: float  # share of optional answers left out, before the meeting
    after: float  # the same after the meeting
    volume: int  # records a month


OPERATORS = (
    Operator("OP01", "Accueil Horizon (FICTIF)", 0.02, 0.02, 60),
    Operator("OP02", "Le Relais du Canal (FICTIF)", 0.08, 0.06, 45),
    Operator("OP03", "Toit Solidaire (FICTIF)", 0.42, 0.12, 40),
    Operator("OP04", "Escale 93 (FICTIF)", 0.25, 0.18, 35),
    Operator("OP05", "La Passerelle (FICTIF)", 0.38, 0.36, 30),
    Operator("OP06", "Maison d'accueil de l'Est (FICTIF)", 0.10, 0.08, 40),
    Operator("OP07", "Antenne SIAO Nord (FICTIF)", 0.15, 0.10, 50),
    Operator("OP08", "Abri de nuit (FICTIF)", 0.22, 0.20, 25),
)
# every operator expected by the calendar from its start to the end of the demo's history
COLLECTION_YAML += "".join(f"    {op.code}: {{depuis: {CALENDAR_START}, jusqua: {CALENDAR_END}}}\n"
                           for op in OPERATORS)  # fmt: skip
_FIELDS = ("sexe", "age", "composition", "nb_enfants", "taille_menage", "ressources",
           "situation", "issue", "date_orientation", "nationalite")  # fmt: skip
_MISSING_MARKS = np.array(["", "", "non renseigné", "NSP", "inconnu"])


def _months(first: str, count: int) -> list[str]:
    start = pd.Period(first, freq="M")
    return [str(start + i) for i in range(count)]


def synthetic_records(
    communes: Sequence[str],
    *,
    operators: Sequence[Operator] = OPERATORS,
    first_month: str = "2024-07",
    months: int = 18,
    scale: float = 1.0,
    seed: int = 93,
) -> pd.DataFrame:
    """Fictitious records as an operator's software would export them (text cells, French
    dates). ``scale`` multiplies every volume (the benchmark asks for a million records)."""
    rng = np.random.default_rng(seed)
    home = {op.code: rng.choice(communes, size=min(3, len(communes)), replace=False)
            for op in operators}  # fmt: skip
    meeting = MEETING[:7]
    frames = []
    for op in operators:
        for month in _months(first_month, months):
            n = int(op.volume * scale * rng.uniform(0.85, 1.15))
            if op.code == "OP06" and month == "2025-03":
                n = max(1, n // 15)  # stopped entering for a month: a volume jump
            missing = op.after if month > meeting else op.missing
            frames.append(_month(rng, op, month, n, home[op.code], missing))
    records = pd.concat(frames, ignore_index=True)
    # some households asked two operators the same month: probable duplicates
    month = records.date_demande.str[3:]
    for period in month.unique()[::2]:
        shared = records.index[(records.code_structure == "OP08") & (month == period)][:2]
        donors = records.index[(records.code_structure == "OP01") & (month == period)][:2]
        count = min(len(shared), len(donors))
        records.loc[shared[:count], "id_menage"] = records.loc[donors[:count], "id_menage"].values
    return records


def _month(
    rng: np.random.Generator,
    op: Operator,
    month: str,
    n: int,
    communes: np.ndarray,
    missing: float,
) -> pd.DataFrame:
    year, mon = int(month[:4]), int(month[5:])
    days = pd.Timestamp(year=year, month=mon, day=1) + pd.to_timedelta(
        rng.integers(0, 28, n), unit="D"
    )
    composition = rng.choice(["seul", "couple", "monoparentale", "couple_enfants"], n,
                             p=[0.48, 0.12, 0.28, 0.12])  # fmt: skip
    family = np.isin(composition, ["monoparentale", "couple_enfants"])
    children = np.where(family, rng.integers(1, 5, n), 0)
    adults = np.where(np.isin(composition, ["couple", "couple_enfants"]), 2, 1)
    issue = rng.choice(["orientee", "sans_solution", "annulee"], n, p=[0.55, 0.38, 0.07])
    oriented = days + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    frame = pd.DataFrame(
        {
            "code_structure": op.code,
            "structure": op.name,
            "commune": rng.choice(communes, n),
            "date_demande": days.strftime("%d/%m/%Y"),
            "id_menage": [f"{op.code}-{month}-{i}" for i in range(n)],
            "sexe": rng.choice(["F", "M"], n, p=[0.46, 0.54]),
            "age": rng.integers(18, 75, n).astype(str),
            "composition": composition,
            "nb_enfants": np.where(family, children.astype(str), ""),
            "taille_menage": (adults + children).astype(str),
            "ressources": rng.choice(["aucune", "rsa", "salaire", "are", "aah", "autre"], n),
            "situation": rng.choice(["rue", "tiers", "hotel", "expulsion", "institution"], n),
            "issue": issue,
            "date_orientation": np.where(issue == "orientee", oriented.strftime("%Y-%m-%d"), ""),
            "nationalite": rng.choice(["francaise", "ue", "hors_ue"], n),
            "nir": "",
        }
    )
    for name in _FIELDS:
        gaps = rng.random(n) < missing * (1.6 if name in ("ressources", "nationalite") else 1)
        frame.loc[gaps, name] = rng.choice(_MISSING_MARKS, int(gaps.sum()))
    odd = rng.random(n) < 0.004  # a few typing errors: ages of 150
    frame.loc[odd, "age"] = "150"
    return frame


# The calendar starts in July 2025: the history before came in one extract per operator,
# received on 4 July 2025; then one extract a month, a few days before it is due, except La
# Passerelle's of September and October 2025 (late: received on 28 October and 5 December).
RECEIVED = {("OP05", "2025-09"): "2025-10-28", ("OP05", "2025-10"): "2025-12-05"}


def _extract_of(months: pd.Series) -> pd.Series:
    """The extract each record is sent in: its month from the calendar's start, else the
    history's (« historique »)."""
    return months.where(months >= CALENDAR_START, "historique")


def _on_time(code: str, month: str) -> str:
    """The day an extract sent on time was received: 4 July 2025 for the history, else a few
    days (seeded by the operator) before the 10th of the following month."""
    if month == "historique":
        return "2025-07-04"
    due = pd.Period(month, freq="M") + 1
    return f"{due}-{9 - int(code[-1]) % 5:02d}"


def import_demo_records(obs: Observatory, home: Path, echo: Callable[[str], None]) -> str:
    """Declare the collection, write one FICTITIOUS extract per operator and import them; record
    the restitution meeting. Returns the summary's section."""

    folder = home / "collections"
    folder.mkdir(exist_ok=True)
    (folder / f"{COLLECTION}.yaml").write_text(COLLECTION_YAML, encoding="utf-8")
    obs.reload_declarations()  # read the collection just written
    own = next(op for op in OPERATORS if op.code == OWN_OPERATOR)
    obs.partners.save(OWN_OPERATOR, own.name, "Opérateur (FICTIF)")
    communes = obs.geography.territories(level="commune", within="93").code.astype(str).tolist()
    records = synthetic_records(communes)
    extracts = home / "extractions"
    extracts.mkdir(exist_ok=True)
    kept, rejected = 0, 0
    month_of = records.date_demande.str[6:10] + "-" + records.date_demande.str[3:5]
    for (code, month), part in records.groupby(["code_structure", _extract_of(month_of)]):
        received = RECEIVED.get((str(code), str(month))) or _on_time(str(code), str(month))
        path = extracts / f"extraction_{code}_{month}_FICTIVE.csv"
        part.to_csv(path, sep=";", index=False, encoding="utf-8")
        report = obs.records.import_file(path, COLLECTION, received=received)
        kept, rejected = kept + report.records_kept, rejected + report.records_rejected
    label = "réunion départementale (FICTIVE)"
    obs.records.save_meeting(COLLECTION, MEETING, "departement:93", label)
    table = obs.records.completeness(COLLECTION, by=["operator"])
    table = table.sort_values("score", ascending=False)
    echo(f"Enregistrements FICTIFS : {kept} demandes de {len(table)} opérateurs importées")
    lines = [
        f"Complétude des enregistrements (collection FICTIVE {COLLECTION}, observatoire "
        "completeness) : "
        f"{kept} demandes importées, {rejected} rejetées, réunion de restitution le {MEETING}",
        *(
            f"  {row.operator_name} : score {row.score:.1f} %, {row.records} demandes"
            for row in table.itertuples()
        ),
    ]
    return "\n".join(lines)


def restitution_reports(obs: Observatory, home: Path) -> list[Path]:
    """The restitution reports (PDF) of the département's meeting and of the operator of the
    demo's operator account, in ``restitutions/``."""
    from observatoire.outputs.restitution import render_restitution

    folder = home / "restitutions"
    folder.mkdir(exist_ok=True)
    written = []
    for name, territory, operator in (
        ("restitution_93_FICTIVE.pdf", "departement:93", None),
        (f"restitution_{OWN_OPERATOR}_FICTIVE.pdf", None, OWN_OPERATOR),
    ):
        report = obs.records.restitution(COLLECTION, territory=territory, operator=operator)
        path = folder / name
        path.write_bytes(render_restitution(report, "pdf", home=obs.home.path))
        written.append(path)
    return written
