"""Analysis of territories: ``profile``, ``neighbours``, ``evolution``, ``funnel``, ``heatmap``,
``gradient``, ``qpv``."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from observatoire.catalog.indicators import THEMES
from observatoire.cli._common import (
    AUDIENCE_OPTION,
    FORMATS,
    Context,
    emit,
    pass_ctx,
)
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.neighbours import DEFAULT_CONTEXT
from observatoire.territories.levels import LEVELS


@click.command("profile")
@click.argument("territory")
@click.option("--theme", type=click.Choice(list(THEMES)), help="Un seul thème.")
@AUDIENCE_OPTION
@click.option(
    "--provenance", is_flag=True,
    help="Dit pour chaque valeur comment elle est faite (publiée, somme…), de quelles "
    "variables et de quels imports.",
)  # fmt: skip
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def profile_cmd(ctx: Context, territory: str, theme: str | None, reader: ReadPolicy,
                provenance: bool, fmt: str) -> None:  # fmt: skip
    """Tous les indicateurs calculés d'un territoire (après « observatoire compute »).

    \b
    Exemples :
      observatoire profile 93066
      observatoire profile departement:93 --theme social
      observatoire profile departement:93 --provenance --format csv
    """
    with ctx.open() as obs:
        frame = obs.profile(territory, reader=reader, provenance=provenance)
    if theme is not None:
        frame = frame[frame.theme == theme]
    emit(frame, fmt)


@click.command("neighbours")
@click.argument("territory", required=False)
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option(
    "--on",
    "context",
    multiple=True,
    help="Indicateur de contexte (répétable) ; par défaut : " + ", ".join(DEFAULT_CONTEXT) + ".",
)
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def neighbours_cmd(
    ctx: Context,
    territory: str | None,
    level: str,
    k: int,
    context: tuple[str, ...],
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Voisins statistiques : pour chaque territoire du niveau (ou pour TERRITOIRE), les k
    territoires qui lui ressemblent le plus sur des indicateurs de contexte (centrés-réduits ;
    population en logarithme). Ils servent de référence : values NOM --compare voisins.

    \b
    Exemples :
      observatoire neighbours 93066
      observatoire neighbours --level departement -k 3 --on part_65_ans_plus --on taux_pauvrete
      observatoire values taux_chomage_15_64 --within 93 --compare voisins
      observatoire values part_familles_monoparentales --within 93 --compare strate
    """
    with ctx.open() as obs:
        if territory is not None:
            level = obs.geography.resolve(territory)[0]
        frame = obs.neighbours(
            level=level,
            k=k,
            context=context or DEFAULT_CONTEXT,
            territory=territory,
            reader=reader,
        )
    if fmt == "table":
        click.echo("Contexte : " + ", ".join(frame.attrs["context"]), err=True)
    emit(frame, fmt, output)


@click.command("evolution")
@click.argument("indicator")
@click.option("--from", "start", required=True, help="Période de départ (2013, 2015-T4…).")
@click.option("--to", "end", required=True, help="Période d'arrivée.")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.8, show_default=True)
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def evolution_cmd(
    ctx: Context,
    indicator: str,
    start: str,
    end: str,
    level: str,
    within: str | None,
    threshold: float,
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Évolution d'un indicateur entre deux périodes : valeurs, évolution absolue (en points
    pour un pourcentage), relative (%), taux de croissance annuel moyen (TCAM).

    \b
    Exemple :
      observatoire evolution population --from 2013 --to 2018 --level commune --within 93
    """
    with ctx.open() as obs:
        frame = obs.evolution(
            indicator,
            start=start,
            end=end,
            level=level,
            within=within,
            threshold=threshold,
            reader=reader,
        )
    emit(frame, fmt, output)


@click.command("funnel")
@click.argument("indicator")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--period", help="Période (par défaut la plus récente avec des valeurs).")
@click.option("--reference", metavar="TERRITOIRE",
              help="Territoire de référence (pays:FR, 93…) ou « ensemble » (les territoires "
                   "placés, regroupés) ; par défaut le territoire englobant, sinon la France.")
@click.option("--highlight", metavar="CODE", help="Territoire mis en évidence sur le dessin.")
@click.option("--all", "everyone", is_flag=True,
              help="Tous les territoires placés (par défaut : ceux hors des limites).")
@click.option("--drawing", type=click.Path(dir_okay=False),
              help="Le graphique dans ce fichier (.svg ou .png).")
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def funnel_cmd(ctx: Context, indicator: str, level: str, within: str | None,
               period: str | None, reference: str | None, highlight: str | None,
               everyone: bool, drawing: str | None, reader: ReadPolicy, fmt: str,
               output: str | None) -> None:  # fmt: skip
    """Graphique en entonnoir d'un taux : chaque territoire placé selon l'effectif de son
    dénominateur, face à une référence, avec les limites de contrôle exactes à 95 % et
    99,8 % (loi binomiale pour une proportion, de Poisson pour un taux d'événements).
    Un petit territoire est-il vraiment différent, ou seulement petit ?

    \b
    Exemples :
      observatoire funnel part_allocataires_rsa --level iris --within 93066
      observatoire funnel taux_chomage_15_64 --level commune --drawing entonnoir.svg
    """
    from observatoire.atomic import write_whole
    from observatoire.outputs.deck_render import svg_to_png
    from observatoire.outputs.funnel_chart import funnel_svg

    with ctx.open() as obs:
        found = obs.views.funnel(indicator, level=level, within=within, period=period,
                           reference=reference, reader=reader)  # fmt: skip
    ref = found.reference
    click.echo(
        f"{found.indicator.label} ({found.period}) — référence {ref['name']} : "
        f"{found.target:.2f} {found.indicator.unit} ; {len(found.points)} territoires "
        f"placés, {len(found.outliers)} hors des limites à 95 %, "
        f"{len(found.left_out)} non placés",
        err=True,
    )
    for note in found.notes:
        click.echo(f"  · {note}", err=True)
    if drawing:
        svg = funnel_svg(found.points, found.limits, target=found.target,
                         title=f"{found.indicator.label} ({found.period})",
                         unit=found.indicator.unit, reference=ref["name"],
                         highlight=highlight)  # fmt: skip
        body: str | bytes = svg_to_png(svg) if drawing.lower().endswith(".png") else svg
        write_whole(Path(drawing), body)
        click.echo(f"graphique écrit dans {drawing}", err=True)
    emit(found.points if everyone else found.outliers, fmt, output)


MARKS = {"better": "+", "similar": "=", "worse": "−", "higher": "↑", "lower": "↓",
         "untestable": "?", "secret": "s", "missing": ""}  # fmt: skip


@click.command("heatmap")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--theme", type=click.Choice(list(THEMES)),
              help="Les taux, parts et médianes d'un thème (par défaut : social).")
@click.option("--indicator", "indicators", multiple=True,
              help="Cet indicateur (plusieurs fois) au lieu d'un thème.")
@click.option("--reference", metavar="TERRITOIRE",
              help="Territoire de référence ; par défaut le territoire englobant, sinon la "
                   "France.")
@click.option("--xlsx", type=click.Path(dir_okay=False), help="Le tableur coloré (.xlsx).")
@click.option("--pdf", type=click.Path(dir_okay=False), help="La page imprimable (.pdf).")
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def heatmap_cmd(ctx: Context, level: str, within: str | None, theme: str | None,
                indicators: tuple[str, ...], reference: str | None, xlsx: str | None,
                pdf: str | None, reader: ReadPolicy, fmt: str,
                output: str | None) -> None:  # fmt: skip
    """Tableau des écarts significatifs : les territoires (en lignes) × les indicateurs d'un
    thème (en colonnes), chaque case comparée à la référence — significativement plus
    favorable (+), moins favorable (−), écart non significatif (=), plus élevé ou moins
    élevé pour un indicateur sans polarité (↑ ↓), non testable faute d'intervalle de
    confiance (?), secret (s). En CSV ou JSON : une ligne par case.

    \b
    Exemples :
      observatoire heatmap --level commune --within 93 --theme social
      observatoire heatmap --level commune --within 93 --xlsx ecarts.xlsx --pdf ecarts.pdf
    """
    from observatoire.atomic import write_whole
    from observatoire.outputs.heatmap_export import heatmap_cells, heatmap_pdf, heatmap_xlsx

    with ctx.open() as obs:
        chosen = None if indicators else (theme or "social")
        found = obs.views.heatmap(level=level, within=within, theme=chosen,
                            indicators=list(indicators) or None,
                            reference=reference, reader=reader)  # fmt: skip
        where = f" de {obs.geography.card(*found.within)['name']}" if found.within else ""
        notice = obs.meta().get("demo") or ""
    shown = found.level
    title = f"Écarts significatifs — {LEVELS[shown].plural if shown in LEVELS else shown}{where}"
    click.echo(f"{title} ; référence {found.reference['name']} ; {len(found.territories)} "
               f"territoires × {len(found.indicators)} indicateurs", err=True)  # fmt: skip
    click.echo("  + plus favorable · − moins favorable · = non significatif · ↑ ↓ sans "
               "polarité · ? non testable · s secret", err=True)  # fmt: skip
    if xlsx:
        write_whole(Path(xlsx), heatmap_xlsx(found, title=title))
        click.echo(f"écrit : {xlsx}", err=True)
    if pdf:
        write_whole(Path(pdf), heatmap_pdf(found, title=title, notice=notice))
        click.echo(f"écrit : {pdf}", err=True)
    if fmt != "table":
        emit(heatmap_cells(found), fmt, output)
        return
    values, kinds = found.grid("value"), found.grid("category")
    table = pd.DataFrame(index=values.index)
    for column in found.indicators:
        ident = str(column["id"])
        places = 2 if abs(float(column["reference_value"])) < 1 else 1  # type: ignore[arg-type]
        table[f"{ident} ({column['period']})"] = [
            "" if v is None or v != v else f"{v:.{places}f} {MARKS[str(k)]}".strip()
            for v, k in zip(values[ident], kinds[ident], strict=True)
        ]
    table.insert(0, "territoire", found.territories.set_index("code").name.reindex(table.index))
    emit(table.reset_index(), fmt, output)


@click.command("gradient")
@click.argument("indicator")
@click.option("--level", default="commune", show_default=True, help="Niveau (commune, iris…).")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--by", "by", help="Indicateur de classement des territoires (par défaut le niveau "
              "de vie médian, sinon le taux de pauvreté, sinon la part d'allocataires du RSA).")
@click.option("--groups", type=click.IntRange(2, 20), default=10, show_default=True,
              help="Nombre de groupes de population égale (10 : déciles).")
@click.option("--period", help="Période de l'indicateur (par défaut la plus récente).")
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def gradient_cmd(ctx: Context, indicator: str, level: str, within: str | None, by: str | None,
                 groups: int, period: str | None, reader: ReadPolicy, fmt: str,
                 output: str | None) -> None:  # fmt: skip
    """Gradient social d'un indicateur : les territoires classés du moins favorisé au plus
    favorisé (par défaut selon le niveau de vie médian), regroupés en groupes de population
    égale, la valeur de chaque groupe, l'indice de pente (SII) et l'indice relatif (RII) de
    l'inégalité avec leurs intervalles à 95 %.

    \b
    Exemples :
      observatoire gradient taux_chomage_15_64 --level commune --within 93
      observatoire gradient part_allocataires_aah --within 93 --by part_allocataires_rsa --groups 5
    """
    with ctx.open() as obs:
        found = obs.views.gradient(indicator, level=level, within=within, by=by, groups=groups,
                                   period=period, reader=reader)  # fmt: skip
    low, high = found.sii_interval
    click.echo(f"{found.indicator.label} ({found.period}) selon {found.ranking.label} "
               f"({found.ranking_period}) : SII {found.fit.sii:.2f} [{low:.2f} ; {high:.2f}], "
               f"RII {found.fit.rii:.3f} [{found.rii_interval[0]:.3f} ; "
               f"{found.rii_interval[1]:.3f}] — {found.method}", err=True)  # fmt: skip
    for note in found.notes:
        click.echo(f"  · {note}", err=True)
    emit(found.groups, fmt, output)


@click.command("qpv")
@click.argument("indicator")
@click.option("--within", metavar="TERRITOIRE", help="Département ou région (93, region:11…) ; "
              "par défaut celui de l'observatoire, sinon tous.")
@click.option("--period", help="Période (par défaut la plus récente des QPV).")
@click.option("--ensembles", is_flag=True,
              help="L'ensemble des QPV de chaque département et le reste du département, au "
              "lieu de chaque QPV.")  # fmt: skip
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def qpv_cmd(ctx: Context, indicator: str, within: str | None, period: str | None,
            ensembles: bool, reader: ReadPolicy, fmt: str, output: str | None) -> None:  # fmt: skip
    """Les quartiers prioritaires (QPV) et le reste de leurs communes : pour un taux ou une
    part sur effectifs, la valeur de chaque QPV, celle du reste de ses communes (leurs
    effectifs moins ceux de leurs QPV, même période), l'écart et s'il est significatif ; ou
    l'ensemble des QPV d'un département et le reste du département. Quand le reste ne peut
    être compté (commune partielle, période absente…), la raison est dite.

    \b
    Exemples :
      observatoire qpv part_allocataires_monoparents --within 93
      observatoire qpv part_allocataires_monoparents --within 93 --ensembles --format csv
    """
    with ctx.open() as obs:
        found = obs.views.qpv_gaps(indicator, within=within, period=period, reader=reader)
    shown = found.ensembles if ensembles else found.quartiers
    what = ("ensemble(s) de QPV comparé(s) au reste de leur département" if ensembles
            else "QPV comparé(s) au reste de leurs communes")  # fmt: skip
    click.echo(f"{found.indicator.label} ({found.period}) : {int(shown.rest_value.notna().sum())} "
               f"sur {len(shown)} {what}", err=True)  # fmt: skip
    for note in found.notes:
        click.echo(f"  · {note}", err=True)
    columns = ["code", "name", "departement" if ensembles else "communes", "status", "value",
               "numerator", "denominator", "rest_value", "rest_numerator", "rest_denominator",
               "gap", "assessment", "note", *([] if ensembles else ["rest_communes"])]
    emit(shown[columns], fmt, output)


COMMANDS = [profile_cmd, neighbours_cmd, evolution_cmd, funnel_cmd, heatmap_cmd, gradient_cmd,
            qpv_cmd]
