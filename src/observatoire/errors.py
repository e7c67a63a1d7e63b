"""The one exception tree of observatoire.

Every error the platform raises on purpose derives from :class:`ObservatoireError`::

    ObservatoireError
    ├── InputError (also ValueError)          bad input from a user or a file
    │   ├── FileFormatError                   a file that cannot be read as what it claims to be
    │   │   └── MissingColumnError            a required column is absent
    │   ├── InvalidValueError                 a field holds a value that is not allowed
    │   │   └── UnknownCodeError              a territory code that no vintage of the COG knows
    │   ├── DuplicateUnitError                a unit listed twice in one zoning
    │   ├── MissingCRSError                   a geographic file without a CRS
    │   ├── TooLargeError                     a file or a request beyond its size limit
    │   └── UnknownNameError                  an unknown name (level, zoning, backend…)
    ├── AccessError                           a value its audience may not see
    ├── HomeError                             home missing, not initialised, or locked
    ├── StorageError                          the database refused an operation
    ├── ReferentialError                      referential not built, or prerequisite missing
    ├── BusyError                             the same operation already under way
    └── RemoteError                           a producer's service out of reach or refusing

Errors that concern a file carry its ``path`` and, where known, the ``line`` (1-based, as a text
editor counts them, the header being line 1) and the ``column`` (its name). ``str(error)`` is a
complete French sentence a user can act on. HTTP status codes, when the web app exists, are
decided in one handler from these classes; domain code never knows about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AccessError",
    "BusyError",
    "DuplicateUnitError",
    "FileFormatError",
    "HomeError",
    "InputError",
    "InvalidValueError",
    "MissingCRSError",
    "MissingColumnError",
    "ObservatoireError",
    "ReferentialError",
    "RemoteError",
    "StorageError",
    "TooLargeError",
    "UnknownCodeError",
    "UnknownNameError",
    "printable",
]


# every control character but the line feed
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x0A}


def printable(text: str) -> str:
    r"""``text`` with its control characters shown as escapes: a value quoted from a file
    never drives the terminal that prints the message (colours, title, clearing).

    >>> printable("code « \x1b]0;pirate\x07 »")
    'code « \\x1b]0;pirate\\x07 »'
    """
    return text.translate(_CONTROLS)


class ObservatoireError(Exception):
    """Base of every error raised on purpose by observatoire."""


class InputError(ObservatoireError, ValueError):
    """Bad input: a file, an argument or a value the user can correct.

    ``path``, ``line`` and ``column`` locate the problem when it comes from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        super().__init__(self._render())

    def location(self) -> str:
        """``file, ligne N, colonne X`` — whatever is known of where the problem is."""
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(f"ligne {self.line}")
        if self.column:
            parts.append(f"colonne « {self.column} »")
        return ", ".join(parts)

    def _render(self) -> str:
        where = self.location()
        return printable(f"{where} : {self.message}" if where else self.message)


class FileFormatError(InputError):
    """A file that cannot be read as what it claims to be (encoding, delimiter, truncation…)."""


class MissingColumnError(FileFormatError):
    """A required column is absent from a file."""

    def __init__(
        self,
        wanted: str | Sequence[str],
        found: Sequence[str],
        *,
        path: str | Path | None = None,
    ) -> None:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        self.wanted = names
        self.found = list(found)
        shown = ", ".join(self.found[:30])
        super().__init__(
            f"colonne requise absente : {' ou '.join(names)} (colonnes trouvées : {shown})",
            path=path,
            line=1,
        )


class InvalidValueError(InputError):
    """A field holds a value that is not allowed."""


class UnknownCodeError(InvalidValueError):
    """A territory code that neither the current referential nor any past vintage knows."""

    def __init__(
        self,
        code: str,
        *,
        level: str,
        suggestions: Sequence[str] = (),
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str = "",
    ) -> None:
        self.code = code
        self.level = level
        self.suggestions = list(suggestions)
        close = f" ; codes proches : {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(
            f"code {level} inconnu « {code} »{close}{hint}", path=path, line=line, column=column
        )


class DuplicateUnitError(InputError):
    """A unit listed twice in one zoning without weights."""


class MissingCRSError(InputError):
    """A geographic file that does not say its coordinate reference system."""


class TooLargeError(InputError):
    """A file or a request beyond its size limit (refused before it is read whole)."""


class UnknownNameError(InputError):
    """A name looked up in a registry; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = list(valid)
        super().__init__(f"{kind} inconnu(e) « {name} » ; valeurs possibles : {', '.join(valid)}")


class AccessError(ObservatoireError):
    """A value asked for by an audience that may not see it (a dataset reserved to members, a
    variable under statistical secret)."""


class HomeError(ObservatoireError):
    """The observatory home is missing, not initialised, or held by another writer."""


class StorageError(ObservatoireError):
    """The database refused an operation."""


class ReferentialError(ObservatoireError):
    """The referential is not built, or a prerequisite import (COG, IRIS) is missing."""


class BusyError(ObservatoireError):
    """The same operation is already under way (one fetch of a source at a time): try again
    when it is done."""


class RemoteError(ObservatoireError):
    """A producer's service that could not be reached (offline, timeout, proxy), refused a
    request, kept limiting it past the patience allowed, or sent a file that is not whole."""
