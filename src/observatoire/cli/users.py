"""``observatoire users …``: accounts of the extranet, their roles, tokens and audit trail."""

from __future__ import annotations

import sys

import click
import pandas as pd

from observatoire.cli._common import (
    FORMATS,
    Context,
    accounts_of,
    emit,
    pass_ctx,
)
from observatoire.home import Home, resolve_home


# -- zoning ---------------------------------------------------------------------------------
@click.group()
def users() -> None:
    """Comptes de l'extranet : création, rôles, mots de passe, jetons d'API, journal.

    Rôles : admin (administrateur), analyst (chargé d'études), partner (producteur
    partenaire, rattaché à un organisme), member (membre). Aucun mot de passe par défaut :
    le premier administrateur se crée ici. Un mot de passe compte 12 caractères au moins et
    n'est ni courant, ni une répétition ou une suite, ni l'adresse ou le nom de l'observatoire.

    \b
    Exemple :
      observatoire users create admin@cd93.fr --admin --name "Camille Martin"
      observatoire users list
    """


def _observatory_name(ctx: Context) -> str:
    """The observatory's name (a password may not contain it)."""
    return Home.load(resolve_home(ctx.home)).settings["name"]


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True))


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    default="member",
    show_default=True,
    type=click.Choice(["admin", "analyst", "partner", "member"]),
    help="Rôle du compte.",
)
@click.option("--admin", "is_admin", is_flag=True, help="Raccourci pour --role admin.")
@click.option("--name", default="", help="Nom affiché.")
@click.option("--organisation", help="Organisme (obligatoire pour un partenaire).")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@pass_ctx
def users_create(
    ctx: Context,
    email: str,
    role: str,
    is_admin: bool,
    name: str,
    organisation: str | None,
    password_stdin: bool,
) -> None:
    """Crée un compte ; le mot de passe (12 caractères au moins) est demandé deux fois.

    \b
    Exemple :
      observatoire users create admin@cd93.fr --admin
      observatoire users create caf@caf93.fr --role partner --organisation caf93
    """
    from observatoire.services.accounts import parse_role

    chosen = parse_role("admin" if is_admin else role)
    password = _new_password(password_stdin)
    user = accounts_of(ctx).create_user(
        email,
        password,
        role=chosen,
        name=name,
        organisation=organisation,
        actor="cli",
        observatory=_observatory_name(ctx),
    )
    click.echo(f"Compte créé : {user.email} ({user.role_label})")


@users.command("list")
@pass_ctx
def users_list(ctx: Context) -> None:
    """Liste les comptes.

    \b
    Exemple :
      observatoire users list
    """
    for user in accounts_of(ctx).users():
        state = "" if user.active else " (désactivé)"
        org = f" — {user.organisation}" if user.organisation else ""
        click.echo(f"{user.email:<32} {user.role_label:<22} {user.name}{org}{state}")


@users.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@pass_ctx
def users_password(ctx: Context, email: str, password_stdin: bool) -> None:
    """Change le mot de passe d'un compte (ses sessions sont fermées, ses jetons d'API
    révoqués).

    \b
    Exemple :
      observatoire users password admin@cd93.fr
    """
    accounts_of(ctx).set_password(
        email, _new_password(password_stdin), actor="cli", observatory=_observatory_name(ctx)
    )
    click.echo(f"Mot de passe changé pour {email}")


@users.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "analyst", "partner", "member"]))
@pass_ctx
def users_role(ctx: Context, email: str, role: str) -> None:
    """Change le rôle d'un compte (inscrit au journal).

    \b
    Exemple :
      observatoire users role membre@ville.fr analyst
    """
    from observatoire.services.accounts import parse_role

    accounts_of(ctx).set_role(email, parse_role(role), actor="cli")
    click.echo(f"{email} : rôle {role}")


@users.command("disable")
@click.argument("email")
@pass_ctx
def users_disable(ctx: Context, email: str) -> None:
    """Désactive un compte : ses sessions sont fermées et ses jetons d'API révoqués.

    \b
    Exemple :
      observatoire users disable ancien@caf93.fr
    """
    accounts_of(ctx).set_active(email, False, actor="cli")
    click.echo(f"{email} : compte désactivé")


@users.command("enable")
@click.argument("email")
@pass_ctx
def users_enable(ctx: Context, email: str) -> None:
    """Réactive un compte désactivé (il devra se reconnecter ; ses jetons restent révoqués).

    \b
    Exemple :
      observatoire users enable ancien@caf93.fr
    """
    accounts_of(ctx).set_active(email, True, actor="cli")
    click.echo(f"{email} : compte réactivé")


@users.command("logout")
@click.argument("email")
@pass_ctx
def users_logout(ctx: Context, email: str) -> None:
    """Ferme toutes les sessions ouvertes d'un compte (ordinateur partagé, téléphone perdu).

    \b
    Exemple :
      observatoire users logout analyste@cd93.fr
    """
    closed = accounts_of(ctx).revoke_sessions(email, actor="cli")
    click.echo(f"{email} : {closed} session(s) fermée(s)")


@users.command("token")
@click.argument("email")
@click.option("--label", required=True, help="À quoi sert le jeton (script, tableau de bord…).")
@click.option(
    "--expire-days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 5 * 365),
    help="Durée de validité, en jours.",
)
@pass_ctx
def users_token(ctx: Context, email: str, label: str, expire_days: int) -> None:
    """Crée un jeton d'API nommé pour un compte ; il n'est affiché qu'une fois (sur la sortie
    standard ; son numéro et son expiration sur la sortie d'erreur).

    \b
    Exemple :
      observatoire users token analyste@cd93.fr --label "tableau de bord" --expire-days 90
      curl -H "Authorization: Bearer obs_…" http://127.0.0.1:8000/api/v1/zonings
    """
    accounts = accounts_of(ctx)
    token = accounts.create_token(email, label, expire_days=expire_days, actor="cli")
    made = accounts.tokens(token=token)[0]
    click.echo(token)
    click.echo(
        f"Jeton n° {made.id} « {made.label} » pour {made.email}, "
        f"valable jusqu'au {made.expires_at[:10]}",
        err=True,
    )


@users.command("tokens")
@click.argument("email", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def users_tokens(ctx: Context, email: str | None, fmt: str) -> None:
    """Liste les jetons d'API d'un compte (de tous sans adresse) : numéro, nom, création,
    dernier usage, expiration, état. Jamais les jetons eux-mêmes.

    \b
    Exemple :
      observatoire users tokens analyste@cd93.fr
      observatoire users tokens --format json
    """
    from dataclasses import asdict

    found = [asdict(t) for t in accounts_of(ctx).tokens(email)]
    columns = ["id", "email", "label", "created_at", "last_used", "expires_at", "state"]
    emit(pd.DataFrame(found, columns=columns), fmt)


@users.command("revoke-token")
@click.argument("email")
@click.argument("token_id", metavar="NUMERO")
@pass_ctx
def users_revoke_token(ctx: Context, email: str, token_id: str) -> None:
    """Révoque un jeton d'API d'un compte, par son numéro (voir « users tokens »).

    \b
    Exemple :
      observatoire users revoke-token analyste@cd93.fr 3f9a0c1e52b4
    """
    revoked = accounts_of(ctx).revoke_token(email, token_id, actor="cli")
    click.echo(f"Jeton n° {revoked.id} « {revoked.label} » de {revoked.email} révoqué")


@users.command("audit")
@click.option("--limit", default=50, show_default=True, type=int, help="Nombre de lignes.")
@pass_ctx
def users_audit(ctx: Context, limit: int) -> None:
    """Journal : connexions, échecs, téléchargements, comptes et droits, du plus récent.

    \b
    Exemple :
      observatoire users audit --limit 20
    """
    for row in accounts_of(ctx).audit_log(limit):
        parts = [str(row["at"]), str(row["actor"] or "-"), str(row["action"])]
        parts += [str(row[k]) for k in ("target", "detail", "client") if row[k]]
        click.echo("  ".join(parts))


COMMANDS = [users]
