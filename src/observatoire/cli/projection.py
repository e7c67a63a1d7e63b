"""Projections of an indicator: ``projection``."""

from __future__ import annotations

import json

import click

from observatoire.cli._common import AUDIENCE_OPTION, FORMATS, Context, emit, pass_ctx, percent
from observatoire.engine.projection import Projection, horizon_words
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.projection import METHODS


@click.command("projection")
@click.argument("indicator")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option(
    "--to",
    "to",
    metavar="ANNÉE",
    help="Année d'arrivée (défaut : aussi loin que l'historique le permet).",
)
@click.option(
    "--method",
    type=click.Choice(list(METHODS)),
    help="Méthode (défaut : la plus petite erreur mesurée parmi celles qui font "
    "mieux que l'absence d'évolution).",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0.5, 0.99),
    default=0.8,
    show_default=True,
    help="Niveau de l'intervalle de prédiction.",
)
@click.option(
    "--errors",
    "errors_only",
    is_flag=True,
    help="Seulement l'erreur mesurée de chaque méthode (test sur les données).",
)
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def projection_cmd(
    ctx: Context,
    indicator: str,
    level: str,
    within: str | None,
    to: str | None,
    method: str | None,
    confidence: float,
    errors_only: bool,
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Projette un indicateur en prolongeant sa tendance, pour chaque territoire du niveau,
    avec son intervalle de prédiction et l'erreur mesurée de chaque méthode.

    L'erreur est mesurée sur les données de l'observatoire : pour chaque territoire, la
    dernière valeur est projetée à partir des précédentes et comparée à la valeur observée
    (erreur absolue moyenne en %, couverture des intervalles). Une méthode qui fait moins
    bien que l'absence d'évolution n'est pas proposée par défaut. Un effectif est projeté
    directement ; une part est le rapport des projections de son numérateur et de son
    dénominateur ; une médiane ne l'est qu'aux niveaux où elle est publiée. L'horizon ne
    dépasse pas la durée de l'historique.

    Méthodes : constant (sans évolution), linear (tendance linéaire), loglinear (taux de
    croissance constant), damped (tendance amortie).

    \b
    Exemples :
      observatoire projection niveau_vie_median --level commune --within 93
      observatoire projection menages_fiscaux --level epci --to 2024 --method damped
      observatoire projection population --within 93 --errors
      observatoire projection part_allocataires_rsa --within 93 --format json
    """
    with ctx.open() as obs:
        found = obs.projection(indicator, level=level, within=within, to=to, method=method,
                               confidence=confidence, reader=reader)  # fmt: skip
    if fmt == "json":
        _emit_json(found, output, errors_only)
        return
    if errors_only:
        emit(found.errors, fmt, output)
        return
    if fmt == "table":
        click.echo(_header(found), err=True)
    emit(found.values.assign(method=found.method), fmt, output)


def _header(found: Projection) -> str:
    error = found.error
    coverage = "" if error.coverage != error.coverage else (
        f", intervalle à {percent(found.confidence * 100)} : {percent(error.coverage * 100)} "
        "des valeurs "
        "couvertes"
    )  # fmt: skip
    lines = [
        f"Projection {found.target}, {found.assumption} — méthode : {METHODS[found.method]}"
        + (" (par défaut)" if found.method == found.default_method else ""),
        f"Erreur mesurée (niveau {found.measured_at}, {int(error.territories)} territoires, "
        f"à {horizon_words(error.horizon)}) : {percent(error.mape)} en moyenne{coverage}",
        *(f"  · {note}" for note in found.notes),
    ]
    return "\n".join(lines)


def _emit_json(found: Projection, output: str | None, errors_only: bool) -> None:
    errors = json.loads(found.errors.to_json(orient="records", force_ascii=False))
    body: object = errors
    if not errors_only:
        body = {
            "indicator": found.indicator, "level": found.level, "method": found.method,
            "default_method": found.default_method, "target": found.target,
            "history": list(found.history), "assumption": found.assumption,
            "confidence": found.confidence, "measured_at": found.measured_at,
            "notes": list(found.notes), "errors": errors,
            "values": json.loads(found.values.to_json(orient="records", force_ascii=False)),
        }  # fmt: skip
    text = json.dumps(body, ensure_ascii=False, indent=1)
    if output:
        from pathlib import Path

        from observatoire.atomic import write_whole

        write_whole(Path(output), text)
        click.echo(f"écrit dans {output}", err=True)
    else:
        click.echo(text)


@click.command("projection-ages")
@click.argument("variable")
@click.option("--level", default="commune", show_default=True, help="Niveau des territoires.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, epci:…).")
@click.option(
    "--to",
    "to",
    metavar="ANNÉE",
    help="Année d'arrivée, par pas de 5 ans après le dernier recensement.",
)
@click.option("--control", metavar="VARIABLE",
              help="Projection du niveau englobant (Omphale du département, importée) à "
                   "laquelle les totaux sont ajustés.")  # fmt: skip
@click.option("--totals", is_flag=True, help="Un total par territoire au lieu du détail.")
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def projection_ages_cmd(
    ctx: Context,
    variable: str,
    level: str,
    within: str | None,
    to: str | None,
    control: str | None,
    totals: bool,
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Projette la population par sexe et groupe d'âge de cinq ans (méthode Hamilton-Perry des
    rapports de variation des cohortes), à partir de deux recensements ou plus importés (une
    variable dont les valeurs ont une dimension sexe et une dimension âge : un export Melodi du
    recensement par sexe et âge quinquennal).

    Chaque cohorte évolue comme entre les deux derniers recensements ; les 0-4 ans suivent le
    nombre d'enfants par femme de 15 à 49 ans. Avec trois recensements, l'erreur est mesurée
    (le dernier projeté à partir des deux précédents) ; avec deux, elle ne peut pas l'être et
    la sortie le dit. --control ajuste les totaux à la projection du niveau englobant.

    \b
    Exemples :
      observatoire projection-ages melodi.POP_SEXE_AGE --within 93
      observatoire projection-ages melodi.POP_SEXE_AGE --within 93 --to 2028 --totals
      observatoire projection-ages melodi.POP_SEXE_AGE --within 93 --control melodi.OMPHALE_93
    """
    with ctx.open() as obs:
        found = obs.cohort_projection(variable, level=level, within=within, to=to,
                                      control=control, reader=reader)  # fmt: skip
    if fmt == "table":
        lines = [f"Projection {found.target} par sexe et âge (Hamilton-Perry), recensements "
                 f"{', '.join(found.history)}"]  # fmt: skip
        if found.unmeasured:
            lines.append(f"  · {found.unmeasured}")
        for row in found.errors.itertuples():
            lines.append(f"  · erreur mesurée ({row.method}, {row.territories} territoires) : "
                         f"total {percent(row.mape_total)}, groupes d'âge "
                         f"{percent(row.mape_groups)}")  # fmt: skip
        lines += [f"  · {note}" for note in found.notes]
        click.echo("\n".join(lines), err=True)
    emit(found.totals if totals else found.values, fmt, output)


COMMANDS = [projection_cmd, projection_ages_cmd]
