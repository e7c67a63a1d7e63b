"""The web application, built by a factory around an opened observatory.

    create_app(observatory) -> FastAPI

Pages (HTML, French) and their data twins (the same URL ending in ``.json``, and ``.csv``
for tables) are in :mod:`observatoire.web.pages`; the API under ``/api/v1`` in
:mod:`observatoire.web.api`. Every asset is served by the application (Leaflet from the
``xstatic-leaflet`` package): it works on an intranet without internet access.

HTTP status codes are decided here, from the exception tree (:mod:`observatoire.errors`):

    UnknownNameError, UnknownCodeError   404
    TooLargeError                        413
    InputError                           400
    AccessError                          403
    ReferentialError                     404 (nothing computed or imported yet)
    HomeError, StorageError              503
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import xstatic.pkg.leaflet as leaflet
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp

from observatoire.accounts import Accounts
from observatoire.catalog.statuses import ValueStatus
from observatoire.csvfile import SPREADSHEET, Dialect, csv_bytes
from observatoire.errors import (
    AccessError,
    HomeError,
    InputError,
    ObservatoireError,
    ReferentialError,
    StorageError,
    TooLargeError,
    UnknownCodeError,
    UnknownNameError,
)
from observatoire.observatory import Observatory
from observatoire.store.appdb import open_appdb
from observatoire.text import french_number
from observatoire.web.cache import AnswerCache
from observatoire.web.headers import API_DOCS_HTML, SecurityHeaders, swagger_files
from observatoire.web.uploads import MIB, BodyLimit

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "answer",
    "cached_response",
    "create_app",
    "csv_response",
    "public_message",
    "respond",
    "status_of",
]

HERE = Path(__file__).parent
T = TypeVar("T")


def create_app(observatory: Observatory) -> FastAPI:
    """The application serving ``observatory`` (opened by the caller, closed by it too)."""
    from observatoire.registry import Registry
    from observatoire.web import (
        admin,
        api,
        api_inventory,
        auth,
        imports,
        inventory,
        pages,
        proposals,
        records,
    )

    app = _Application(
        title="observatoire",
        summary="API de l'observatoire social : territoires, indicateurs, valeurs.",
        version="1",
        docs_url=None,  # served below from the package's files, not a CDN
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
    app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger_files()), name="swagger-ui")
    app.add_api_route("/api/v1/docs", _api_docs, include_in_schema=False)
    app.include_router(api.router)
    app.include_router(api_inventory.api)
    app.include_router(auth.router)
    app.include_router(imports.router)
    app.include_router(proposals.router)
    app.include_router(imports.api)
    app.include_router(admin.router)
    app.include_router(records.router)
    app.include_router(inventory.router)
    app.include_router(pages.router)
    app.add_exception_handler(ObservatoireError, _error)  # type: ignore[arg-type]
    # Every request body bounded (uploads by their own limit), every answer with its headers.
    upload_limit = imports.MAX_UPLOAD + MIB
    app.add_middleware(
        BodyLimit,
        limits={  # the upload routes, by exact path; every other form: 1 MiB
            "/imports": upload_limit,
            "/api/v1/imports": upload_limit,
            "/documents": inventory.MAX_DOCUMENT + MIB,
        },
        default=MIB,
    )
    return app


class _Application(FastAPI):
    """FastAPI whose outermost layer adds the security headers: every answer has them, the
    server error page (built by the outermost of Starlette's own layers) included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _api_docs() -> HTMLResponse:
    return HTMLResponse(API_DOCS_HTML)


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


def csv_response(
    request: Request, table: pd.DataFrame, filename: str, dialect: Dialect = SPREADSHEET
) -> Response:
    """``table`` as a CSV download, for a French spreadsheet unless ``dialect`` says otherwise,
    formulas neutralised (:mod:`observatoire.csvfile`); recorded in the audit log."""
    return download(request, csv_bytes(table, dialect), "text/csv; charset=utf-8", filename)


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


def status_of(exc: ObservatoireError) -> int:
    """The HTTP status of an error of the tree (the one place that decides it)."""
    if isinstance(exc, UnknownNameError | UnknownCodeError):
        return 404
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, ReferentialError):
        return 404
    if isinstance(exc, HomeError | StorageError):
        return 503
    return 500


_DEPOSIT_FOLDER = re.compile(r"[^\s«»:]*(?:depots|propositions)/[A-Za-z0-9_-]{16,64}/?")


def public_message(request: Request, exc: Exception) -> str:
    """``str(exc)`` without the server's paths: a file deposited is named by its own name,
    anything else of the observatory's folder relative to it."""
    text = _DEPOSIT_FOLDER.sub("", str(exc))
    home: Path = request.app.state.observatory.home.path
    for prefix in {str(home.resolve()), str(home)}:
        text = text.replace(prefix + "/", "")
    return text


async def _error(request: Request, exc: ObservatoireError) -> Response:
    status = status_of(exc)
    message = public_message(request, exc)
    path = request.url.path
    if path.startswith("/api/") or path.endswith((".json", ".csv", ".geojson")):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    from observatoire.web.pages import render_page

    data = {"message": message, "status": status}
    return render_page(request, "error.html", data, "Erreur", status=status)
