"""The catalogue of indicators and their values: ``indicators …``, ``values``, ``compute``."""

from __future__ import annotations

import time

import click
import pandas as pd

from observatoire.catalog.indicators import THEMES, Catalogue, Indicator, themes_in
from observatoire.cli._common import (
    AUDIENCE_OPTION,
    FORMATS,
    Context,
    emit,
    pass_ctx,
)
from observatoire.home import resolve_home
from observatoire.secret.policy import ReadPolicy


@click.group()
def indicators() -> None:
    """Catalogue des indicateurs : liste par thème, recherche, fiche détaillée.

    Les indicateurs livrés avec l'observatoire s'ajoutent à ceux du dossier « indicateurs/ »
    de l'observatoire (fichiers YAML, voir docs/indicateurs.md).

    \b
    Exemple :
      observatoire indicators search "pauvreté"
      observatoire indicators show taux_pauvrete
    """


def _catalogue(ctx: Context) -> Catalogue:
    from observatoire.ingest.indicators import load_catalogue

    home = resolve_home(ctx.home)
    return load_catalogue(home if home.is_dir() else None)


def _indicator_rows(found: list[Indicator]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": i.id,
                "libellé": i.label,
                "thème": i.theme,
                "unité": i.unit,
                "agrégation": i.aggregation.value,
            }
            for i in found
        ],
        columns=["id", "libellé", "thème", "unité", "agrégation"],
    )


@indicators.command("list")
@click.option("--theme", type=click.Choice(list(THEMES)), help="Un seul thème.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def indicators_list(ctx: Context, theme: str | None, fmt: str) -> None:
    """Liste les indicateurs du catalogue, par thème.

    \b
    Exemple :
      observatoire indicators list --theme logement
    """
    catalogue = _catalogue(ctx)
    found = catalogue.by_theme(theme)
    if fmt == "table":
        for name, count in themes_in(found).items():
            click.echo(f"{THEMES[name]} : {count}")
        click.echo(f"{len(found)} indicateurs\n")
    emit(_indicator_rows(found), fmt)


@indicators.command("search")
@click.argument("query")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def indicators_search(ctx: Context, query: str, fmt: str) -> None:
    """Cherche dans les libellés, définitions et mots-clés (sans tenir compte des accents).

    \b
    Exemple :
      observatoire indicators search "familles monoparentales"
    """
    found = _catalogue(ctx).search(query)
    if not found and fmt == "table":
        click.echo(f"Aucun indicateur pour « {query} ».")
        return
    emit(_indicator_rows(found), fmt)


@indicators.command("show")
@click.argument("indicator")
@pass_ctx
def indicators_show(ctx: Context, indicator: str) -> None:
    """Fiche d'un indicateur : définition, formule, agrégation, sources.

    \b
    Exemple :
      observatoire indicators show part_allocataires_rsa
    """
    found = _catalogue(ctx).get(indicator)
    aggregation = {
        "sum": "effectif : somme sur les territoires qui composent un territoire",
        "ratio": "rapport des sommes du numérateur et du dénominateur",
        "not_aggregable": "non agrégeable : seulement aux niveaux où la valeur est publiée",
    }[found.aggregation.value]
    polarity = {
        "higher_is_better": "plus élevé est plus favorable",
        "lower_is_better": "plus bas est plus favorable",
        "neutral": "neutre",
    }[found.polarity.value]
    rows = [
        ("Indicateur", f"{found.label} ({found.id})"),
        ("Thème", found.theme_label),
        ("Unité", found.unit or "-"),
        ("Définition", found.definition or "-"),
        ("Formule", found.formula.describe()),
        ("Agrégation", aggregation),
        ("Sens", polarity),
        ("Méthode", found.method or "-"),
        ("Intervalle de confiance", {"none": "-"}.get(found.ci, found.ci)),
        (
            "Secret",
            found.secret.describe() if found.secret else "-",
        ),
        ("Sources", ", ".join(found.sources) or "-"),
        ("Mots-clés", ", ".join(found.keywords) or "-"),
        ("Déclaré dans", found.origin),
    ]
    for label, value in rows:
        click.echo(f"{label:<24} {value}")


@indicators.command("availability")
@click.argument("indicator")
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def indicators_availability(ctx: Context, indicator: str, reader: ReadPolicy, fmt: str,
                            output: str | None) -> None:  # fmt: skip
    """Quels niveaux et quelles périodes ont des données : pour chaque niveau et période,
    le nombre de territoires, de valeurs utilisables (complètes ou partielles), sous secret
    et non disponibles (valeurs calculées par « observatoire compute »).

    \b
    Exemple :
      observatoire indicators availability part_allocataires_rsa
    """
    with ctx.open() as obs:
        frame = obs.views.availability(indicator, reader=reader)
    emit(frame.rename(columns=AVAILABILITY_HEADERS), fmt, output)


AVAILABILITY_HEADERS = {
    "level": "niveau", "period": "période", "territories": "territoires",
    "values": "valeurs", "ok": "complètes", "partial": "partielles", "secret": "secret",
    "other": "non disponibles",
}  # fmt: skip


@click.command()
@click.argument("variable", metavar="NOM")
@click.option(
    "--level",
    default="commune",
    show_default=True,
    help="Niveau (iris, commune, epci, departement, region, pays) ou zonage propre.",
)
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--period", help="Période (2019…).")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Couverture minimale d'un agrégat (part de la population ou du dénominateur).",
)
@click.option(
    "--compare",
    "reference",
    metavar="REF",
    help="Comparer à un niveau englobant (epci, departement, region, pays), à un territoire "
    "(ex. departement:93), à la strate de taille (strate) ou aux voisins statistiques (voisins) : "
    "écart, indice, significativité, rang, percentile, tendance, alerte.",
)
@click.option(
    "--published",
    is_flag=True,
    help="Valeurs telles que publiées dans une géographie passée (non converties).",
)
@click.option("--zoning", metavar="ZONAGE", help="Zonage propre (équivaut à --level ZONAGE).")
@click.option("--at", metavar="AAAA-MM-JJ",
              help="Zonage propre : ses zones telles qu'en vigueur à cette date (une version "
                   "passée ou à venir), calculées à la demande.")  # fmt: skip
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def values(
    ctx: Context,
    variable: str,
    level: str,
    within: str | None,
    period: str | None,
    threshold: float,
    reference: str | None,
    published: bool,
    zoning: str | None,
    at: str | None,
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Valeurs d'un indicateur du catalogue, calculées pour chaque territoire du niveau
    (IRIS, commune, EPCI, zonage propre, département, région, pays), ou d'une variable importée
    (source.CODE) : code, nom, période, valeur, statut, et pour un indicateur sa couverture.

    Un effectif est la somme des communes (ou IRIS) qui ont une valeur ; une part est le
    rapport des sommes ; sous la couverture complète la valeur est « partial », sous le seuil
    elle n'est pas donnée. Une médiane n'est donnée qu'aux niveaux où elle est publiée.

    \b
    Exemples :
      observatoire values part_allocataires_rsa --level commune --within 93
      observatoire values niveau_vie_median --level departement
      observatoire values menages_fiscaux --level tas93 --threshold 0.9
      observatoire values taux_chomage_15_64 --within 93 --compare departement
      observatoire values filosofi.DISP_Q2 --level commune --within 93 --period 2019
      observatoire values caf.ARSAS --level iris --within commune:93066 --format csv
      observatoire values allocataires_rsa --zoning tas93 --audience public
      observatoire values population --zoning tas93 --at 2024-06-30

    Avec --audience public ou member, seules les valeurs que ce public peut voir sont données :
    secret statistique appliqué (cellules « secret »), jeux de données réservés refusés.
    Pour un zonage, la version dont les zones sont données est rappelée (sur la sortie
    d'erreur) : celle en vigueur aujourd'hui, ou à la date --at.
    """
    if zoning:
        level = zoning
    with ctx.open() as obs:
        indicator = "." not in variable and variable in obs.catalogue()
        if at and (reference or not indicator):
            raise click.UsageError("--at s'applique aux valeurs d'un indicateur du catalogue, "
                                   "sans --compare")  # fmt: skip
        shown = obs.zoning_shown(level, at)
        if indicator and at:
            frame = obs.indicator(variable, level=level, within=within, period=period,
                                  threshold=threshold, reader=reader, at=at)  # fmt: skip
        elif "." not in variable and variable in obs.catalogue() and reference:
            frame = obs.compare(
                variable,
                level=level,
                reference=reference,
                within=within,
                period=period,
                threshold=threshold,
                reader=reader,
            )
        elif "." not in variable and variable in obs.catalogue():
            frame = obs.indicator(
                variable,
                level=level,
                within=within,
                period=period,
                threshold=threshold,
                reader=reader,
                provenance=fmt != "table",  # a file says where each value comes from
            )
        elif reference:
            raise click.UsageError("--compare s'applique aux indicateurs du catalogue")
        else:
            frame = obs.values(
                variable,
                level=level,
                within=within,
                period=period,
                published=published,
                reader=reader,
            ).drop(columns=["batch"])
    if shown:
        click.echo(shown, err=True)
    emit(frame, fmt, output)


@click.command("compute")
@click.option("--indicator", "indicators", multiple=True, help="Seulement cet indicateur.")
@click.option("--level", "levels", multiple=True, help="Seulement ce niveau ou zonage.")
@click.option("--force", is_flag=True, help="Tout recalculer, même ce qui est à jour.")
@click.option("--within", metavar="TERRITOIRE",
              help="Seulement ce territoire (ex. departement:57), ses territoires de référence, "
                   "ceux qu'il contient et ceux qui le chevauchent (défaut : le paramètre "
                   "compute_within).")  # fmt: skip
@click.option(
    "--everywhere", is_flag=True, help="Tous les territoires, malgré le paramètre compute_within."
)
@pass_ctx
def compute_cmd(ctx: Context, indicators: tuple[str, ...], levels: tuple[str, ...], force: bool,
                within: str | None, everywhere: bool) -> None:  # fmt: skip
    """Calcule et enregistre les indicateurs alimentés par les données, pour chaque niveau et
    chaque zonage : les lectures (values, profile) sont ensuite immédiates.

    Un import marque périmées les valeurs qu'il change : elles restent lisibles jusqu'à ce
    que « compute » les remplace, toutes à la fois ; un retour arrière ou une nouvelle
    version de zonage les retire. « compute » ne recalcule que celles-là (sauf --force).

    \b
    Exemples :
      observatoire compute
      observatoire compute --indicator part_allocataires_rsa --level commune --level tas93
      observatoire compute --within departement:57
    """
    if within and everywhere:
        raise click.UsageError("--within et --everywhere s'excluent")
    started = time.perf_counter()
    with ctx.open(write=True) as obs:
        counts = obs.compute(
            indicators=list(indicators) or None,
            levels=list(levels) or None,
            force=force,
            on_step=lambda step: click.echo(f"  [{time.perf_counter() - started:5.1f} s] {step}"),
            within=within,
            everywhere=everywhere,
        )
    click.echo(
        f"{len(counts)} indicateur(s) calculé(s), {sum(counts.values())} valeurs enregistrées "
        f"en {time.perf_counter() - started:.1f} s" + ("" if counts else " (tout était à jour)")
    )


COMMANDS = [indicators, values, compute_cmd]
