"""What the observatory publishes: ``map``, ``export``, ``portrait`` (the dashboards are in
:mod:`.dashboards`)."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import click

from observatoire.atomic import write_whole
from observatoire.cli._common import (
    Context,
    audience_option,
    pass_ctx,
    registry_of,
)
from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.secret.policy import ReadPolicy


@click.command("map")
@click.argument("indicator")
@click.option(
    "--level", default="commune", show_default=True, help="Niveau cartographié (ou un zonage)."
)
@click.option("--within", help="Territoire englobant : 93, departement:93, region:11, tas93:NORD…")
@click.option("--period", help="Période (par défaut la plus récente).")
@click.option(
    "--method",
    default="quantiles",
    show_default=True,
    type=click.Choice(["quantiles", "equal", "jenks", "stddev", "manual"]),
    help="Discrétisation : quantiles, intervalles égaux, seuils naturels (Jenks-Fisher), "
    "écarts-types autour de la référence, seuils choisis (--breaks).",
)
@click.option(
    "--classes", default=5, show_default=True, type=click.IntRange(2, 9), help="Nombre de classes."
)
@click.option("--breaks", help="Seuils choisis, croissants : « 10,20,30 » (avec --method manual).")
@click.option(
    "--palette",
    default="sequentielle",
    show_default=True,
    type=click.Choice(["sequentielle", "divergente"]),
    help="Palette ; divergente : centrée sur la valeur de référence.",
)
@click.option("--reference", help="Territoire de référence (par défaut --within, sinon la France).")
@click.option(
    "--symbols/--no-symbols",
    default=None,
    help="Cercles proportionnels (par défaut pour les effectifs) ou aplats de couleur.",
)
@audience_option("analyst", "de la carte")
@click.option(
    "-o",
    "--output",
    "outputs",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Fichier .svg ou .png (option répétable).",
)
@pass_ctx
def map_command(
    ctx: Context,
    indicator: str,
    level: str,
    within: str | None,
    period: str | None,
    method: str,
    classes: int,
    breaks: str | None,
    palette: str,
    reference: str | None,
    symbols: bool | None,
    reader: ReadPolicy,
    outputs: tuple[str, ...],
) -> None:
    """Dessine la carte d'un indicateur pour les territoires d'un niveau (SVG ou PNG).

    La légende compte les territoires de chaque classe et distingue « secret statistique »,
    « non disponible » et « pas de donnée » ; les territoires sans contour sont signalés.

    \b
    Exemples :
      observatoire map part_allocataires_rsa --within 93 -o rsa.svg
      observatoire map part_allocataires_rsa --within 93 --method stddev \\
        --palette divergente -o rsa.png
      observatoire map allocataires_caf --within 93 --symbols -o caf.svg
      observatoire map part_allocataires_rsa --level tas93 --method manual \\
        --breaks 5,10,15 -o tas.svg
      observatoire map filosofi.DISP_MED --level iris --within 93 -o medianes.png

    Une variable importée (« source.NOM », voir « observatoire variables ») se cartographie
    comme un indicateur, pour le public « chargé d'études » seulement.
    """
    from observatoire.outputs.indicator_map import MapRequest, draw_indicator_map
    from observatoire.stats.classify import parse_breaks

    manual = parse_breaks(breaks) if breaks else ()
    if method == "manual" and not manual:
        raise InputError('--method manual demande --breaks (ex. --breaks "10 20 30")')
    request = MapRequest(
        indicator=indicator,
        level=level,
        within=within,
        period=period,
        method=method,
        classes=classes,
        palette=palette,
        reference=reference,
        manual=manual,
        symbols=symbols,
        reader=reader,
    )
    with ctx.open() as obs:
        if indicator not in obs.catalogue():  # a raw variable (« filosofi.DISP_MED »)?
            obs.read_variable(indicator, reader=reader)
        decided, paths = draw_indicator_map(obs, request, outputs)
    counts = ", ".join(
        f"{label} : {n}"
        for label, n in zip(decided.classes.labels, decided.classes.counts, strict=True)
    )
    click.echo(f"{decided.text.title} — {counts}")
    for path in paths:
        click.echo(f"Carte écrite : {path}")


@click.command("export")
@click.argument("indicator")
@click.option("--level", default="commune", show_default=True, help="Niveau (ou un zonage).")
@click.option("--within", help="Territoire englobant : 93, departement:93, region:11…")
@click.option("--period", help="Une période (par défaut toutes).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "csv-plain", "xlsx", "parquet", "geojson", "gpkg"]),
    help="Format (par défaut déduit de l'extension de -o). csv : pour tableur français "
    "(UTF-8 avec BOM, ;, virgule décimale) ; csv-plain : , et point décimal.",
)
@click.option(
    "--wide",
    is_flag=True,
    help="Une ligne par territoire et une colonne par période (unité dans l'en-tête), les "
    "références (territoire englobant, département, région, France) en tête.",
)
@audience_option("analyst", "de l'export")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier.")
@pass_ctx
def export_command(
    ctx: Context,
    indicator: str,
    level: str,
    within: str | None,
    period: str | None,
    fmt: str | None,
    wide: bool,
    reader: ReadPolicy,
    output: str,
) -> None:
    """Exporte les valeurs d'un indicateur (CSV, XLSX avec métadonnées, Parquet, GeoJSON,
    GeoPackage). Les cellules qui commenceraient par = + - @ sont neutralisées.

    \b
    Exemples :
      observatoire export part_allocataires_rsa --within 93 -o rsa.xlsx
      observatoire export part_allocataires_rsa --within 93 --audience public -o rsa.csv
      observatoire export allocataires_caf --level commune --within 93 -o caf.gpkg
      observatoire export niveau_vie_median --within 57 --wide -o medianes.xlsx
    """
    from observatoire.outputs.indicator_export import export_indicator, format_for

    chosen = format_for(output, fmt)
    with ctx.open() as obs:
        if indicator not in obs.catalogue():  # a raw variable (« filosofi.DISP_MED »)?
            obs.read_variable(indicator, reader=reader)
        done = export_indicator(
            obs, indicator, chosen, level=level, within=within, period=period, reader=reader,
            wide=wide,
        )  # fmt: skip
    target = write_whole(Path(output), done.body)  # never a half-written file
    click.echo(f"{done.rows} lignes exportées ({chosen}) : {target}")


@click.command("portrait")
@click.argument("territory", required=False)
@click.option("--level", help="Niveau du territoire (commune, epci, departement, un zonage…).")
@click.option("--all", "every", is_flag=True, help="Tous les territoires de --level dans --within.")
@click.option("--within", help="Avec --all : territoire englobant (93, departement:93…).")
@click.option(
    "--format",
    "fmt",
    default="pdf",
    show_default=True,
    type=click.Choice(["html", "pdf", "xlsx"]),
    help="HTML autonome, PDF (A4) ou XLSX (chiffres, séries, métadonnées).",
)
@audience_option("public", "du portrait")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Fichier (un portrait) ou dossier (--all).",
)
@click.option(
    "--file/--no-file",
    "filed",
    default=True,
    show_default=True,
    help="Classer les portraits dans la bibliothèque de documents (chacun remplace son "
    "édition précédente).",
)
@pass_ctx
def portrait_command(
    ctx: Context,
    territory: str | None,
    level: str | None,
    every: bool,
    within: str | None,
    fmt: str,
    reader: ReadPolicy,
    output: str,
    filed: bool,
) -> None:
    """Produit le portrait social d'un territoire, ou de tous les territoires d'un niveau.

    Un portrait a une partie par thème : chiffres clés comparés aux références (avec les
    écarts significatifs), phrases de constat écrites par des règles, évolutions, position
    parmi les territoires comparables, carte ; puis sources, millésimes et méthodes. Il se
    personnalise par le fichier portrait.yaml du dossier de l'observatoire.

    \b
    Exemples :
      observatoire portrait 93066 --format pdf -o saint-denis.pdf
      observatoire portrait 93 --level departement --format html -o 93.html
      observatoire portrait --all --level commune --within 93 --format pdf -o portraits/
    """
    from observatoire.outputs.portrait_batch import write_portraits

    if every == bool(territory):
        raise InputError("donnez un territoire, ou --all avec --level (et --within)")
    if every and not level:
        raise InputError("--all demande --level (ex. --level commune --within 93)")
    written: list[tuple[Path, Mapping[str, object]]] = []
    with ctx.open() as obs:
        if not every:
            (path,) = write_portraits(
                obs,
                [str(territory)],
                fmt,
                Path(output),
                level=level,
                reader=reader,
                single=True,
                on_done=lambda path, card: written.append((path, card)),
            )
            click.echo(f"Portrait écrit : {path}")
            _file_portraits(obs, written, reader, filed)
            return
        assert level is not None
        codes = obs.geography.territories(level=level, within=within).code.astype(str).tolist()
        if not codes:
            raise InputError(
                f"aucun territoire de niveau {level}" + (f" dans {within}" if within else "")
            )
        terminal = sys.stderr.isatty()
        started = time.monotonic()
        with click.progressbar(
            length=len(codes), label="Portraits", file=sys.stderr if terminal else io.StringIO()
        ) as bar:

            def done(path: Path, card: Mapping[str, object]) -> None:
                bar.update(1)
                written.append((path, card))
                if not terminal:  # a script or a log: one line per portrait, as it is written
                    spent = time.monotonic() - started
                    left = spent / len(written) * (len(codes) - len(written))
                    click.echo(
                        f"[{len(written)}/{len(codes)}] {card.get('name')} ({card.get('code')}) "
                        f"→ {path.name} · {spent:.0f} s, encore ~{left:.0f} s",
                        err=True,
                    )

            paths = write_portraits(
                obs,
                codes,
                fmt,
                Path(output),
                level=level,
                reader=reader,
                on_done=done,
            )
        click.echo(f"{len(paths)} portraits écrits dans {output}")
        _file_portraits(obs, written, reader, filed)


def _file_portraits(
    obs: Observatory,
    written: list[tuple[Path, Mapping[str, object]]],
    reader: ReadPolicy,
    filed: bool,
) -> None:
    if filed and written:
        with registry_of(obs) as registry:
            count = registry.file_portraits(written, reader, actor="cli")
        click.echo(f"{count} portrait(s) classé(s) dans la bibliothèque de documents")


@click.command("maps")
@click.option("--map", "maps", multiple=True, metavar="INDICATEUR[@PÉRIODE]",
              help="Une carte (jusqu'à 4) : un indicateur, à une période éventuellement.")
@click.option("--bivariate", is_flag=True,
              help="Carte bivariée des deux premiers indicateurs (3 × 3 classes).")
@click.option("--change", nargs=2, metavar="DÉBUT FIN",
              help="Carte de l'évolution de chaque indicateur entre deux périodes.")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@audience_option("analyst", "des cartes")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="La figure (.svg ou .png).")
@pass_ctx
def maps_command(ctx: Context, maps: tuple[str, ...], bivariate: bool,
                 change: tuple[str, str] | None, level: str, within: str | None,
                 reader: ReadPolicy, output: str) -> None:  # fmt: skip
    """Cartes côte à côte en une seule figure pour un rapport : deux à quatre indicateurs ou
    années, chacun avec ses classes et sa légende ; une carte bivariée de deux indicateurs
    (3 × 3 classes, légende en carré) ; ou l'évolution entre deux périodes.

    \b
    Exemples :
      observatoire maps --map taux_chomage_15_64 --map niveau_vie_median --within 93 -o a.svg
      observatoire maps --map population@2013 --map population@2018 --within 93 -o b.png
      observatoire maps --bivariate --map taux_chomage_15_64 --map niveau_vie_median \\
          --within 93 -o c.png
      observatoire maps --change 2013 2018 --map population --within 93 -o d.svg
    """
    from observatoire.outputs.deck_render import svg_to_png
    from observatoire.outputs.panels import MAX_PANELS, figure_of, panels_for

    mode = "bivariee" if bivariate else "evolution" if change else "cote"
    start, end = change if change else (None, None)
    if not maps or len(maps) > MAX_PANELS or (bivariate and len(maps) != 2):
        raise InputError(f"--map : de 1 à {MAX_PANELS} cartes (2 pour --bivariate)")
    chosen = [(m.partition("@")[0], m.partition("@")[2] or None) for m in maps]
    with ctx.open() as obs:
        lvl = obs.geography.level_id(level)
        scope = obs.geography.within(within, lvl) if within else None
        svg = figure_of(obs, panels_for(obs, lvl, scope, mode, chosen, start, end, reader=reader),
                        lvl, scope)  # fmt: skip
    target = Path(output)
    write_whole(target, svg_to_png(svg, 1400) if target.suffix.lower() == ".png" else svg)
    click.echo(f"figure écrite : {output}", err=True)


COMMANDS = [map_command, export_command, portrait_command, maps_command]
