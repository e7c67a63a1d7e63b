"""The one CSV writer: every CSV the platform hands to people (web downloads, the API's
``format=csv``, exports, the DCAT catalogue, the command line's ``--format csv`` and its files)
is written here, in one of two dialects:

- :data:`SPREADSHEET`, for French spreadsheets: ``;``, decimal comma, UTF-8 with a BOM;
- :data:`PLAIN`: ``,``, decimal point, UTF-8 without BOM.

A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is neutralised: prefixed with ``'`` (OWASP's advice for CSV
injection). Only text is touched: numbers, negative ones included, stay numbers. Column names
are treated as text. Rights and the secret are applied before: this module writes what it is
given.

>>> import pandas as pd
>>> table = pd.DataFrame({"nom": ['=HYPERLINK("http://x","y")', "-2+3", "Aubervilliers"],
...                       "écart": [-1.5, 2.0, None]})
>>> for line in csv_text(table).splitlines():
...     print(line)
nom;écart
"'=HYPERLINK(""http://x"",""y"")";-1,5
'-2+3;2,0
Aubervilliers;
>>> print(csv_text(table, PLAIN).splitlines()[1])
"'=HYPERLINK(""http://x"",""y"")",-1.5
>>> csv_bytes(table)[:3] == "\\ufeff".encode()  # the BOM a French spreadsheet needs
True

Lines end with CRLF (RFC 4180), so that a carriage return inside a cell is quoted: ended by
a bare line feed, the cell ``"a\\r=1+1"`` would be written unquoted and read as two lines, the
second starting with a formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PLAIN",
    "RISKY",
    "SPREADSHEET",
    "Dialect",
    "csv_bytes",
    "csv_text",
    "neutralise",
    "restore_cell",
    "safe_cell",
]

T = TypeVar("T")
RISKY = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell may not start with: a spreadsheet would read it as a formula."""


class Dialect(NamedTuple):
    """How a CSV is written: field separator, decimal mark, and whether its bytes start with
    the UTF-8 byte order mark (which a spreadsheet needs to read UTF-8)."""

    separator: str
    decimal: str
    bom: bool


SPREADSHEET = Dialect(";", ",", True)
PLAIN = Dialect(",", ".", False)


def safe_cell(value: object) -> object:
    """``value``, prefixed with ``'`` when it is text a spreadsheet would run.

    >>> [safe_cell(v) for v in ("=1+1", "@SUM(A1)", "\\tx", "\\rx", "ok", -2, -1.5)]
    ["'=1+1", "'@SUM(A1)", "'\\tx", "'\\rx", 'ok', -2, -1.5]
    """
    return "'" + value if isinstance(value, str) and value.startswith(RISKY) else value


def restore_cell(value: T) -> T:
    """The cell as it was before :func:`safe_cell`, for the files the platform reads back
    (an inventory exported, edited in a spreadsheet, imported again).

    >>> restore_cell("'=1+1"), restore_cell("'-x"), restore_cell("'ok"), restore_cell(None)
    ('=1+1', '-x', "'ok", None)
    """
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(RISKY):
        return value[1:]  # type: ignore[return-value]  # a str, as given
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas; numeric,
    boolean and date columns are kept as they are.

    >>> import pandas as pd
    >>> out = neutralise(pd.DataFrame({"a": ["=1+1", "ok", "-x"], "b": [-1.5, 2, 3]}))
    >>> out.a.tolist(), out.b.tolist()
    (["'=1+1", 'ok', "'-x"], [-1.5, 2.0, 3.0])
    """
    out = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if dtype.kind not in "biufcmM":  # text, objects, categories
            out.isetitem(position, frame.iloc[:, position].astype(object).map(safe_cell))
    out.columns = [safe_cell(c) for c in frame.columns]
    return out


def csv_text(frame: pd.DataFrame, dialect: Dialect = SPREADSHEET) -> str:
    """``frame`` (without its index) as CSV text in ``dialect``, formulas neutralised; no BOM
    (see :func:`csv_bytes` for a file's bytes)."""
    text = neutralise(frame).to_csv(
        sep=dialect.separator, decimal=dialect.decimal, index=False, lineterminator="\r\n"
    )
    return str(text)


def csv_bytes(frame: pd.DataFrame, dialect: Dialect = SPREADSHEET) -> bytes:
    """``frame`` as the bytes of a CSV file in ``dialect`` (UTF-8, with a BOM if it has one)."""
    return csv_text(frame, dialect).encode("utf-8-sig" if dialect.bom else "utf-8")
