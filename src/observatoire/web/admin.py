"""Administration pages (administrators only): accounts (creation, role, deactivation, sessions,
API tokens: listed without the tokens themselves, revoked one by one), partners and their
agreements, datasets due, and the audit log. Every change is a POST with its CSRF token and is
written to the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from observatoire.accounts import ROLE_LABELS, Accounts, Role, parse_role
from observatoire.catalog.datasets import CONFIDENTIALITY
from observatoire.errors import AccessError
from observatoire.store.partners import (
    add_agreement,
    list_partners,
    partner_details,
    require_partner,
    save_partner,
)
from observatoire.web import content
from observatoire.web.app import respond
from observatoire.web.auth import check_csrf, viewer

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _admin(request: Request) -> tuple[Accounts, str]:
    user = viewer(request)
    if user is None or user.role is not Role.ADMIN:
        raise AccessError("page réservée aux administrateurs")
    accounts: Accounts = request.app.state.accounts
    return accounts, user.email


async def _admin_form(request: Request) -> tuple[Any, Accounts, str]:
    """The posted form of an administrator, its CSRF token checked."""
    form = await request.form()
    check_csrf(request, form)
    accounts, actor = _admin(request)
    return form, accounts, actor


def _data(request: Request, accounts: Accounts) -> dict[str, Any]:
    obs = request.app.state.observatory
    partners = []
    for row in content.records(list_partners(obs.warehouse)):
        agreements, _ = partner_details(obs.warehouse, str(row["code"]))
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


def _page(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    from observatoire.web.pages import render_page

    if request.url.path.endswith(".json"):
        return respond(request, data)
    return render_page(request, "admin.html", data, "Administration", status=status)


@router.get("/administration")
@router.get("/administration.json")
def admin_page(request: Request) -> Response:
    accounts, _ = _admin(request)
    return _page(request, _data(request, accounts))


@router.post("/administration/comptes")
async def create_account(request: Request) -> Response:
    form, accounts, actor = await _admin_form(request)
    email = str(form.get("email", ""))
    role = parse_role(str(form.get("role", "")))
    organisation = str(form.get("organisation", "")).strip() or None
    if role is Role.PARTNER and organisation:  # a known partner's code, as the registry has it
        organisation = require_partner(request.app.state.observatory.warehouse, organisation)
    accounts.create_user(
        email,
        str(form.get("password", "")),
        role=role,
        name=str(form.get("name", "")),
        organisation=organisation,
        actor=actor,
        observatory=request.app.state.observatory.home.settings["name"],
    )
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/role")
async def change_role(request: Request) -> Response:
    form, accounts, actor = await _admin_form(request)
    email = str(form.get("email", ""))
    if email == actor:
        raise AccessError("un administrateur ne change pas son propre rôle")
    accounts.set_role(email, parse_role(str(form.get("role", ""))), actor=actor)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/etat")
async def change_state(request: Request) -> Response:
    """Disable an account (sessions closed, tokens revoked) or enable it again."""
    form, accounts, actor = await _admin_form(request)
    email = str(form.get("email", ""))
    if email == actor:
        raise AccessError("un administrateur ne désactive pas son propre compte")
    accounts.set_active(email, str(form.get("active", "")) == "1", actor=actor)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/comptes/sessions")
async def close_sessions(request: Request) -> Response:
    """Close every open session of an account."""
    form, accounts, actor = await _admin_form(request)
    accounts.revoke_sessions(str(form.get("email", "")), actor=actor)
    return RedirectResponse("/administration", status_code=303)


@router.post("/administration/jetons/revoquer")
async def revoke_token(request: Request) -> Response:
    """Revoke one API token of an account (by its number)."""
    form, accounts, actor = await _admin_form(request)
    accounts.revoke_token(str(form.get("email", "")), str(form.get("id", "")), actor=actor)
    return RedirectResponse("/administration#jetons", status_code=303)


@router.post("/administration/partenaires")
async def create_partner(request: Request) -> Response:
    """Create (or rename) a partner organisation."""
    form, accounts, actor = await _admin_form(request)
    code = str(form.get("code", ""))
    created = save_partner(
        request.app.state.observatory.warehouse,
        code=code,
        name=str(form.get("name", "")).strip() or code,
        kind=str(form.get("kind", "")).strip(),
    )
    accounts.record(
        actor, "création de partenaire" if created else "modification de partenaire", code
    )
    return RedirectResponse("/administration#partenaires", status_code=303)


@router.post("/administration/conventions")
async def create_agreement(request: Request) -> Response:
    """Record (or replace) a data-sharing agreement of a partner."""
    form, accounts, actor = await _admin_form(request)
    partner = str(form.get("partner", ""))
    reference = str(form.get("reference", "")).strip()
    add_agreement(
        request.app.state.observatory.warehouse,
        partner=partner,
        reference=reference,
        scope=str(form.get("scope", "")).strip(),
        valid_from=str(form.get("valid_from", "")),
        valid_to=str(form.get("valid_to", "")) or None,
        confidentiality=str(form.get("confidentiality", "membres")),
    )
    accounts.record(actor, "enregistrement de convention", partner, reference)
    return RedirectResponse("/administration#partenaires", status_code=303)
