"""``observatoire serve``: the extranet behind a production server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from observatoire.cli._common import (
    Context,
    pass_ctx,
)
from observatoire.home import Home, resolve_home
from observatoire.observatory import Observatory

# Idle keep-alive connections are kept longer than uvicorn's 5 s: a client (or a reverse
# proxy) reusing one just as the server closes it gets a read error (seen under load).
KEEP_ALIVE = 65


def proxy_options(home: Home) -> dict[str, Any]:
    """uvicorn's options for ``X-Forwarded-For``: read only from the reverse proxies of the
    ``proxies`` setting; none set, the header is ignored (uvicorn would otherwise trust it from
    127.0.0.1, and anyone on the machine could pass for another address)."""
    proxies = [p.strip() for p in home.settings["proxies"].split(",") if p.strip()]
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(proxies)}


def run_server(home: Path, host: str, port: int, workers: int = 1) -> None:
    """Run the web application of ``home`` on ``host:port`` until interrupted, in ``workers``
    processes (each reads the base; each may write, one at a time: deposits of the import
    pages; the command line reads and writes beside them)."""
    import uvicorn

    from observatoire.web import create_app

    Observatory.open(home, write=True).close()  # migrated once, a clear error now
    from observatoire.demo.remote import repoint_producer

    if repoint_producer(home, host, port):  # a demo: its producer on this server
        from observatoire.demo import demo_accounts

        created = demo_accounts(home, only_missing=True)  # built with --no-serve: none yet
        if created:
            click.echo("\nComptes de démonstration créés (mots de passe) :")
        for email, role, password in created:
            click.echo(f"  {role:<22} {email:<26} {password}")
    proxies = proxy_options(Home.load(home))
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Attention : le serveur écoute sur {host}, accessible depuis le réseau.", err=True
        )
    click.echo(f"Observatoire servi sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    if workers > 1:
        os.environ["OBSERVATOIRE_HOME"] = str(home)
        uvicorn.run(
            "observatoire.web.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE,
            **proxies,
        )
        return
    obs = Observatory.open(home, write=True)
    with obs:
        uvicorn.run(
            create_app(obs),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE,
            **proxies,
        )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Adresse d'écoute (127.0.0.1 : cette machine seulement).",
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port d'écoute.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processus serveurs (un par cœur, par exemple).",
)
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Sert l'extranet et l'API de l'observatoire (pages en français, API sous /api/v1).

    Les visiteurs voient les données ouvertes au public, secret statistique appliqué.
    Les commandes (imports, « compute », cartes…) restent utilisables pendant le service :
    chaque écriture est publiée d'un bloc et le serveur la voit à la requête suivante, sans
    redémarrage.

    \b
    Exemple :
      observatoire --home mon-observatoire serve --port 8000
    """
    run_server(resolve_home(ctx.home), host, port, workers)


COMMANDS = [serve]
