"""The web application, built by a factory around an opened observatory.

    create_app(observatory) -> FastAPI

Pages (HTML, French) and their data twins (the same URL ending in ``.json``, and ``.csv``
for tables) are in :mod:`observatoire.web.pages`; the API under ``/api/v1`` in
:mod:`observatoire.web.api`. Every asset is served by the application (Leaflet from the
``xstatic-leaflet`` package): it works on an intranet without internet access.

HTTP status codes are decided here, from the exception tree (:mod:`observatoire.errors`):

    UnknownNameError, UnknownCodeError   404
    InputError                           400
    AccessError                          403
    ReferentialError                     404 (nothing computed or imported yet)
    HomeError, StorageError              503
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import xstatic.pkg.leaflet as leaflet
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from observatoire.accounts import Accounts
from observatoire.catalog.statuses import ValueStatus
from observatoire.errors import (
    AccessError,
    HomeError,
    InputError,
    ObservatoireError,
    ReferentialError,
    StorageError,
    UnknownCodeError,
    UnknownNameError,
)
from observatoire.observatory import Observatory
from observatoire.outputs.text import french_number
from observatoire.store.appdb import open_appdb
from observatoire.web.cache import AnswerCache

__all__ = ["answer", "cached_response", "create_app", "csv_response", "respond"]

HERE = Path(__file__).parent
T = TypeVar("T")


def create_app(observatory: Observatory) -> FastAPI:
    """The application serving ``observatory`` (opened by the caller, closed by it too)."""
    from observatoire.registry import Registry
    from observatoire.web import admin, api, api_inventory, auth, imports, inventory, pages, records

    app = FastAPI(
        title="observatoire",
        summary="API de l'observatoire social : territoires, indicateurs, valeurs.",
        version="1",
        docs_url="/api/v1/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.observatory = observatory
    app.state.cache = AnswerCache(observatory.warehouse)
    home = observatory.home
    app.state.accounts = Accounts(open_appdb(home.path, home.backend, home.location))
    app.state.registry = Registry(observatory, app.state.accounts.db)
    app.state.templates = _templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/vendor/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.include_router(api.router)
    app.include_router(api_inventory.api)
    app.include_router(auth.router)
    app.include_router(imports.router)
    app.include_router(imports.api)
    app.include_router(admin.router)
    app.include_router(records.router)
    app.include_router(inventory.router)
    app.include_router(pages.router)
    app.add_exception_handler(ObservatoireError, _error)  # type: ignore[arg-type]
    return app


def app_from_environment() -> FastAPI:
    """The application of the home named by ``$OBSERVATOIRE_HOME`` (``serve --workers N``:
    each worker process builds its own, with its own read-only connection)."""
    from observatoire.home import Home, resolve_home

    # DuckDB has one writer per file: several workers read; PostgreSQL workers all write.
    backend = Home.load(resolve_home(None)).backend
    return create_app(Observatory.open(write=backend == "postgres"))


def answer(request: Request, key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()``, or the answer cached under the current data version (web.cache)."""
    cache: AnswerCache = request.app.state.cache
    return cache.get(key, build)


def _templates() -> Jinja2Templates:
    import jinja2

    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    # the tiles of dashboards are the same markup on the site and in their PDF
    env.loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(HERE / "templates"),
            jinja2.PackageLoader("observatoire.outputs", "templates"),
        ]
    )
    env.filters["num"] = french_number
    env.filters["level_label"] = lambda level: _LEVEL_NAMES.get(level, level)
    env.globals["status_label"] = STATUS_LABELS
    return templates


_LEVEL_NAMES = {
    "iris": "IRIS",
    "commune": "commune",
    "arm": "arrondissement municipal",
    "epci": "EPCI",
    "departement": "département",
    "region": "région",
    "pays": "pays",
}
STATUS_LABELS = {s.value: ("" if s is ValueStatus.OK else s.label) for s in ValueStatus}


def respond(request: Request, payload: Any, *, max_age: int = 60) -> Response:
    """``payload`` as JSON with an ETag (304 when the client has it) and caching headers."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return cached_response(request, body, "application/json", max_age)


def cached_response(request: Request, body: bytes, media_type: str, max_age: int) -> Response:
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    signed_in = getattr(request.state, "user", None) is not None
    # what a signed-in visitor receives is its own: a shared cache must not keep it
    scope = "private" if signed_in else "public"
    headers = {
        "ETag": tag,
        "Cache-Control": f"{scope}, max-age={max_age}",
        "Vary": "Cookie, Authorization",
    }
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def csv_response(request: Request, text: str, filename: str) -> Response:
    """A CSV download (recorded in the audit log: who, what, from where)."""
    return download(request, text.encode("utf-8-sig"), "text/csv; charset=utf-8", filename)


def download(request: Request, body: bytes, media_type: str, filename: str) -> Response:
    """A file download, recorded in the audit log (who, what, from where)."""
    user = getattr(request.state, "user", None)
    accounts: Accounts = request.app.state.accounts
    query = f"?{request.url.query}" if request.url.query else ""
    accounts.record(
        user.email if user is not None else None,
        "téléchargement",
        filename,
        request.url.path + query,
        request.client.host if request.client else None,
    )
    response = cached_response(request, body, media_type, 60)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _status(exc: ObservatoireError) -> int:
    if isinstance(exc, UnknownNameError | UnknownCodeError):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, ReferentialError):
        return 404
    if isinstance(exc, HomeError | StorageError):
        return 503
    return 500


async def _error(request: Request, exc: ObservatoireError) -> Response:
    status = _status(exc)
    path = request.url.path
    if path.startswith("/api/") or path.endswith((".json", ".csv", ".geojson")):
        return JSONResponse({"error": str(exc), "status": status}, status_code=status)
    from observatoire.web.pages import render_page

    data = {"message": str(exc), "status": status}
    return render_page(request, "error.html", data, "Erreur", status=status)
