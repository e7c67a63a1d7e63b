"""HTTP status codes, decided here from the exception tree (:mod:`observatoire.errors`):

    UnknownNameError, UnknownCodeError   404
    TooLargeError                        413
    InputError                           400
    AccessError                          403
    ReferentialError                     404 (nothing computed or imported yet)
    HomeError, StorageError              503
    BusyError                            409 (the same operation under way)
    RemoteError                          502 (a producer's service out of reach)

:func:`error_response` is the application's one handler of them: a JSON answer for the API and
the data twins, the error page otherwise, in French and without the server's paths.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from observatoire.errors import (
    AccessError,
    BusyError,
    HomeError,
    InputError,
    ObservatoireError,
    ReferentialError,
    RemoteError,
    StorageError,
    TooLargeError,
    UnknownCodeError,
    UnknownNameError,
)
from observatoire.web import deps
from observatoire.web.responses import render_page

__all__ = ["error_response", "public_message", "status_of"]


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
    if isinstance(exc, BusyError):
        return 409
    if isinstance(exc, RemoteError):
        return 502
    return 500


_DEPOSIT_FOLDER = re.compile(r"[^\s«»:]*(?:depots|propositions)/[A-Za-z0-9_-]{16,64}/?")


def public_message(request: Request, exc: Exception) -> str:
    """``str(exc)`` without the server's paths: a file deposited is named by its own name,
    anything else of the observatory's folder relative to it."""
    text = _DEPOSIT_FOLDER.sub("", str(exc))
    home = deps.observatory(request).home.path
    for prefix in {str(home.resolve()), str(home)}:
        text = text.replace(prefix + "/", "")
    return text


async def error_response(request: Request, exc: ObservatoireError) -> Response:
    """The answer to an error of the tree: JSON for the API and the data twins, else a page."""
    status = status_of(exc)
    message = public_message(request, exc)
    path = request.url.path
    if path.startswith("/api/") or path.endswith((".json", ".csv", ".geojson")):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    data = {"message": message, "status": status}
    return render_page(request, "error.html", data, "Erreur", status=status)
