"""The login pages and the visitor's own account.

Logins are throttled by :class:`observatoire.services.accounts.Accounts` before any hash is
computed; the password check (argon2, ~0.15 s of CPU) runs in a worker thread, at most
:data:`HASHING_SLOTS` at once per process, so that the event loop and the other cores keep
serving pages while someone signs in. Who the visitor is, and the CSRF check of every form,
are :mod:`observatoire.web.deps`.

``/compte`` shows the signed-in account and its API tokens (label, dates, state: never the
token), and revokes one.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Annotated

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.errors import AccessError
from observatoire.services.accounts import ThrottledError, User
from observatoire.web.deps import (
    SESSION_COOKIE,
    AccountsDep,
    CurrentUser,
    PostedForm,
    ReaderDep,
    client_of,
    require,
)
from observatoire.web.responses import Format, page_route, render_page, respond, show_page

__all__ = ["HASHING_SLOTS", "router"]

router = APIRouter(include_in_schema=False)

# Password checks running at once in one server process: half the cores (one hash keeps one core
# busy), so that pages are still served while logins pour in.
HASHING_SLOTS = max(1, (os.cpu_count() or 2) // 2)
_HASHING: RunVar[anyio.CapacityLimiter] = RunVar("observatoire_hashing")


def _hashing_limiter() -> anyio.CapacityLimiter:
    """The limiter of password checks of the running event loop."""
    try:
        return _HASHING.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(HASHING_SLOTS)
        _HASHING.set(limiter)
        return limiter


def _login_page(
    request: Request, *, message: str = "", email: str = "", status: int = 200
) -> Response:
    return render_page(
        request, "login.html", {"message": message, "email": email}, "Connexion", status=status
    )


@page_route(router, "/connexion", "json")
def login_form(request: Request, fmt: Format, user: CurrentUser, reader: ReaderDep) -> Response:
    """The login form; its twin says who the visitor is, and how to sign in."""
    if fmt == "html":
        return _login_page(request)
    return respond(
        request,
        {
            "user": None
            if user is None
            else {
                "email": user.email,
                "name": user.name,
                "role": user.role.value,
                "organisation": user.organisation,
            },
            "audience": reader.value,
            "login": {
                "action": "/connexion",
                "method": "POST",
                "fields": ["email", "password", "csrf"],
            },
        },
        max_age=0,
    )


@router.post("/connexion")
async def login(request: Request, form: PostedForm, accounts: AccountsDep) -> Response:
    email = str(form.get("email", ""))
    try:
        pending = await run_in_threadpool(accounts.begin_login, email, client=client_of(request))
        password = str(form.get("password", ""))
        await anyio.to_thread.run_sync(pending.check, password, limiter=_hashing_limiter())
        _, token = await run_in_threadpool(accounts.finish_login, pending)
    except ThrottledError as refused:
        return _login_page(request, message=str(refused), email=email, status=429)
    except AccessError as refused:
        return _login_page(request, message=str(refused), email=email, status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=7 * 24 * 3600,
    )
    return response


@router.post("/deconnexion")
async def logout(request: Request, form: PostedForm, accounts: AccountsDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(token, client=client_of(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@page_route(router, "/compte", "json")
def account_page(
    request: Request,
    fmt: Format,
    user: Annotated[User, require(signed_out="connectez-vous pour voir votre compte")],
    accounts: AccountsDep,
) -> Response:
    """The signed-in account and its API tokens (never the tokens themselves)."""
    data = {
        "user": {
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "role_label": user.role_label,
            "organisation": user.organisation,
        },
        "tokens": [asdict(t) for t in accounts.tokens(user.email)],
    }
    return show_page(request, fmt, "compte.html", data, "Mon compte", max_age=0)


@router.post("/compte/jetons/revoquer")
async def revoke_own_token(
    form: PostedForm,
    user: Annotated[User, require(signed_out="connectez-vous pour révoquer un jeton")],
    accounts: AccountsDep,
) -> Response:
    """Revoke one of the signed-in account's API tokens."""
    accounts.revoke_token(user.email, str(form.get("id", "")), actor=user.email)
    return RedirectResponse("/compte#jetons", status_code=303)
