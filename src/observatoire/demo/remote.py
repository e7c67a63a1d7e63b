"""The demo's FICTITIOUS producer: a Melodi-shaped catalogue served by the demo's own server
(:mod:`observatoire.web.routes.demo_producer`) publishing the 2023 edition of the demo's
SYNTHETIC households export (2022 is imported by the build), and an inventory source that
declares it — so that a user of the demo sees the new edition noticed (Sources page,
``observatoire sources check``), fetches it and sees it in force with its origin."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from observatoire.demo.producers import MELODI_FILE, households_export
from observatoire.home import Home
from observatoire.observatory import Observatory
from observatoire.web.routes.demo_producer import FOLDER, router

__all__ = ["DATASET", "SOURCE", "fictitious_producer", "point_producer", "repoint_producer"]

DATASET = "DS_MENAGES_FICTIF"
PRODUCT = f"{DATASET}_2023_CSV_FR"
SOURCE = "insee-menages-fictif"
PUBLISHED = "2026-11-30T09:00:00"  # the fictitious edition's date, after the build's import


def fictitious_producer(obs: Observatory, home: Path) -> dict[str, object]:
    """Write the producer's catalogue and its file into the home; the inventory source
    declaring it (to be saved with the demo's others)."""
    folder = home / FOLDER
    folder.mkdir(exist_ok=True)
    archive = folder / f"{PRODUCT}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(MELODI_FILE, households_export(obs, 2023))
        out.writestr(MELODI_FILE.replace(".csv", "_metadata.csv"),
                     '"COD_VAR";"LIB_VAR";"COD_MOD";"LIB_MOD"\n')  # fmt: skip
    entry = {
        "identifier": DATASET,
        "title": [{"lang": "fr", "content": "Ménages (producteur FICTIF de la démonstration)"},
                  {"lang": "en", "content": "Households (FICTITIOUS demo producer)"}],
        "issued": "2025-06-11T11:34:08", "modified": PUBLISHED,
        "temporal": {"startPeriod": "2022-01-01T00:00:00", "endPeriod": "2023-01-01T00:00:00"},
        "product": [{"id": PRODUCT, "format": "CSV", "issued": PUBLISHED, "modified": PUBLISHED,
                     "title": "Ménages par type (données SYNTHÉTIQUES)", "accessURL": "",
                     "byteSize": archive.stat().st_size, "packageFormat": "application/zip",
                     "mediaType": "text/csv", "language": "FR"}],
    }  # fmt: skip
    (folder / "catalog_all.json").write_text(json.dumps([entry], ensure_ascii=False), "utf-8")
    return {
        "identifiant": SOURCE,
        "nom": "Ménages du recensement (export Melodi)",
        "type": "donnees",
        "producteur": "INSEE (producteur FICTIF servi par la démonstration)",
        "description": "Ménages et ménages d'une personne par commune, publiés sur un catalogue "
        "au format de Melodi que la démonstration sert elle-même : l'édition 2023 y paraît "
        "après l'import de 2022. Données SYNTHÉTIQUES.",
        "themes": ["cadrage"],
        "niveaux": ["commune"],
        "frequence": "annuelle",
        "jeux": ["insee.melodi.melodi_menages_synthetiques"],  # the 2022 edition imported
        "distant": f"melodi:{DATASET}",
    }


def point_producer(home: Path, host: str = "127.0.0.1", port: int = 8000) -> Home:
    """Point the home's Melodi address at the demo server's fictitious producer."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):  # an IPv6 address, in brackets in a URL
        shown = f"[{shown}]"
    return Home.load(home).save_setting("melodi_url", f"http://{shown}:{port}{router.prefix}")


def repoint_producer(home: Path, host: str, port: int) -> bool:
    """Point a demo home's Melodi address at the server about to serve it (``serve --port``
    on a demo built elsewhere, or a copy of one): only when the home holds the fictitious
    producer and its address is a demo producer's; True if so."""
    if not (home / FOLDER / "catalog_all.json").is_file():
        return False
    if not Home.load(home).settings.get("melodi_url", "").endswith(router.prefix):
        return False
    point_producer(home, host, port)
    return True
