"""Observation needs and the yearly work programme.

Partners and services express needs (a question about a territory); the steering committee
looks at those nothing covers yet and decides a work programme of studies and working groups.
A need is *covered* once sources or indicators answer it; it is linked to the programme action
that takes it up.
"""

from __future__ import annotations

from collections.abc import Iterable

from observatoire.errors import InvalidValueError
from observatoire.inventory.fields import Entry, Field

__all__ = [
    "ACTION_FIELDS",
    "NEED_FIELDS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "check_need",
    "uncovered",
]

PRIORITIES = (("haute", "Haute"), ("moyenne", "Moyenne"), ("basse", "Basse"))
STATUSES = (
    ("exprime", "Exprimé"),
    ("etude", "À l'étude"),
    ("programme", "Programmé"),
    ("couvert", "Couvert"),
    ("abandonne", "Abandonné"),
)
OPEN_STATUSES = ("exprime", "etude", "programme")
NEED_FIELDS = (
    Field("identifiant", "Identifiant", help="attribué s'il est vide (B2026-001…)"),
    Field("question", "Question", "long", required=True),
    Field("theme", "Thème"),
    Field("territoire", "Territoire"),
    Field("demandeur", "Exprimé par", required=True, help="service ou partenaire"),
    Field("exprime_le", "Exprimé le", "date"),
    Field("priorite", "Priorité", "choix", choices=PRIORITIES),
    Field("statut", "Statut", "choix", choices=STATUSES),
    Field("sources", "Sources qui y répondent", "liste", help="identifiants de l'inventaire"),
    Field("indicateurs", "Indicateurs qui y répondent", "liste", help="identifiants du catalogue"),
    Field("action", "Action du programme", help="identifiant de l'action qui le prend en charge"),
    Field("notes", "Notes", "long"),
)
ACTION_KINDS = (
    ("etude", "Étude"),
    ("groupe", "Groupe de travail"),
    ("publication", "Publication"),
    ("outil", "Outil, tableau de bord"),
)
ACTION_STATUSES = (
    ("prevue", "Prévue"),
    ("en_cours", "En cours"),
    ("realisee", "Réalisée"),
    ("reportee", "Reportée"),
    ("abandonnee", "Abandonnée"),
)
ACTION_FIELDS = (
    Field("identifiant", "Identifiant", help="attribué s'il est vide (P2027-001…)"),
    Field("annee", "Année du programme", "annee", required=True),
    Field("titre", "Titre", required=True),
    Field("type", "Type", "choix", required=True, choices=ACTION_KINDS),
    Field("pilote", "Pilote"),
    Field("partenaires", "Partenaires associés", "liste"),
    Field("echeance", "Échéance", help="ex. 2e trimestre 2027"),
    Field("statut", "Statut", "choix", choices=ACTION_STATUSES),
    Field("description", "Description", "long"),
)


def check_need(entry: Entry) -> None:
    """Rules across fields: a covered need says what covers it; a programmed one, which action.

    >>> try:
    ...     check_need({"statut": "couvert", "sources": [], "indicateurs": []})
    ... except InvalidValueError as exc:
    ...     print(exc.column, ":", exc.message)
    statut : un besoin couvert nomme les sources ou les indicateurs qui y répondent
    """
    if entry.get("statut") == "couvert" and not (entry.get("sources") or entry.get("indicateurs")):
        raise InvalidValueError(
            "un besoin couvert nomme les sources ou les indicateurs qui y répondent",
            column="statut",
        )
    if entry.get("statut") == "programme" and not entry.get("action"):
        raise InvalidValueError(
            "un besoin programmé nomme l'action du programme qui le prend en charge",
            column="action",
        )


def uncovered(needs: Iterable[Entry]) -> list[Entry]:
    """The needs still open (neither covered nor abandoned), by priority then oldest first.

    >>> rows = [
    ...     {"identifiant": "a", "statut": "couvert"},
    ...     {"identifiant": "b", "statut": "exprime", "priorite": "basse", "exprime_le": "2026-01"},
    ...     {"identifiant": "c", "statut": "etude", "priorite": "haute", "exprime_le": "2026-05"},
    ... ]
    >>> [n["identifiant"] for n in uncovered(rows)]
    ['c', 'b']
    """
    rank = {p: i for i, (p, _) in enumerate(PRIORITIES)}
    open_needs = [n for n in needs if (n.get("statut") or "exprime") in OPEN_STATUSES]
    return sorted(
        open_needs,
        key=lambda n: (rank.get(n.get("priorite") or "moyenne", 1), n.get("exprime_le") or ""),
    )
