"""What the inventory's command groups (``sources``, ``documents``, ``needs``) share: the
opened inventory, the help text of its fields, ``champ=valeur`` assignments, the output of its
entries and the ``show``/``remove`` commands of a kind of entry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pandas as pd

from observatoire.atomic import write_whole
from observatoire.cli._common import Context, pass_ctx, registry_of
from observatoire.errors import InputError
from observatoire.inventory.fields import Entry, Field, Located
from observatoire.services.inventory import Registry

READERS = click.Choice(["public", "member", "analyst"])


@contextmanager
def open_registry(ctx: Context) -> Iterator[Registry]:
    with ctx.open() as obs, registry_of(obs) as registry:
        yield registry


def fields_text(fields: Sequence[Field]) -> str:
    lines = []
    for f in fields:
        extra = f" ({', '.join(v for v, _ in f.choices)})" if f.choices else ""
        need = " — obligatoire" if f.required else ""
        kind = {"liste": " [liste]", "date": " [date]", "annee": " [année]"}.get(f.kind, "")
        hint = f" : {f.help}" if f.help else ""
        lines.append(f"{f.key}{kind}{need} — {f.label}{extra}{hint}")
    return "\n".join(lines)


def assignments(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"« {pair} » : champ=valeur attendu (ex. statut=couvert)")
        out[key.strip()] = value
    return out


def merged_entry(entry: Entry | None, what: str, ident: str, pairs: Sequence[str]) -> Located:
    if entry is None:
        raise InputError(f"{what} « {ident} » inconnu(e)")
    raw = {k: v for k, v in entry.items() if not k.startswith("_")}
    raw.update(assignments(pairs))
    return Located(raw)


def show_json(entry: dict[str, Any]) -> None:
    click.echo(json.dumps(entry, ensure_ascii=False, indent=1, default=str))


def entry_table(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> pd.DataFrame:
    """Rows as a frame; lists joined by « ; » in a table or a CSV, kept as lists in JSON."""
    frame = pd.DataFrame(rows, columns=list(columns))
    if fmt == "json":
        return frame
    for column in frame.columns:
        frame[column] = [
            "; ".join(map(str, v)) if isinstance(v, list) else v for v in frame[column]
        ]
    return frame


def write_entries(text: str, output: str | None, count: int) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    write_whole(Path(output), text)
    click.echo(f"{count} entrée(s) écrite(s) dans {output}", err=True)


def field_options(fields: Sequence[Field]) -> Callable[[Any], Any]:
    """One ``--key`` option per field (a command taking an entry's fields)."""

    def decorate(fn: Any) -> Any:
        for field in reversed(fields):
            fn = click.option(
                f"--{field.key}",
                field.key,
                default=None,
                help=field.label
                + (f" ({', '.join(v for v, _ in field.choices)})" if field.choices else "")
                + (" ; plusieurs séparés par « ; »" if field.kind == "liste" else "")
                + (f" ; {field.help}" if field.help else ""),
            )(fn)
        return fn

    return decorate


def entry_commands(
    group: click.Group,
    show: Callable[[Registry, str], dict[str, Any]] | None,
    helps: tuple[str, str],
    remove: Callable[[Registry, str], None],
    removed: str,
) -> None:
    """The ``show ID`` (when given) and ``remove ID`` commands of ``group``."""
    if show is not None:

        @group.command("show", help=helps[0])
        @click.argument("ident")
        @pass_ctx
        def show_command(ctx: Context, ident: str) -> None:
            with open_registry(ctx) as registry:
                show_json(show(registry, ident))

    @group.command("remove", help=helps[1])
    @click.argument("ident")
    @pass_ctx
    def remove_command(ctx: Context, ident: str) -> None:
        with open_registry(ctx) as registry:
            remove(registry, ident)
        click.echo(removed.format(ident=ident))
