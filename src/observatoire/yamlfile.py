"""Reading the YAML files people write (catalogue, descriptors, portrait and dashboard
settings): a syntax error names the file, the line and the column; a key that is not expected
is refused by :func:`check_keys` (also for the TOML settings), naming the file and the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from observatoire.errors import InputError

__all__ = ["LineDict", "check_keys", "load_yaml"]

_PLACEHOLDER = re.compile(r"\{(first|unknown|allowed)\}")


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers its line (``line``, 1-based), so that an error
    found later in its content can still name where it is."""

    line: int | None = None


def _loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
        data = LineDict()
        data.line = node.start_mark.line + 1
        yield data
        data.update(loader.construct_mapping(node))

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    return Loader


def load_yaml(
    text: str, origin: str | Path, what: str = "fichier YAML", *, located: bool = False
) -> Any:
    """The data of ``text`` (read from ``origin``), or an :class:`InputError` located there.

    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> try:
    ...     load_yaml("a: [1, 2", "x.yaml", "réglages")
    ... except InputError as exc:
    ...     print(exc.path, exc.line, exc.column, exc.message.split(" (")[0])
    x.yaml 1 9 réglages illisible
    >>> load_yaml("a: 1\\nb:\\n  c: 2", "x.yaml", located=True)["b"].line
    3

    With ``located``, mappings are :class:`LineDict` (their line is known).
    """
    import yaml

    try:
        return yaml.load(text, Loader=_loader()) if located else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"{what} illisible ({problem})",
            path=origin,
            line=mark.line + 1 if mark is not None else None,
            column=str(mark.column + 1) if mark is not None else None,
        ) from None


def check_keys(
    data: Mapping[Any, object],
    allowed: Iterable[str],
    message: str,
    *,
    error: type[InputError] = InputError,
    path: str | Path | None = None,
    line: int | None = None,
    column: str | None = None,
) -> None:
    """Refuse a mapping read from a file that holds a key not in ``allowed``: ``error`` with
    ``message``, located at ``path``, ``line`` and ``column``.

    In ``message`` and ``column``, ``{first}`` is the first unknown key (in the file's order),
    ``{unknown}`` all of them (sorted) and ``{allowed}`` the keys allowed (in their order).

    >>> check_keys({"titre": "A"}, ["titre", "logo"], "champ inconnu « {first} »")
    >>> try:
    ...     check_keys({"titre": "A", "logos": 1, "coleurs": 2}, ["titre", "logo"],
    ...                "clé(s) inconnue(s) {unknown} ; possibles : {allowed}", path="p.yaml")
    ... except InputError as exc:
    ...     print(exc)
    p.yaml : clé(s) inconnue(s) coleurs, logos ; possibles : titre, logo
    >>> try:
    ...     check_keys({"nmo": "?"}, ["nom"], "champ inconnu", line=3, column="{first}")
    ... except InputError as exc:
    ...     print(exc)
    ligne 3, colonne « nmo » : champ inconnu
    """
    names = list(allowed)
    unknown = [str(key) for key in data if str(key) not in names]
    if not unknown:
        return
    words = {
        "first": unknown[0],
        "unknown": ", ".join(sorted(unknown)),
        "allowed": ", ".join(names),
    }

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda found: words[found.group(1)], text)

    raise error(
        fill(message), path=path, line=line, column=fill(column) if column is not None else None
    )
