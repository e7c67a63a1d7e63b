"""The demo's data-quality review: run over everything the demo holds, then two flags judged
as an analyst would (the synthetic France Travail file's jumps: one confirmed, one a false
positive) and the late operator's flags marked as known. Every judgement is FICTITIOUS."""

from __future__ import annotations

from observatoire.demo.partners import ANOMALIES
from observatoire.demo.records import COLLECTION
from observatoire.observatory import Observatory
from observatoire.quality.flags import STATES
from observatoire.services.quality import QualityReview
from observatoire.store.appdb import open_appdb

__all__ = ["JUDGEMENTS", "quality_review"]

ANALYST = "analyste@demo.observatoire.fr"
# (check, subject, code, period) → (state, comment)
JUDGEMENTS = {
    ("temps.ecart", "demandeurs_emploi", "93048", "2024-T3"): (
        "confirme", "erreur de saisie dans le fichier du partenaire, corrigée à la prochaine "
        "livraison (FICTIF)"),
    ("temps.ecart", "demandeurs_emploi", "93010", "2025-T1"): (
        "faux_positif", "hausse réelle : ouverture d'une agence France Travail qui a repris "
        "des dossiers (FICTIF)"),
}


def quality_review(obs: Observatory) -> str:
    """Review the demo, judge the flags of :data:`JUDGEMENTS` and the late operator's; the
    summary's section."""
    home = obs.home
    db = open_appdb(home.path, home.backend, home.location)
    try:
        service = QualityReview(obs, db)
        outcome = service.run(actor="démonstration")
        flags = service.flags(states=list(STATES))  # judged already when built again
        judged = []
        for (check, subject, code, period), (state, comment) in JUDGEMENTS.items():
            found = flags[(flags.check_name == check) & (flags.subject == subject)
                          & (flags.code == code) & (flags.period == period)]  # fmt: skip
            if len(found):
                service.set_state(found.id.tolist(), state, actor=ANALYST, comment=comment)
                judged.append(f"  {found.iloc[0].territory} {period} : {found.iloc[0].message}"
                              f" → {STATES[state]} ({comment})")  # fmt: skip
        late = flags[(flags.subject == f"collection:{COLLECTION}") & (flags.state != "resolu")
                     & (flags.check_name == "transmission.retard")]  # fmt: skip
        if len(late):
            service.set_state(late.id.tolist(), "connu", actor=ANALYST,
                              comment="opérateur relancé par courriel (FICTIF)")  # fmt: skip
        counts = ", ".join(f"{n} {d}" for d, n in outcome.review.counts().items())
        lines = [
            "Revue de qualité des données (observatoire quality review ; page /qualite)",
            f"  {len(outcome.review.flags)} points de vigilance relevés ({counts})",
            f"  Anomalies glissées dans le fichier France Travail SYNTHÉTIQUE : {len(ANOMALIES)} ; "
            "jugées :",
            *judged,
            *(f"  {r.message}" for r in late.itertuples()),
        ]
        return "\n".join(lines)
    finally:
        db.close()
