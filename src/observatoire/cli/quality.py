"""The data-quality review: ``quality review``, ``quality flags``, ``quality show``,
``quality set``, ``quality timeliness``, ``quality reviews``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
import pandas as pd

from observatoire.cli._common import FORMATS, Context, emit, pass_ctx
from observatoire.quality.flags import CHECKS, DOMAINS, SEVERITIES, STATES

__all__ = ["COMMANDS", "quality"]


@contextmanager
def _review(ctx: Context) -> Iterator[object]:
    """The review service of the observatory, opened read-only (the review writes to the
    application database only: it runs while the server does)."""
    from observatoire.services.quality import QualityReview
    from observatoire.store.appdb import open_appdb

    with ctx.open() as obs:
        home = obs.home
        db = open_appdb(home.path, home.backend, home.location)
        try:
            yield QualityReview(obs, db)
        finally:
            db.close()


@click.group("quality")
def quality() -> None:
    """Revue de la qualité des données : transmissions des opérateurs, cohérence dans le
    temps, cohérence entre indicateurs et sources, dénominateurs (docs/qualite.md).

    \b
    Exemples :
      observatoire quality review
      observatoire quality flags --severity alerte
      observatoire quality set 2ddccfa0fb --state faux_positif --comment "fusion de communes"
    """


@quality.command("review")
@click.option("--within", metavar="TERRITOIRE", help="Seulement ce territoire (ex. 93, "
              "departement:93) : ses territoires et ceux qu'il contient.")  # fmt: skip
@click.option("--since", metavar="AAAA-MM-JJ",
              help="Seulement les indicateurs des imports faits depuis cette date.")
@click.option("--indicator", "indicators", multiple=True, help="Seulement cet indicateur "
              "(répétable).")  # fmt: skip
@click.option("--by", "actor", default="ligne de commande", show_default=True,
              help="Qui lance la revue (gardé avec ses points de vigilance).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def review_cmd(ctx: Context, within: str | None, since: str | None,
               indicators: tuple[str, ...], actor: str, fmt: str) -> None:  # fmt: skip
    """Passe en revue ce que l'observatoire contient et garde les points de vigilance.

    Les indicateurs calculés (observatoire compute) sont confrontés à leur historique, les
    relations déclarées entre indicateurs sont vérifiées, les transmissions des opérateurs
    comparées au calendrier de chaque collection. Un point déjà relevé garde l'état qu'un
    chargé d'études lui a donné ; un point qui n'est plus relevé devient « résolu ».

    \b
    Exemples :
      observatoire quality review
      observatoire quality review --within 93 --since 2026-01-01
    """
    with _review(ctx) as service:
        outcome = service.run(  # type: ignore[attr-defined]
            actor=actor, within=within, since=since, indicators=list(indicators) or None,
            on_step=(lambda step: click.echo(f"  … {step}", err=True)) if fmt == "table"
            else (lambda _: None),
        )  # fmt: skip
    counts = outcome.review.flags.groupby(["domain", "check_name"]).size()
    table = pd.DataFrame(
        [{"domaine": DOMAINS[d], "contrôle": CHECKS.get(c, c), "points": int(n)}
         for (d, c), n in counts.items()]
    )
    if fmt != "table":
        emit(table, fmt)
        return
    click.echo(f"Revue n° {outcome.number} ({outcome.seconds:.1f} s) : "
               f"{len(outcome.review.flags)} point(s) de vigilance relevé(s) — "
               f"{outcome.new} nouveau(x), {outcome.still} déjà connu(s), "
               f"{outcome.resolved} résolu(s), {outcome.reopened} rouvert(s)")  # fmt: skip
    if len(table):
        emit(table, "table")
    for note in outcome.review.notes:
        click.echo(f"  · {note}")
    click.echo("Détail : observatoire quality flags")


@quality.command("flags")
@click.option("--state", "states", multiple=True, type=click.Choice(list(STATES)),
              help="États (répétable ; défaut : nouveau, connu, confirme).")
@click.option("--all-states", is_flag=True, help="Tous les états, résolus compris.")
@click.option("--domain", "domains", multiple=True, type=click.Choice(list(DOMAINS)))
@click.option("--severity", "severities", multiple=True, type=click.Choice(list(SEVERITIES)))
@click.option("--subject", help="Indicateur, coherence:ID ou collection:NOM.")
@click.option("--level", help="Niveau des territoires (commune, epci, iris, operateur…).")
@click.option("--territory", help="Un territoire (93066, departement:93…).")
@click.option("--import", "batch", type=int, help="Les points levés sur les valeurs de cet "
              "import (n°).")  # fmt: skip
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Fichier où écrire.")
@pass_ctx
def flags_cmd(ctx: Context, states: tuple[str, ...], all_states: bool,
              domains: tuple[str, ...], severities: tuple[str, ...], subject: str | None,
              level: str | None, territory: str | None, batch: int | None, fmt: str,
              output: str | None) -> None:  # fmt: skip
    """Liste les points de vigilance, les plus graves d'abord.

    \b
    Exemples :
      observatoire quality flags
      observatoire quality flags --domain temps --level commune --format csv
      observatoire quality flags --import 12
    """
    from observatoire.services.quality import OPEN_STATES

    chosen = list(STATES) if all_states else (list(states) or list(OPEN_STATES))
    with _review(ctx) as service:
        found = service.flags(states=chosen, domains=domains, severities=severities,  # type: ignore[attr-defined]
                              subject=subject, level=level, territory=territory, batch=batch)
    columns = {"id": "id", "severity": "gravité", "state_label": "état", "check": "contrôle",
               "subject": "sujet", "level": "niveau", "code": "code", "territory": "territoire",
               "period": "période", "message": "constat", "batch": "import",
               "comment": "commentaire"}  # fmt: skip
    if fmt == "json":
        records = found.drop(columns=["rank"], errors="ignore")
        click.echo(json.dumps(json.loads(records.to_json(orient="records", force_ascii=False)),
                              ensure_ascii=False, indent=1))  # fmt: skip
        return
    shown = found[list(columns)].rename(columns=columns) if len(found) else pd.DataFrame(
        columns=list(columns.values()))  # fmt: skip
    shown["import"] = shown["import"].astype("Int64")
    shown = shown.astype(object).where(shown.notna(), "")
    if fmt == "table":
        shown = shown.drop(columns=["constat"]).assign(
            constat=found.message.str.slice(0, 90) if len(found) else [])
    emit(shown, fmt, output)


@quality.command("show")
@click.argument("ident")
@pass_ctx
def show_cmd(ctx: Context, ident: str) -> None:
    """Un point de vigilance : constat, valeurs, état et historique.

    \b
    Exemple :
      observatoire quality show 2ddccfa0fb
    """
    with _review(ctx) as service:
        flag, events = service.flag(ident)  # type: ignore[attr-defined]
    click.echo(f"{flag.id} · {flag.check} · {flag.severity} · {flag.state_label}")
    click.echo(f"Sujet : {flag.subject_label} ({flag.subject})")
    click.echo(f"Territoire : {flag.territory or flag.code} ({flag.level} {flag.code}), "
               f"période {flag.period or '–'}")  # fmt: skip
    click.echo(flag.message)
    if isinstance(flag.comment, str) and flag.comment:
        click.echo(f"Commentaire : {flag.comment} ({flag.set_by}, {flag.set_at})")
    click.echo(f"Relevé le {flag.first_seen}, dernière revue le {flag.last_seen}"
               + (f", import n° {int(flag.batch)}" if pd.notna(flag.batch) else ""))
    click.echo("Historique :")
    for event in events.itertuples(index=False):
        before = STATES.get(str(event.state_from), "–")
        click.echo(f"  {event.at} {event.actor or '–'} : {before} → {STATES[event.state_to]}"
                   + (f" ({event.comment})" if event.comment else ""))


@quality.command("set")
@click.argument("ids", nargs=-1, required=True)
@click.option("--state", type=click.Choice(list(STATES)), required=True,
              help="Nouvel état : connu, confirme (réel, montré au public), faux_positif…")
@click.option("--comment", help="Pourquoi (gardé avec l'état).")
@click.option("--by", "actor", default="ligne de commande", show_default=True,
              help="Qui décide.")
@pass_ctx
def set_cmd(ctx: Context, ids: tuple[str, ...], state: str, comment: str | None,
            actor: str) -> None:  # fmt: skip
    """Donne un état à des points de vigilance (tous ou aucun).

    \b
    Exemple :
      observatoire quality set 2ddccfa0fb --state faux_positif \\
          --comment "nouvelle résidence sociale livrée en 2018" --by "A. Martin"
    """
    with _review(ctx) as service:
        changed = service.set_state(list(ids), state, actor=actor, comment=comment)  # type: ignore[attr-defined]
    click.echo(f"{changed} point(s) de vigilance : {STATES[state]}")


@quality.command("timeliness")
@click.option("--collection", required=True, help="Collection d'enregistrements.")
@click.option("--by", "by", type=click.Choice(["operator", "year", "departement", "period",
                                                "none"]),
              default="operator", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def timeliness_cmd(ctx: Context, collection: str, by: str, fmt: str) -> None:
    """Complétude et ponctualité des transmissions des opérateurs d'une collection : par
    opérateur, année, département (de l'opérateur) ou période, extractions attendues,
    reçues, à temps, en retard, manquantes, part reçue et part reçue à temps.

    \b
    Exemple :
      observatoire quality timeliness --collection demandes_hebergement --by year
    """
    with ctx.open() as obs:
        states = obs.records.timeliness(collection)
    from observatoire.quality.calendar import STATES as RECEIPTS
    from observatoire.quality.calendar import reporting_rates

    if by == "period":
        table = states.assign(due=states.due.astype(str), state=states.state.map(RECEIPTS),
                              received=states.received.map(lambda d: "" if pd.isna(d) else
                                                           str(d)))  # fmt: skip
        emit(table.rename(columns=TIMELINESS_COLUMNS)[[
            c for c in TIMELINESS_COLUMNS.values() if c in table.rename(
                columns=TIMELINESS_COLUMNS).columns]], fmt)  # fmt: skip
        return
    keys = {"operator": ["operator", "name"], "year": ["operator", "year"],
            "departement": ["departement", "year"], "none": []}[by]
    rates = reporting_rates(states.assign(year=states.period.str[:4]), keys)
    emit(rates.rename(columns=TIMELINESS_COLUMNS), fmt)


TIMELINESS_COLUMNS = {
    "operator": "operateur", "name": "nom", "commune": "commune", "departement": "departement",
    "year": "annee", "period": "periode", "due": "echeance", "received": "recue_le",
    "state": "etat", "delay": "retard_jours", "expected": "attendues", "on_time": "a_temps",
    "late": "en_retard", "missing": "manquantes", "completeness": "part_recue",
    "timeliness": "part_a_temps",
}  # fmt: skip
REVIEW_COLUMNS = {"id": "revue", "at": "le", "actor": "par", "raised": "releves",
                  "new": "nouveaux", "resolved": "resolus", "seconds": "secondes"}


@quality.command("reviews")
@pass_ctx
def reviews_cmd(ctx: Context) -> None:
    """Les dernières revues : quand, par qui, ce qu'elles ont relevé.

    \b
    Exemple :
      observatoire quality reviews
    """
    with _review(ctx) as service:
        reviews = service.reviews()  # type: ignore[attr-defined]
    emit(reviews[list(REVIEW_COLUMNS)].rename(columns=REVIEW_COLUMNS), "table")



@quality.command("report")
@click.option("--year", type=int, default=None, help="Année (défaut : l'année en cours).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
              help="Fichier à écrire : .html, .pdf ou .xlsx.")
@pass_ctx
def report_cmd(ctx: Context, year: int | None, output: str) -> None:
    """Rapport annuel de la revue de qualité (HTML, PDF ou XLSX) : synthèse, transmissions
    des opérateurs, points de vigilance de chaque domaine avec leur état, revues de l'année.

    \b
    Exemple :
      observatoire quality report --year 2026 -o revue_qualite_2026.pdf
    """
    from datetime import date
    from pathlib import Path

    from observatoire.atomic import write_whole
    from observatoire.errors import InputError
    from observatoire.outputs.review_report import FORMATS, render_review

    fmt = Path(output).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"{output} : extension .html, .pdf ou .xlsx attendue")
    with _review(ctx) as service:
        report = service.yearly(year or date.today().year)  # type: ignore[attr-defined]
        body = render_review(report, fmt, home=service.obs.home.path)  # type: ignore[attr-defined]
    write_whole(Path(output), body)
    click.echo(f"Revue {report['year']} : {len(report['flags'])} point(s) de vigilance → {output}")
COMMANDS = [quality]
