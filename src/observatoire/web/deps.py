"""What a route receives: FastAPI dependencies over the application's state and the visitor.

    @router.get("/besoins/{ident}")
    def need_page(ident: str, registry: RegistryDep, user: SignedIn) -> Response: ...

The state that :func:`observatoire.web.app.create_app` puts on ``app.state`` (the observatory,
the answer cache, the accounts, the inventory registry, the templates, the deposits being
received) is read here and nowhere else: routes declare what they need.

Who is asking: a session cookie (``obs_session``: HttpOnly, SameSite=Lax, Secure over HTTPS) or
an API token (``Authorization: Bearer obs_…``) names a user; otherwise it is the public
(:func:`viewer`, once per request). What the visitor may read is made here once, a
:class:`~observatoire.secret.policy.ReadPolicy` (an audience, and for a partner producer its
organisation), given as it is to every read; it is part of every cache key of an answer.
Every form carries a CSRF token equal to the ``obs_csrf`` cookie (double submit):
:data:`PostedForm` checks it before a route sees the form.

Role checks are written one way, ``require(*roles)``, whose refusals are
:class:`~observatoire.errors.AccessError` (403, decided in :mod:`observatoire.web.errors`).
FastAPI solves a route's dependencies in the order of its parameters: a route that checks the
CSRF token before the role declares the form first.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from observatoire.errors import AccessError, StorageError
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC, ReadPolicy
from observatoire.services.accounts import Accounts, Role, User
from observatoire.services.inventory import Registry
from observatoire.services.quality import QualityReview
from observatoire.web.cache import AnswerCache

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "AccountsDep",
    "Answers",
    "CurrentUser",
    "Depositing",
    "Format",
    "Limit",
    "ObservatoryDep",
    "Offset",
    "PostedFields",
    "PostedForm",
    "QualityDep",
    "ReaderDep",
    "RegistryDep",
    "Within",
    "WritableObservatory",
    "audience_of",
    "check_csrf",
    "client_of",
    "csrf_token",
    "quality",
    "reader_of",
    "require",
    "role_check",
    "set_csrf_cookie",
    "viewer",
    "writable",
]

SESSION_COOKIE = "obs_session"
CSRF_COOKIE = "obs_csrf"


# -- the application's state ---------------------------------------------------------------------
def observatory(request: Request) -> Observatory:
    """The observatory served (the whole of it: imports, administration)."""
    found: Observatory = request.app.state.observatory
    return found


def accounts(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


def registry(request: Request) -> Registry:
    """The inventory service: sources, documents, needs, the work programme."""
    found: Registry = request.app.state.registry
    return found


def quality(request: Request) -> QualityReview:
    """The data-quality review: its points de vigilance and their states."""
    found: QualityReview = request.app.state.quality
    return found


def answers(request: Request) -> AnswerCache:
    """The answers kept under the warehouse's data version (:mod:`observatoire.web.cache`)."""
    found: AnswerCache = request.app.state.cache
    return found


def templates(request: Request) -> Jinja2Templates:
    found: Jinja2Templates = request.app.state.templates
    return found


def depositing(request: Request) -> set[str]:
    """The accounts whose deposit this server process is receiving or checking."""
    busy: set[str] = request.app.state.depositing
    return busy


# -- who is asking -------------------------------------------------------------------------------
def viewer(request: Request) -> User | None:
    """The signed-in user (session cookie or API token), None for the public; once per
    request."""
    if hasattr(request.state, "user"):
        found: User | None = request.state.user
        return found
    user = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        request.state.user = None  # a refused token: its error page is rendered for the public
        user = accounts(request).token_holder(header[7:].strip())  # or AccessError saying why
    elif SESSION_COOKIE in request.cookies:
        user = accounts(request).session_user(request.cookies[SESSION_COOKIE])
    request.state.user = user
    return user


def reader_of(user: User | None) -> ReadPolicy:
    """What ``user`` may read of the values: the audience of its role (the public when signed
    out); a partner producer reads its own organisation's deposits too."""
    if user is None:
        return PUBLIC
    partner = user.organisation if user.role is Role.PARTNER else None
    return ReadPolicy(user.audience, partner)


def audience_of(request: Request) -> ReadPolicy:
    """What the visitor may read (:func:`reader_of` the signed-in user)."""
    return reader_of(viewer(request))


def client_of(request: Request) -> str:
    """The client's address, as the audit log records it."""
    return request.client.host if request.client else ""


def role_check(
    *roles: Role, message: str | None = None, signed_out: str | None = None
) -> Callable[[User | None], User]:
    """The check of :func:`require`, callable on a user as well."""
    refused = message or f"action réservée aux rôles : {', '.join(r.value for r in roles)}"

    def check(user: CurrentUser) -> User:
        if user is None:
            raise AccessError(signed_out or refused)
        if roles and user.role not in roles:
            raise AccessError(refused)
        return user

    return check


def require(*roles: Role, message: str | None = None, signed_out: str | None = None) -> Any:
    """A dependency giving the signed-in user whose role is one of ``roles`` (any role when
    none are given); refused with ``message`` (by default the roles allowed), and the public
    with ``signed_out`` (by default ``message``).

        Editor = Annotated[User, require(Role.ADMIN, Role.ANALYST, message="…")]
    """
    return Depends(role_check(*roles, message=message, signed_out=signed_out))


# -- forms ---------------------------------------------------------------------------------------
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


async def posted_form(request: Request) -> Any:
    """The posted form, its CSRF token checked."""
    form = await request.form()
    check_csrf(request, form)
    return form


async def posted_fields(form: Annotated[Any, Depends(posted_form)]) -> dict[str, str]:
    """The posted form's text fields but its CSRF token."""
    return {k: str(v) for k, v in form.items() if k != "csrf" and isinstance(v, str)}


# -- writing -------------------------------------------------------------------------------------
def writable(obs: Annotated[Observatory, Depends(observatory)]) -> Observatory:
    """The observatory, if this server may write it."""
    if not obs.writable:
        raise StorageError(
            "ce serveur a ouvert la base en lecture seule : importez avec "
            "« observatoire import », ou servez-la avec « observatoire serve »"
        )
    return obs


ObservatoryDep = Annotated[Observatory, Depends(observatory)]
WritableObservatory = Annotated[Observatory, Depends(writable)]
AccountsDep = Annotated[Accounts, Depends(accounts)]
RegistryDep = Annotated[Registry, Depends(registry)]
QualityDep = Annotated[QualityReview, Depends(quality)]
Answers = Annotated[AnswerCache, Depends(answers)]
Depositing = Annotated[set[str], Depends(depositing)]
CurrentUser = Annotated[User | None, Depends(viewer)]
ReaderDep = Annotated[ReadPolicy, Depends(audience_of)]
PostedForm = Annotated[Any, Depends(posted_form)]
PostedFields = Annotated[dict[str, str], Depends(posted_fields)]


# The query parameters the API's routes share, documented once.
Limit = Annotated[int, Query(ge=1, le=10_000, description="Lignes par page")]
Offset = Annotated[int, Query(ge=0, description="Première ligne (0 = la première)")]
Format = Annotated[Literal["json", "csv"], Query(description="json ou csv")]
Within = Annotated[
    str | None, Query(description="Territoire englobant : « 93 », « departement:93 »…")
]
