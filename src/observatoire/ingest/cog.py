"""INSEE's Code officiel géographique (COG): the commune list, the mouvements file and the
history of codes since 1943, as INSEE publishes them (CSV since 2019; column names in either
case; the older ``mvtcommune`` naming and ``EFFET`` date column are accepted too).
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatoire.errors import FileFormatError, InvalidValueError
from observatoire.ingest.tables import Table, read_table
from observatoire.store.base import Warehouse
from observatoire.store.referential import replace_cog
from observatoire.store.territories import territory_codes
from observatoire.territories.codes import normalise_code

__all__ = ["SHIPPED", "CogFiles", "CogImportReport", "import_cog", "import_shipped_cog", "read_cog"]

# INSEE's COG 2026 (communes, events since 1943, validity of codes), shipped with the product
# (Licence Ouverte 2.0, see LISEZMOI.md there): an old geography converts without preparation.
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "cog"

_YEAR = re.compile(r"(19|20)\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


@dataclass(frozen=True)
class CogFiles:
    """The COG of one year, read and checked.

    ``communes``: typecom, code, name, departement, region (the year's list).
    ``events``: mod, date_eff, typecom_av, com_av, name_av, typecom_ap, com_ap, name_ap.
    ``history``: typecom, code, name, date_start, date_end ('' while valid); when INSEE's
    ``commune_depuis_1943`` file is absent it is rebuilt from the events and the list.
    """

    year: int
    communes: pd.DataFrame
    events: pd.DataFrame
    history: pd.DataFrame
    sources: tuple[str, ...]


def _pick(directory: Path, patterns: tuple[str, ...], *, exclude: str | None = None) -> Path | None:
    files = sorted(p for p in directory.iterdir() if p.is_file())
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        for file in files:
            if regex.search(file.name) and not (exclude and re.search(exclude, file.name, re.I)):
                return file
    return None


def read_cog(directory: str | Path, *, year: int | None = None) -> CogFiles:
    """Read a COG directory: the commune list and the mouvements file are required."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileFormatError("dossier COG introuvable", path=directory)
    communes_file = _pick(
        directory,
        (r"^v_commune_\d{4}", r"^commune_?\d{4}", r"^communes?[-_]", r"commune.*\d{4}"),
        exclude=r"mvt|depuis|mouvement|comer",
    )
    events_file = _pick(directory, (r"mvt_?commune", r"mouvement"))
    history_file = _pick(directory, (r"depuis_?1943",))
    if communes_file is None or events_file is None:
        raise FileFormatError(
            "le dossier doit contenir la liste des communes (v_commune_AAAA.csv) et le fichier "
            "des mouvements (v_mvt_commune_AAAA.csv) du COG",
            path=directory,
        )
    if year is None:
        match = _YEAR.search(communes_file.name)
        if match is None:
            raise InvalidValueError(
                f"millésime introuvable dans le nom {communes_file.name} : précisez --year"
            )
        year = int(match.group(0))
    communes = _communes(read_table(communes_file, expect=("TYPECOM",)))
    events = _events(read_table(events_file, expect=("MOD",)))
    if history_file is not None:
        history = _history(read_table(history_file, expect=("DATE_DEBUT",)))
    else:
        history = _history_from_events(communes, events)
    sources = tuple(str(p) for p in (communes_file, events_file, history_file) if p)
    return CogFiles(year, communes, events, history, sources)


def _code(table: Table, column: str, index: int, value: str, *, level: str = "commune") -> str:
    try:
        return normalise_code(value, level)
    except InvalidValueError as exc:
        raise InvalidValueError(
            exc.message, path=table.path, line=table.line_of(index), column=column
        ) from None


def _codes(table: Table, column: str, *, allow_empty: bool = False) -> list[str]:
    return [
        "" if allow_empty and not v.strip() else _code(table, column, i, v)
        for i, v in enumerate(table.frame[column])
    ]


def _communes(table: Table) -> pd.DataFrame:
    f = table.frame
    typecom, com = table.column("TYPECOM"), table.column("COM", "CODGEO")
    name = table.column("LIBELLE", "NCCENR")
    dep, reg = table.column("DEP"), table.column("REG")
    out = pd.DataFrame(
        {
            "typecom": f[typecom].str.upper(),
            "code": _codes(table, com),
            "name": f[name],
            "departement": f[dep],
            "region": f[reg],
        }
    )
    bad = out[~out.typecom.isin(["COM", "COMA", "COMD", "ARM"])]
    if len(bad):
        index = int(bad.index[0])
        raise InvalidValueError(
            f"type de commune inconnu « {bad.typecom.iloc[0]} »",
            path=table.path,
            line=table.line_of(index),
            column=typecom,
        )
    return out


def _date(table: Table, column: str, index: int, value: str, *, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and allow_empty:
        return ""
    if _DATE.match(value):
        return value
    match = _DMY.match(value)
    if match:
        day, month, year = match.groups()
        return f"{year}-{month}-{day}"
    raise InvalidValueError(
        f"date invalide « {value} » (attendu AAAA-MM-JJ)",
        path=table.path,
        line=table.line_of(index),
        column=column,
    )


def _events(table: Table) -> pd.DataFrame:
    f = table.frame
    date_col = table.column("DATE_EFF", "EFFET")
    cols = {
        "typecom_av": table.column("TYPECOM_AV"),
        "com_av": table.column("COM_AV"),
        "typecom_ap": table.column("TYPECOM_AP"),
        "com_ap": table.column("COM_AP"),
    }
    name_av = table.column("LIBELLE_AV", "NCCENR_AV", "NCC_AV")
    name_ap = table.column("LIBELLE_AP", "NCCENR_AP", "NCC_AP")
    return pd.DataFrame(
        {
            "mod": f[table.column("MOD")],
            "date_eff": [_date(table, date_col, i, v) for i, v in enumerate(f[date_col])],
            "typecom_av": f[cols["typecom_av"]].str.upper(),
            "com_av": _codes(table, cols["com_av"], allow_empty=True),
            "name_av": f[name_av],
            "typecom_ap": f[cols["typecom_ap"]].str.upper(),
            "com_ap": _codes(table, cols["com_ap"], allow_empty=True),
            "name_ap": f[name_ap],
        }
    )


def _history(table: Table) -> pd.DataFrame:
    f = table.frame
    start, end = table.column("DATE_DEBUT"), table.column("DATE_FIN")
    return pd.DataFrame(
        {
            "typecom": f[table.column("TYPECOM")].str.upper(),
            "code": _codes(table, table.column("COM")),
            "name": f[table.column("LIBELLE", "NCCENR")],
            "date_start": [_date(table, start, i, v) for i, v in enumerate(f[start])],
            "date_end": [_date(table, end, i, v, allow_empty=True) for i, v in enumerate(f[end])],
        }
    )


def _history_from_events(communes: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Validity of commune codes rebuilt from the events, when no history file is given.

    A code is a commune from the date an event makes it one (or 1943) until the date an event
    makes it anything else; the current list closes the spans that are still open.
    """
    spans: dict[str, list[list[str]]] = {}
    names: dict[str, str] = {}
    for date, group in events.groupby("date_eff", sort=True):
        before = group[(group.typecom_av == "COM") & (group.com_av != "")]
        after = group[(group.typecom_ap == "COM") & (group.com_ap != "")]
        opened = dict(zip(after.com_ap, after.name_ap, strict=True))
        for code, name in zip(before.com_av, before.name_av, strict=True):
            names.setdefault(code, name)
            code_spans = spans.setdefault(code, [["1943-01-01", ""]])
            if code not in opened and code_spans[-1][1] == "":
                code_spans[-1][1] = str(date)
        for code, name in opened.items():
            names[code] = name
            code_spans = spans.setdefault(code, [])
            if not code_spans or code_spans[-1][1] != "":
                code_spans.append([str(date), ""])
    current = set(communes.loc[communes.typecom == "COM", "code"])
    for code in current & set(spans):
        if spans[code][-1][1] != "":
            spans[code].append([spans[code][-1][1], ""])
    rows = []
    for code, code_spans in spans.items():
        for start, end in code_spans:
            rows.append(("COM", code, names.get(code, ""), start, end))
    for code, name in zip(communes.code, communes.name, strict=True):
        if code in current and code not in spans:
            rows.append(("COM", code, name, "1943-01-01", ""))
    return pd.DataFrame(rows, columns=["typecom", "code", "name", "date_start", "date_end"])


@dataclass(frozen=True)
class CogImportReport:
    year: int
    communes: int
    events: int
    history: int
    not_in_referential: list[str]
    missing_from_cog: list[str]
    sources: tuple[str, ...]


def import_cog(
    warehouse: Warehouse, directory: str | Path, *, year: int | None = None
) -> CogImportReport:
    """Read a COG directory and store its history and events (replacing any previous COG)."""
    cog = read_cog(directory, year=year)
    referential = set(territory_codes(warehouse, "commune"))
    current = set(cog.communes.loc[cog.communes.typecom == "COM", "code"])
    with warehouse.transaction() as tx:
        replace_cog(tx, history=cog.history, events=cog.events, year=cog.year)
    return CogImportReport(
        year=cog.year,
        communes=len(current),
        events=len(cog.events),
        history=len(cog.history),
        not_in_referential=sorted(current - referential),
        missing_from_cog=sorted(referential - current),
        sources=cog.sources,
    )


def import_shipped_cog(warehouse: Warehouse) -> CogImportReport:
    """Store the COG shipped with the product (:data:`SHIPPED`), as :func:`import_cog` does
    for a directory of INSEE's files."""
    with tempfile.TemporaryDirectory() as scratch:
        for packed in sorted(SHIPPED.glob("*.csv.gz")):
            (Path(scratch) / packed.name[: -len(".gz")]).write_bytes(
                gzip.decompress(packed.read_bytes())
            )
        report = import_cog(warehouse, scratch)
    shipped = tuple(f"{SHIPPED / Path(source).name}.gz" for source in report.sources)
    return dataclasses.replace(report, sources=shipped)
