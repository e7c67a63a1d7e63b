"""The web application, built by a factory around an opened observatory.

    create_app(observatory) -> FastAPI

The factory puts what the routes share on ``app.state`` (read through
:mod:`observatoire.web.deps`), mounts the static files, includes the routers of
:mod:`observatoire.web.routes`, and adds the layers every request passes: bounded bodies
(:mod:`observatoire.web.uploads`), the visitor decided first (a refused API token is refused
everywhere, :func:`observatoire.web.deps.viewer`), security headers
(:mod:`observatoire.web.headers`), the one handler of errors (:mod:`observatoire.web.errors`).
Every asset is served by the application (Leaflet from the ``xstatic-leaflet`` package): it
works on an intranet without internet access.
"""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet as leaflet
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from observatoire.errors import ObservatoireError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts
from observatoire.services.inventory import Registry
from observatoire.services.quality import QualityReview
from observatoire.store.appdb import open_appdb
from observatoire.web import deps, uploads
from observatoire.web.cache import AnswerCache
from observatoire.web.errors import error_response
from observatoire.web.headers import API_DOCS_HTML, SecurityHeaders, swagger_files
from observatoire.web.responses import build_templates
from observatoire.web.routes import ROUTERS
from observatoire.web.uploads import MIB, BodyLimit

__all__ = ["app_from_environment", "create_app"]

HERE = Path(__file__).parent


def create_app(observatory: Observatory) -> FastAPI:
    """The application serving ``observatory`` (opened by the caller, closed by it too)."""
    app = _Application(
        title="observatoire",
        summary="API de l'observatoire social : territoires, indicateurs, valeurs.",
        version="1",
        docs_url=None,  # served below from the package's files, not a CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.observatory = observatory
    app.state.cache = AnswerCache(observatory)
    home = observatory.home
    app.state.accounts = Accounts(open_appdb(home.path, home.backend, home.location))
    app.state.registry = Registry(observatory, app.state.accounts.db)
    app.state.quality = QualityReview(observatory, app.state.accounts.db)
    app.state.templates = build_templates()
    app.state.depositing = set()  # the accounts whose deposit is being received or checked
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/vendor/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger_files()), name="swagger-ui")
    # Who is asking is decided before any route runs: a refused token (unknown, revoked,
    # expired) is refused on every route, whether or not the route reads the visitor.
    visitor = [Depends(deps.viewer)]
    app.add_api_route("/api/v1/docs", _api_docs, include_in_schema=False, dependencies=visitor)
    for router in ROUTERS:
        app.include_router(router, dependencies=visitor)
    app.add_exception_handler(ObservatoireError, error_response)  # type: ignore[arg-type]
    # Every request body bounded (uploads by their own limit), every answer with its headers.
    upload_limit = uploads.MAX_UPLOAD + MIB
    app.add_middleware(
        BodyLimit,
        limits={  # the upload routes, by exact path; every other form: 1 MiB
            "/imports": upload_limit,
            "/api/v1/imports": upload_limit,
            "/documents": uploads.MAX_DOCUMENT + MIB,
        },
        default=MIB,
    )
    return app


class _Application(FastAPI):
    """FastAPI whose outermost layer adds the security headers: every answer has them, the
    server error page (built by the outermost of Starlette's own layers) included."""

    def build_middleware_stack(self) -> ASGIApp:
        observatory = self.state.observatory
        return SecurityHeaders(OneDataVersion(super().build_middleware_stack(), observatory))


class OneDataVersion:
    """ASGI middleware: a request reads one data version from its start to its last byte
    (streamed downloads included), even when a write is published meanwhile; the next request
    sees that write (:meth:`~observatoire.observatory.Observatory.snapshot`)."""

    def __init__(self, app: ASGIApp, observatory: Observatory) -> None:
        self.app = app
        self.observatory = observatory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.observatory.snapshot():
            await self.app(scope, receive, send)


def _api_docs() -> HTMLResponse:
    return HTMLResponse(API_DOCS_HTML)


def app_from_environment() -> FastAPI:
    """The application of the home named by ``$OBSERVATOIRE_HOME`` (``serve --workers N``:
    each worker process builds its own; each may write, one at a time whatever the engine)."""
    return create_app(Observatory.open(write=True))
