"""The source inventory: producers' datasets and the information systems the observatory draws
on (SI-SIAO, the Département's social-aid software, CAF's files…), what they cover, under which
conditions, and when their next edition is expected.

A source names the datasets of the catalogue it feeds by patterns (``insee.rp.*``), so that its
imports and the indicators computed from them are found automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from fnmatch import fnmatchcase

from observatoire.catalog.datasets import FREQUENCIES, due_date
from observatoire.errors import InvalidValueError
from observatoire.inventory.fields import Entry, Field
from observatoire.inventory.remotes import parse_remote

__all__ = ["KINDS", "SOURCE_FIELDS", "check_source", "expected_edition", "feeds"]

KINDS = (
    ("donnees", "Jeu de données"),
    ("systeme", "Système d'information"),
    ("enquete", "Enquête"),
    ("referentiel", "Référentiel"),
)
_FREQUENCY_LABELS = {
    "mensuelle": "Mensuelle",
    "trimestrielle": "Trimestrielle",
    "semestrielle": "Semestrielle",
    "annuelle": "Annuelle",
    "biennale": "Tous les deux ans",
    "ponctuelle": "Ponctuelle",
}
SOURCE_FIELDS = (
    Field(
        "identifiant",
        "Identifiant",
        required=True,
        help="lettres, chiffres, - et . ; ex. caf-allocataires",
    ),
    Field("nom", "Nom", required=True),
    Field("type", "Type", "choix", required=True, choices=KINDS),
    Field("producteur", "Producteur", required=True),
    Field("partenaire", "Partenaire (code)", help="le code du partenaire, s'il a une convention"),
    Field("contact", "Contact", help="service, personne ou adresse à qui s'adresser"),
    Field("description", "Description", "long"),
    Field("themes", "Thèmes", "liste"),
    Field("niveaux", "Niveaux géographiques", "liste", help="ex. commune, iris, departement"),
    Field("territoires", "Territoires couverts"),
    Field("periode_debut", "Première période"),
    Field("periode_fin", "Dernière période"),
    Field(
        "frequence",
        "Fréquence de mise à jour",
        "choix",
        choices=tuple((k, _FREQUENCY_LABELS[k]) for k in FREQUENCIES),
    ),
    Field(
        "prochaine_edition",
        "Prochaine édition attendue",
        "date",
        help="sinon déduite du dernier import et de la fréquence",
    ),
    Field("acces", "Conditions d'accès", "long"),
    Field("licence", "Licence"),
    Field("convention", "Convention", help="la convention de partage de données qui la couvre"),
    Field(
        "jeux",
        "Jeux de données du catalogue",
        "liste",
        help="motifs d'identifiants de jeux, ex. insee.rp.* ; relient imports et indicateurs",
    ),
    Field(
        "distant",
        "Éditions publiées à",
        help="melodi:DS_… (INSEE Melodi), datagouv:jeu[/ressource] (data.gouv.fr) ou une "
        "adresse https://… ; « observatoire sources check » y cherche les nouvelles éditions",
    ),
    Field("url", "Adresse (documentation)", "url"),
    Field("notes", "Notes", "long"),
)
_IDENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def check_source(entry: Entry) -> None:
    """Rules across fields of a cleaned source (its identifier's form).

    >>> try:
    ...     check_source({"identifiant": "Si Siao"})
    ... except InvalidValueError as exc:
    ...     print(exc.column, ":", exc.message[:40])
    identifiant : identifiant « Si Siao » invalide : minus
    """
    ident = str(entry.get("identifiant") or "")
    if not _IDENT.match(ident):
        raise InvalidValueError(
            f"identifiant « {ident} » invalide : minuscules, chiffres, « . », « - » et « _ »",
            column="identifiant",
        )
    if entry.get("distant"):
        parse_remote(str(entry["distant"]))


def feeds(patterns: Iterable[str], dataset: str) -> bool:
    """Whether a dataset is one of a source's (its patterns, ``*`` as a wildcard).

    >>> feeds(["insee.rp.*", "cnaf.allocataires.commune"], "insee.rp.cles.commune")
    True
    >>> feeds(["insee.rp.*"], "insee.filosofi.cc.commune")
    False
    """
    return any(fnmatchcase(dataset, p) for p in patterns)


def expected_edition(entry: Entry, last_import: date | None) -> date | None:
    """When the next edition of a source is expected: the date the inventory gives, unless an
    import came after it; else the last import plus the frequency (a month's grace).

    >>> expected_edition({"prochaine_edition": "2026-06-30", "frequence": "annuelle"}, None)
    datetime.date(2026, 6, 30)
    >>> expected_edition({"prochaine_edition": "2026-06-30", "frequence": "annuelle"},
    ...                  date(2026, 7, 2))
    datetime.date(2027, 8, 2)
    >>> expected_edition({"frequence": "ponctuelle"}, date(2026, 7, 2)) is None
    True
    """
    given = entry.get("prochaine_edition")
    if given and (last_import is None or last_import < date.fromisoformat(given)):
        return date.fromisoformat(given)
    if last_import is None or not entry.get("frequence"):
        return None
    return due_date(last_import, str(entry["frequence"]))
