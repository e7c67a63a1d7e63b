"""Who is asking, and the login pages.

A visitor is identified by the session cookie (``obs_session``: HttpOnly, SameSite=Lax, Secure
over HTTPS) or by an API token (``Authorization: Bearer obs_…``); otherwise it is the public.
Every form carries a CSRF token equal to the ``obs_csrf`` cookie (double submit), checked on
every POST. Logins are throttled by :class:`observatoire.accounts.Accounts` before any hash is
computed; the password check (argon2, ~0.15 s of CPU) runs in a worker thread, at most
:data:`HASHING_SLOTS` at once per process, so that the event loop and the other cores keep
serving pages while someone signs in.

``/compte`` shows the signed-in account and its API tokens (label, dates, state: never the
token), and revokes one.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.accounts import Accounts, Role, ThrottledError, User
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.secret.rules import Audience

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "Reader",
    "audience_of",
    "check_csrf",
    "csrf_token",
    "observatory_for",
    "router",
    "viewer",
]

SESSION_COOKIE = "obs_session"
CSRF_COOKIE = "obs_csrf"

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


def accounts_of(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


def viewer(request: Request) -> User | None:
    """The signed-in user (session cookie or API token), None for the public; once per
    request."""
    if hasattr(request.state, "user"):
        return request.state.user
    user = None
    accounts = accounts_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        request.state.user = None  # a refused token: its error page is rendered for the public
        user = accounts.token_holder(header[7:].strip())  # or AccessError saying why not
    elif SESSION_COOKIE in request.cookies:
        user = accounts.session_user(request.cookies[SESSION_COOKIE])
    request.state.user = user
    return user


@dataclass(frozen=True)
class Reader:
    """Who reads, as far as values go: an audience, and for a partner producer its
    organisation (it reads its own deposits). Part of every cache key of an answer."""

    audience: Audience
    organisation: str | None = None

    @property
    def value(self) -> str:
        return self.audience.value


def audience_of(request: Request) -> Reader:
    """What the visitor may read: the audience of its role, or the public."""
    user = viewer(request)
    if user is None:
        return Reader(Audience.PUBLIC)
    partner = user.organisation if user.role is Role.PARTNER else None
    return Reader(user.audience, partner)


def observatory_for(request: Request) -> Observatory:
    """The observatory as the visitor reads it (a partner: with its organisation's
    deposits readable)."""
    observatory: Observatory = request.app.state.observatory
    return observatory.for_organisation(audience_of(request).organisation)


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def csrf_token(request: Request) -> tuple[str, bool]:
    """The visitor's CSRF token, and whether it is new (then set it as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    return (existing, False) if existing else (secrets.token_urlsafe(24), True)


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a form whose token does not match the cookie."""
    sent = str(form.get("csrf", ""))
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise AccessError("formulaire expiré ou d'origine inconnue : rechargez la page")


def _login_page(
    request: Request, *, message: str = "", email: str = "", status: int = 200
) -> Response:
    from observatoire.web.pages import render_page

    return render_page(
        request, "login.html", {"message": message, "email": email}, "Connexion", status=status
    )


@router.get("/connexion")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.get("/connexion.json")
def whoami(request: Request) -> Response:
    """The login page's twin: who the visitor is, and how to sign in."""
    from observatoire.web.app import respond

    user = viewer(request)
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
            "audience": audience_of(request).value,
            "login": {
                "action": "/connexion",
                "method": "POST",
                "fields": ["email", "password", "csrf"],
            },
        },
        max_age=0,
    )


@router.post("/connexion")
async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    email = str(form.get("email", ""))
    accounts = accounts_of(request)
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
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts_of(request).logout(token, client=client_of(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _account_data(request: Request) -> dict[str, Any]:
    user = viewer(request)
    if user is None:
        raise AccessError("connectez-vous pour voir votre compte")
    return {
        "user": {
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "role_label": user.role_label,
            "organisation": user.organisation,
        },
        "tokens": [asdict(t) for t in accounts_of(request).tokens(user.email)],
    }


@router.get("/compte")
@router.get("/compte.json")
def account_page(request: Request) -> Response:
    """The signed-in account and its API tokens (never the tokens themselves)."""
    from observatoire.web.app import respond
    from observatoire.web.pages import render_page

    data = _account_data(request)
    if request.url.path.endswith(".json"):
        return respond(request, data, max_age=0)
    return render_page(request, "compte.html", data, "Mon compte")


@router.post("/compte/jetons/revoquer")
async def revoke_own_token(request: Request) -> Response:
    """Revoke one of the signed-in account's API tokens."""
    form = await request.form()
    check_csrf(request, form)
    user = viewer(request)
    if user is None:
        raise AccessError("connectez-vous pour révoquer un jeton")
    accounts_of(request).revoke_token(user.email, str(form.get("id", "")), actor=user.email)
    return RedirectResponse("/compte#jetons", status_code=303)
