"""What every command group shares: the context (the observatory's home), the output of a
table (``emit``), the ``--format`` and ``--audience`` options, a progress bar, and the services
opened beside the observatory (its inventory, its accounts)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import pandas as pd

from observatoire.atomic import write_whole
from observatoire.home import Home, resolve_home
from observatoire.observatory import Observatory
from observatoire.secret.policy import ReadPolicy

if TYPE_CHECKING:
    from observatoire.services.accounts import Accounts
    from observatoire.services.inventory import Registry

FORMATS = click.Choice(["table", "csv", "json"])
F = TypeVar("F", bound=Callable[..., Any])
AUDIENCE_HELP = "Pour qui : public, membres (member) ou chargé d'études (analyst, qui voit tout)."


def audience_option(default: str = "analyst", what: str = "") -> Callable[[F], F]:
    """``--audience``: whose rights and statistical secret apply (to ``what`` is produced),
    given to the command as a :class:`~observatoire.secret.policy.ReadPolicy` named ``reader``."""
    text = (
        f"Public {what} : ses droits et son secret statistique s'appliquent."
        if what
        else AUDIENCE_HELP
    )
    return click.option(
        "--audience",
        "reader",
        type=click.Choice(["public", "member", "analyst"]),
        default=default,
        show_default=True,
        help=text,
        callback=lambda _ctx, _param, value: ReadPolicy.parse(value),
    )


AUDIENCE_OPTION = audience_option()
# The options of a command that imports a file: check it only, and the report's format.
DRY_RUN_OPTION = click.option(
    "--dry-run", is_flag=True, help="Valide et affiche le rapport sans rien écrire."
)
REPORT_FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


class Context:
    """The ``--home`` given to the main group; opens the observatory on demand."""

    def __init__(self, home: str | None) -> None:
        self.home = home

    def open(self, *, write: bool = False) -> Observatory:
        obs = Observatory.open(self.home, write=write)
        obs.on_wait(lambda message: click.echo(message.capitalize() + "…", err=True))
        return obs


pass_ctx = click.make_pass_decorator(Context)


def emit(frame: pd.DataFrame, fmt: str, output: str | None = None) -> None:
    """``frame`` on the screen or in ``output``: a table, JSON, or plain CSV (``,``, decimal
    point; formulas neutralised by :mod:`observatoire.csvfile`)."""
    if fmt == "csv":
        from observatoire.csvfile import PLAIN, csv_text

        text = csv_text(frame, PLAIN).rstrip("\r\n")
    elif fmt == "json":  # through json again: « 30/11/2026 », not pandas' « 30\/11\/2026 »
        found = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        text = json.dumps(found, ensure_ascii=False, indent=1)
    else:  # no None nor NaN on screen; numbers formatted by their column as before
        shown = frame.copy()
        for name in [c for c in shown.columns if pd.api.types.is_object_dtype(shown[c])]:
            shown[name] = shown[name].where(shown[name].notna(), "")
        with pd.option_context(
            "display.max_rows", 200, "display.width", 160, "display.max_columns", 20
        ):
            text = shown.to_string(index=False, na_rep="") if len(frame) else "(aucune ligne)"
    if output:
        write_whole(Path(output), text)
        click.echo(f"{len(frame)} lignes écrites dans {output}", err=True)
    else:
        click.echo(text)


def print_notes(notes: list[str]) -> None:
    """Notes of a report, one per line, indented under it."""
    for note in notes:
        click.echo(f"  · {note}")


PROGRESS_BAR_BYTES = 5 * 1024**2


@contextmanager
def progress_bar(path: Path, *, show: bool) -> Iterator[Callable[[float], None]]:
    """A progress bar on stderr for files large enough to take a while (above 5 MB)."""
    if not show or not path.is_file() or path.stat().st_size < PROGRESS_BAR_BYTES:
        yield lambda _: None
        return
    with click.progressbar(length=1000, label="  lecture", file=sys.stderr) as bar:

        def advance(fraction: float) -> None:
            bar.update(max(int(fraction * 1000) - bar.pos, 0))

        yield advance


def registry_of(obs: Observatory) -> Registry:
    """The inventory of the opened observatory (its application database)."""
    from observatoire.services.inventory import Registry
    from observatoire.store.appdb import open_appdb

    home = obs.home
    return Registry(obs, open_appdb(home.path, home.backend, home.location))


def accounts_of(ctx: Context) -> Accounts:
    """The accounts of the observatory of ``ctx`` (its application database)."""
    from observatoire.services.accounts import Accounts
    from observatoire.store.appdb import open_appdb

    home = Home.load(resolve_home(ctx.home))
    return Accounts(open_appdb(home.path, home.backend, home.location))


def percent(value: float | None) -> str:
    """A rate in French (``87,5 %``), a dash when there is none."""
    return "–" if value is None else f"{value:.1f} %".replace(".", ",")
