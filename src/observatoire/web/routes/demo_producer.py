"""The demo's FICTITIOUS producer: a Melodi-shaped catalogue and its file, served by the demo's
own server under ``/demo/producteur/melodi`` so that a user of the demo sees a new edition
noticed, fetched and imported (``observatoire sources check``, ``fetch``, the Sources page).

Served only when the home holds the producer's folder (``producteur_fictif/``, written by the
demo build); everything in it is synthetic and says so.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from observatoire.errors import UnknownNameError
from observatoire.web.deps import ObservatoryDep

__all__ = ["FOLDER", "router"]

FOLDER = "producteur_fictif"
_NAME = re.compile(r"^D[SD]_[A-Z0-9_]{2,80}$")

router = APIRouter(prefix="/demo/producteur/melodi", include_in_schema=False)


@router.get("/catalog/all")
def catalogue(request: Request, obs: ObservatoryDep) -> Response:
    """The fictitious producer's catalogue (the shape of Melodi's ``/catalog/all``), its
    files' addresses on this server, whatever its port."""
    path = obs.home.path / FOLDER / "catalog_all.json"
    if not path.is_file():
        raise UnknownNameError("producteur fictif", "catalogue", ["(pas une démonstration)"])
    entries = json.loads(path.read_text(encoding="utf-8"))
    base = str(request.base_url).rstrip("/") + router.prefix
    for entry in entries:
        for product in entry.get("product", []):
            product["accessURL"] = f"{base}/file/{entry['identifier']}/{product['id']}"
    return JSONResponse(entries)


@router.get("/file/{dataset}/{product}")
def product_file(dataset: str, product: str, obs: ObservatoryDep) -> Response:
    """A product of the fictitious catalogue (a zip), as Melodi serves its files."""
    path = obs.home.path / FOLDER / f"{product}.zip"
    if not (_NAME.match(dataset) and _NAME.match(product) and path.is_file()):
        raise UnknownNameError("fichier du producteur fictif", product[:60],
                               ["(voir son catalogue)"])  # fmt: skip
    return FileResponse(path, media_type="application/zip", filename=path.name)
