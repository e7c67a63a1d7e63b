"""Points de vigilance: what a data-quality review raises, and the life of each across reviews.

A flag is identified by what it is about — its check, its subject (an indicator, a declared
pair, a collection's operator), its territory and its period — so that the same anomaly found
by the next review is the same flag, with the state an analyst gave it:

``nouveau`` (raised, not looked at) → ``connu`` (seen, being looked into) → ``confirme`` (a
real anomaly of the data: shown to the public beside the value) or ``faux_positif`` (the
figure is right: the next reviews keep it so) ; a flag the review no longer raises becomes
``resolu``; raised again, it takes back the verdict it had (confirmé, faux positif), or is
``nouveau`` again.

Pure: :func:`merge` takes the stored flags and the raised ones and says what to write.

>>> flag_id("temps.ecart", "allocataires_caf", "commune", "93066", "2018")
'2ddccfa0fb'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "CHECKS",
    "DOMAINS",
    "FLAG_COLUMNS",
    "JUDGEMENTS",
    "PUBLIC_STATES",
    "SEVERITIES",
    "STATES",
    "Merge",
    "flag_id",
    "merge",
]

# The four domains of the WHO data-quality review.
DOMAINS = {
    "transmission": "Complétude et ponctualité des transmissions",
    "temps": "Cohérence dans le temps",
    "relations": "Cohérence entre indicateurs et sources",
    "denominateurs": "Dénominateurs",
}
CHECKS = {
    "transmission.manquante": "extraction manquante",
    "transmission.retard": "extraction en retard",
    "transmission.alerte": "opérateur sous le seuil de ponctualité",
    "temps.ecart": "écart à l'historique",
    "temps.rupture": "rupture de série",
    "temps.millesime": "millésime disparu",
    "temps.divergence": "territoires membres divergents",
    "relations.hors_bornes": "relation entre indicateurs non respectée",
    "denominateurs.sources": "dénominateurs de sources différentes",
}
STATES = {
    "nouveau": "nouveau",
    "connu": "connu",
    "confirme": "confirmé",
    "faux_positif": "faux positif",
    "resolu": "résolu",
}
PUBLIC_STATES = frozenset({"confirme"})  # shown to the public beside the value
JUDGEMENTS = frozenset({"confirme", "faux_positif"})  # an analyst's verdict on the figure
SEVERITIES = {"alerte": 3, "attention": 2, "information": 1}
FLAG_COLUMNS = [
    "id", "domain", "check_name", "severity", "subject", "level", "code", "period",
    "message", "detail", "batch",
]  # fmt: skip


def flag_id(check: str, subject: str, level: str, code: str, period: str) -> str:
    """A short, stable identifier of a flag from what it is about."""
    key = "|".join((check, subject, level, code, period))
    return hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Merge:
    """What a review changes: flags to insert (new), to refresh (still raised: message,
    values, maybe reopened), and to close (no longer raised, in the review's scope)."""

    new: pd.DataFrame
    refreshed: pd.DataFrame  # with the state they keep or take (reopened: nouveau)
    resolved: list[str]
    reopened: list[str]


def merge(stored: pd.DataFrame, raised: pd.DataFrame, in_scope: pd.Series) -> Merge:
    """Reconcile ``raised`` (the review's flags, :data:`FLAG_COLUMNS`) with ``stored`` (id,
    state, and ``judged`` when known: the judgement a resolved flag had): a flag not stored
    is new; a stored one raised again keeps its state, unless it was resolved (then it takes
    back the judgement it had, confirmé or faux positif, else it is new again); a stored one
    not raised whose ``in_scope`` (by position in ``stored``) is true, and not yet resolved,
    is resolved."""
    raised = raised.drop_duplicates("id")
    known = dict(zip(stored.id, stored.state, strict=True)) if len(stored) else {}
    judged: dict[str, object] = (dict(zip(stored.id, stored.judged, strict=True))
                                 if "judged" in stored.columns else {})  # fmt: skip
    is_new = ~raised.id.isin(list(known))
    again = raised[~is_new].copy()
    again["state"] = [known[i] for i in again.id]
    reopened = again.id[again.state == "resolu"].tolist()
    again.loc[again.state == "resolu", "state"] = [
        str(judged[i]) if judged.get(i) in JUDGEMENTS else "nouveau" for i in reopened
    ]
    seen = set(raised.id)
    scoped = stored[in_scope.to_numpy(dtype=bool)] if len(stored) else stored
    resolved = [i for i, s in zip(scoped.id, scoped.state, strict=True)
                if i not in seen and s != "resolu"]  # fmt: skip
    return Merge(raised[is_new].assign(state="nouveau"), again, resolved, reopened)
