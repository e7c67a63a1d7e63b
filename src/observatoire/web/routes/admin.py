"""Administration pages (administrators only): accounts (creation, role, deactivation, sessions,
API tokens: listed without the tokens themselves, revoked one by one), partners and their
agreements, datasets due, and the audit log. Every change is a POST with its CSRF token and is
written to the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from observatoire.catalog.datasets import CONFIDENTIALITY
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.services.accounts import ROLE_LABELS, Accounts, Role, User, parse_role
from observatoire.web import content
from observatoire.web.deps import AccountsDep, ObservatoryDep, PostedForm, require
from observatoire.web.responses import Format, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, require(Role.ADMIN, message="page réservée aux administrateurs")]


def _data(obs: Observatory, accounts: Accounts) -> dict[str, Any]:
    partners = []
    for row in content.records(obs.partners.table()):
        agreements, _ = obs.partners.details(str(row["code"]))
        partners.append({**row, "agreements_list": content.records(agreements)})
    return {
        "partners": partners,
        "datasets": content.records(obs.datasets()),
        "users": [
            {**asdict(u), "role": u.role.value, "role_label": u.role_label}
            for u in accounts.users()
        ],
        "tokens": [asdict(t) for t in accounts.tokens()],
        "roles": [{"id": r.value, "label": label} for r, label in ROLE_LABELS.items()],
        "confidentiality": list(CONFIDENTIALITY),
        "audit": accounts.audit_log(100),
    }


@page_route(router, "/administration", "json")
def admin_page(
    request: Request, fmt: Format, _: Admin, obs: ObservatoryDep, accounts: AccountsDep
) -> Response:
    return show_page(request, fmt, "admin.html", _data(obs, accounts), "Administration")


@router.post("/administration/comptes")
async def create_account(
    form: PostedForm, admin: Admin, accounts: AccountsDep, obs: ObservatoryDep
) -> Response:
    email = str(form.get("email", ""))
    role = parse_role(str(form.get("role", "")))
    organisation = str(form.get("organisation", "")).strip() or None
    if role is Role.PARTNER and organisation:  # a known partner's code, as the registry has it
        organisation = obs.partners.require(organisation)
    accounts.create_user(
        email,
        str(form.get("password", "")),
        role=role,
        name=str(form.get("name", "")),
        organisation=organisation,
        actor=admin.email,
        observatory=obs.home.settings["name"],
    )
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/role")
async def change_role(form: PostedForm, admin: Admin, accounts: AccountsDep) -> Response:
    email = str(form.get("email", ""))
    if email == admin.email:
        raise AccessError("un administrateur ne change pas son propre rôle")
    accounts.set_role(email, parse_role(str(form.get("role", ""))), actor=admin.email)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/etat")
async def change_state(form: PostedForm, admin: Admin, accounts: AccountsDep) -> Response:
    """Disable an account (sessions closed, tokens revoked) or enable it again."""
    email = str(form.get("email", ""))
    if email == admin.email:
        raise AccessError("un administrateur ne désactive pas son propre compte")
    accounts.set_active(email, str(form.get("active", "")) == "1", actor=admin.email)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/sessions")
async def close_sessions(form: PostedForm, admin: Admin, accounts: AccountsDep) -> Response:
    """Close every open session of an account."""
    accounts.revoke_sessions(str(form.get("email", "")), actor=admin.email)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/jetons/revoquer")
async def revoke_token(form: PostedForm, admin: Admin, accounts: AccountsDep) -> Response:
    """Revoke one API token of an account (by its number)."""
    accounts.revoke_token(str(form.get("email", "")), str(form.get("id", "")), actor=admin.email)
    return RedirectResponse("/administration#jetons", status_code=303)


@router.post("/administration/partenaires")
async def create_partner(
    form: PostedForm, admin: Admin, accounts: AccountsDep, obs: ObservatoryDep
) -> Response:
    """Create (or rename) a partner organisation."""
    code = str(form.get("code", ""))
    created = obs.partners.save(
        code, str(form.get("name", "")).strip() or code, str(form.get("kind", "")).strip()
    )
    accounts.record(
        admin.email, "création de partenaire" if created else "modification de partenaire", code
    )
    return RedirectResponse("/administration#partenaires", status_code=303)


@router.post("/administration/conventions")
async def create_agreement(
    form: PostedForm, admin: Admin, accounts: AccountsDep, obs: ObservatoryDep
) -> Response:
    """Record (or replace) a data-sharing agreement of a partner."""
    partner = str(form.get("partner", ""))
    reference = str(form.get("reference", "")).strip()
    obs.partners.add_agreement(
        partner,
        reference=reference,
        scope=str(form.get("scope", "")).strip(),
        valid_from=str(form.get("valid_from", "")),
        valid_to=str(form.get("valid_to", "")) or None,
        confidentiality=str(form.get("confidentiality", "membres")),
    )
    accounts.record(admin.email, "enregistrement de convention", partner, reference)
    return RedirectResponse("/administration#partenaires", status_code=303)
