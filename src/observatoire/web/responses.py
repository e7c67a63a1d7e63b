"""How answers leave: JSON with an ETag, downloads recorded in the audit log, HTML pages, and
the one convention of data twins.

Every page that has a data twin is registered with :func:`page_route`: the HTML page at its
path, its twins at the same path ending in ``.json`` (``.csv`` for a table, ``.pdf`` for a
dashboard), the home's at ``/index.json``. The twins are registered first, so that a
``{name}`` ending the path never swallows their suffix (``/indicateurs/rsa.json`` is the twin
of ``/indicateurs/rsa``). A route learns which one was asked through :data:`Format` and answers
with :func:`show_page`::

    @page_route(router, "/zonages/{name}", "json", "csv")
    def zoning_page(name: str, fmt: Format, ...) -> Response:
        return show_page(request, fmt, "zoning.html", data, title)

JSON answers (:func:`respond`) carry an ETag (304 when the client has it) and a Cache-Control
that is ``private`` for a signed-in visitor: what it receives is its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from observatoire.catalog.statuses import ValueStatus
from observatoire.csvfile import SPREADSHEET, Dialect, csv_bytes
from observatoire.errors import InputError
from observatoire.territories.levels import LEVELS
from observatoire.text import first_upper, french_number
from observatoire.web import content, deps

__all__ = [
    "STATUS_LABELS",
    "TWINS",
    "Format",
    "build_templates",
    "cached_response",
    "csv_response",
    "download",
    "page_format",
    "page_route",
    "paged",
    "render_page",
    "respond",
    "show_page",
    "twin_path",
]

HERE = Path(__file__).parent
TWINS = ("json", "csv", "pdf")  # the suffixes a page's twins may have
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


# -- data twins ----------------------------------------------------------------------------------
def twin_path(path: str, suffix: str) -> str:
    """The path of a page's ``suffix`` twin: ``/zonages`` → ``/zonages.json``, ``/`` →
    ``/index.json``."""
    return f"{path.rstrip('/') or '/index'}.{suffix}"


def page_route(router: APIRouter, path: str, *twins: str) -> Callable[[Endpoint], Endpoint]:
    """Register the decorated function as the GET page ``path`` and its ``twins`` (json,
    csv, pdf), the twins first."""
    unknown = [t for t in twins if t not in TWINS]
    if unknown:
        raise ValueError(f"twins {unknown} not in {TWINS}")

    def register(endpoint: Endpoint) -> Endpoint:
        for suffix in twins:
            router.add_api_route(twin_path(path, suffix), endpoint, methods=["GET"])
        router.add_api_route(path, endpoint, methods=["GET"])
        return endpoint

    return register


def page_format(request: Request) -> str:
    """The format asked of a page: the suffix of the twin route matched, else html."""
    path: str = getattr(request.scope.get("route"), "path", "")
    return next((t for t in TWINS if path.endswith(f".{t}")), "html")


Format = Annotated[str, Depends(page_format)]


def show_page(
    request: Request,
    fmt: str,
    template: str,
    data: dict[str, Any],
    title: str,
    *,
    max_age: int = 60,
    status: int = 200,
    **extra: Any,
) -> Response:
    """A page in the format asked: its JSON twin (``data``), or the HTML page (``data`` and
    ``extra`` rendered by ``template``). A table's CSV is answered by its route."""
    if fmt == "json":
        return respond(request, data, max_age=max_age)
    if fmt != "html":
        raise InputError(f"format {fmt} non proposé pour cette page (html, json)")
    return render_page(request, template, data, title, status=status, **extra)


# -- JSON and files ------------------------------------------------------------------------------
def respond(request: Request, payload: Any, *, max_age: int = 60) -> Response:
    """``payload`` as JSON with an ETag (304 when the client has it) and caching headers."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return cached_response(request, body, "application/json", max_age)


def paged(
    request: Request, rows: list[dict[str, Any]], limit: int, offset: int, fmt: str, name: str
) -> Response:
    """One page of ``rows``: JSON with the count and the next page's URL, or CSV (``name``)."""
    chunk = rows[offset : offset + limit]
    if fmt == "csv":
        return csv_response(request, pd.DataFrame(chunk), f"{name}.csv")
    following = None
    if offset + limit < len(rows):
        following = str(request.url.include_query_params(offset=offset + limit))
    return respond(
        request,
        {"count": len(rows), "limit": limit, "offset": offset, "next": following, "rows": chunk},
    )


def cached_response(request: Request, body: bytes, media_type: str, max_age: int) -> Response:
    """``body`` with an ETag (304 when the client has it) and caching headers."""
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
    query = f"?{request.url.query}" if request.url.query else ""
    deps.accounts(request).record(
        user.email if user is not None else None,
        "téléchargement",
        filename,
        request.url.path + query,
        request.client.host if request.client else None,
    )
    response = cached_response(request, body, media_type, 60)
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def attachment(filename: str) -> str:
    """The Content-Disposition of a download: an ASCII name for every client, the exact name
    (RFC 5987) for those that read it; nothing of the name can break the header.

    >>> attachment("portrait_été.pdf")
    'attachment; filename="portrait_ete.pdf"; filename*=UTF-8\'\'portrait_%C3%A9t%C3%A9.pdf'
    """
    plain = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("_") or "fichier"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- HTML ----------------------------------------------------------------------------------------
def render_page(
    request: Request,
    template: str,
    data: dict[str, Any],
    title: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """A page of the site: the observatory, the visitor, a CSRF token for its forms."""
    site = deps.answers(request).get(("site",), lambda: content.site(deps.observatory(request)))
    token, new = deps.csrf_token(request)
    user = deps.viewer(request)
    html = (
        deps.templates(request)
        .get_template(template)
        .render(
            request=request,
            site=site,
            data=data,
            title=title,
            json_url=_twin_url(request, "json"),
            csv_url=_twin_url(request, "csv"),
            user=user,
            csrf=token,
            **extra,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if new:
        deps.set_csrf_cookie(request, response, token)
    # a signed-in visitor's pages are its own: never kept by a shared cache
    response.headers["Cache-Control"] = "private, no-store" if user else "no-cache"
    return response


def _twin_url(request: Request, suffix: str) -> str:
    """The URL of this page's ``suffix`` twin (same query)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return twin_path(request.url.path, suffix) + query


def build_templates() -> Jinja2Templates:
    """The site's templates, with the dashboards' tiles (shared with their PDF) and the
    filters of French numbers and level names."""
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
    env.filters["batch_state"] = lambda state: _BATCH_STATES.get(state, state)
    env.filters["level_label"] = lambda level: _LEVEL_NAMES.get(level, level)
    env.filters["level_plural"] = _level_plural
    env.globals["status_label"] = STATUS_LABELS
    return templates


def _level_plural(level: str) -> str:
    """« Communes », « IRIS », « Arrondissements municipaux »: a heading's plural."""
    return first_upper(LEVELS[level].plural if level in LEVELS else level)


_BATCH_STATES = {"active": "en vigueur", "replaced": "remplacé", "rolled_back": "retiré"}
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
