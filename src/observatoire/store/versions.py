"""The version of each base of a home, and the refusal of a base a later release wrote.

Both bases carry the number of the last migration step applied to them (the warehouse in
``meta``, key ``schema_version``; the application database in ``app_meta``, key ``version``)
and the release of observatoire that applied it (key :data:`MIGRATED_BY`). A release migrates
an older base up to the last step it knows (append-only steps:
:data:`observatoire.store.schema.MIGRATIONS`, :data:`observatoire.store.appdb.APP_MIGRATIONS`);
a base whose number is above it was migrated by a later release and is refused before
anything is read or written: never migrated down, never used half-understood.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from observatoire.errors import HomeError

__all__ = ["MIGRATED_BY", "refuse_newer", "release"]

MIGRATED_BY = "migrated_by"


def release() -> str:
    """The version of the installed observatoire (the one ``pyproject.toml`` declares)."""
    try:
        return importlib.metadata.version("observatoire")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "(version inconnue)"


def refuse_newer(
    part: str, home: str | Path | None, found: int, known: int, migrated_by: str | None
) -> None:
    """Raise :class:`~observatoire.errors.HomeError` when ``part`` of ``home`` (« son
    entrepôt », « sa base applicative ») is at step ``found`` of its migrations, beyond the
    ``known`` steps of this release; ``migrated_by``: the release that brought it there.

    >>> refuse_newer("son entrepôt", "/srv/obs", 12, 12, None)  # known: nothing to say
    >>> try:
    ...     refuse_newer("son entrepôt", "/srv/obs", 13, 12, "0.3.0")
    ... except HomeError as error:
    ...     print(str(error).replace(release(), "0.2.0"))  # doctest: +NORMALIZE_WHITESPACE
    l'observatoire /srv/obs a été mis à jour par observatoire 0.3.0 : son entrepôt en est à la
    version n° 13, et observatoire 0.2.0, installé ici, ne connaît que les versions jusqu'au
    n° 12. Installez observatoire 0.3.0 ou plus récent (pip install --upgrade observatoire) ;
    rien n'a été modifié.
    """
    if found <= known:
        return
    name = f"l'observatoire {home}" if home else "l'observatoire"
    later = f"observatoire {migrated_by}" if migrated_by else "une version plus récente"
    install = (
        f"observatoire {migrated_by} ou plus récent"
        if migrated_by
        else "une version plus récente d'observatoire"
    )
    raise HomeError(
        f"{name} a été mis à jour par {later} : {part} en est à la version n° {found}, et "
        f"observatoire {release()}, installé ici, ne connaît que les versions jusqu'au "
        f"n° {known}. Installez {install} (pip install --upgrade observatoire) ; rien n'a été "
        "modifié."
    )
