"""Built-in connectors: zero-configuration recognition of producers' native files.

A connector looks at a table (its header, its file name, a sample of codes) and, if it knows the
format, returns a :class:`Layout`: which column holds the territory codes and at which level,
and for each data column the variable it carries and its period. Recognition works on header
*signatures* (families of producer codes with a year suffix or prefix), not on exact file names,
so that other vintages of the same products are recognised too.

Connectors register through :func:`register_connector`, the hook an outside plugin would use;
the first that recognises a table wins (specific ones are registered first).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from observatoire.catalog.datasets import OPEN_LICENCE
from observatoire.catalog.statuses import MARKERS, ValueStatus
from observatoire.errors import FileFormatError, InvalidValueError
from observatoire.ingest.tables import Table, find_column
from observatoire.text import fold

__all__ = [
    "FILOSOFI_CODES",
    "NUMBER",
    "SUFFIXED",
    "ColumnSpec",
    "Connector",
    "Layout",
    "code_column_of",
    "connectors",
    "file_year",
    "is_count_label",
    "is_text",
    "level_of_table",
    "name_tokens",
    "producer_of",
    "recognise",
    "register_connector",
    "share",
    "slug",
    "year_of",
]

CODE_COLUMNS = (
    "CODGEO", "IRIS", "CODE_IRIS", "DCOMIRIS", "COM", "DEPCOM", "CODE", "Code", "Code commune",
    "code_commune", "Code INSEE", "code_insee", "INSEE_COM", "Code géographique", "Code IRIS",
)  # fmt: skip


@dataclass(frozen=True)
class ColumnSpec:
    """One data column: the variable it carries (``source.CODE``) and its period."""

    column: str
    source: str
    code: str
    period: str
    additive: bool
    kind: str = ""  # count, amount, rate, share, median, index, code ("" when not known)
    unit: str = ""

    @property
    def variable(self) -> str:
        return f"{self.source}.{self.code}"

    @property
    def nature(self) -> str:
        """The kind, or "count" for an additive column whose kind was not given."""
        return self.kind or ("count" if self.additive else "")


@dataclass
class Layout:
    """What a connector understood of a table."""

    connector: str
    producer: str
    dataset: str
    level: str
    code_column: str
    columns: list[ColumnSpec]
    empty: ValueStatus = ValueStatus.MISSING
    code_map: dict[str, str] = field(default_factory=dict)
    geography_year: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # Extra cell markers (lowercase text -> status), a column giving each row's period, and
    # per-column checks (allowed range, column of the total the value is a part of).
    markers: dict[str, ValueStatus] = field(default_factory=dict)
    period_column: str | None = None
    dim_columns: list[str] = field(default_factory=list)
    checks: dict[str, tuple[tuple[float, float] | None, str | None]] = field(default_factory=dict)
    descriptor: str | None = None
    # Who may see the values (public, membres, partenaire), under which licence, how often the
    # producer publishes a new edition (annuelle, trimestrielle…: see FREQUENCIES).
    confidentiality: str = "public"
    licence: str = ""
    frequency: str = ""
    # Rows that are not territories: code (upper case) → why they are left out (« Ensemble »).
    skip_codes: dict[str, str] = field(default_factory=dict)
    # Files of several levels: the column giving each row's level (words or codes, read by
    # territories.levels.level_from_label; the code column itself for codes such as
    # 2023-COM-91477). ``level`` is then the finest of them.
    level_column: str | None = None
    # A column of each row's status (SDMX OBS_STATUS), its values → the status they mean.
    status_column: str | None = None
    status_values: dict[str, ValueStatus] = field(default_factory=dict)
    # The code column holds names (Melodi's labelled exports): resolved to codes at import.
    by_name: bool = False

    @property
    def periods(self) -> list[str]:
        return sorted({c.period for c in self.columns if c.period})


class Connector:
    """Base class: override :meth:`recognise`."""

    name = "base"
    description = ""

    def header_names(self) -> tuple[str, ...]:
        """Column names that mark the header line (lines above it are skipped)."""
        return CODE_COLUMNS

    def recognise(self, table: Table) -> Layout | None:  # pragma: no cover - interface
        raise NotImplementedError


_REGISTRY: dict[str, Connector] = {}


def register_connector(connector: Connector, *, before: str | None = None) -> Connector:
    """Add a connector (built-in or plugin) to the registry, keyed by its name; ``before``:
    tried before that one (a more specific format whose files the other would also take)."""
    _REGISTRY.pop(connector.name, None)
    if before is None or before not in _REGISTRY:
        _REGISTRY[connector.name] = connector
        return connector
    entries = list(_REGISTRY.items())
    _REGISTRY.clear()
    for name, known in entries:
        if name == before:
            _REGISTRY[connector.name] = connector
        _REGISTRY[name] = known
    return connector


def connectors() -> list[Connector]:
    return list(_REGISTRY.values())


def recognise(table: Table, *, connector: str | Connector | None = None) -> Layout:
    """The layout of ``table`` according to the first connector that recognises it."""
    if isinstance(connector, Connector):
        layout = connector.recognise(table)
        if layout is None:
            raise FileFormatError(
                f"le connecteur {connector.name} ne reconnaît pas ce fichier", path=table.path
            )
        return layout
    if connector is not None:
        if connector not in _REGISTRY:
            from observatoire.errors import UnknownNameError

            raise UnknownNameError("connecteur", connector, list(_REGISTRY))
        candidates: Iterable[Connector] = [_REGISTRY[connector]]
    else:
        candidates = _REGISTRY.values()
    for candidate in candidates:
        layout = candidate.recognise(table)
        if layout is not None:
            return layout
    known = "; ".join(f"{c.name} ({c.description})" for c in _REGISTRY.values())
    raise FileFormatError(
        "format non reconnu : aucun connecteur ne reconnaît cet en-tête "
        f"({', '.join(list(table.frame.columns)[:8])}…). Formats connus : {known}. "
        "Pour un autre fichier, écrivez un descripteur.",
        path=table.path,
        line=table.first_line - 1,
    )


# -- shared helpers --------------------------------------------------------------------------
SUFFIXED = re.compile(r"^(?P<stem>[A-Z][A-Z0-9_]*?[A-Z0-9_])(?P<yy>\d{2})$")
_PREFIXED = re.compile(r"^(?P<kind>[PC])(?P<yy>\d{2})_(?P<stem>[A-Z0-9_]+)$")
_RANGE = re.compile(r"^(?P<stem>[A-Z]+)(?P<y1>\d{2})(?P<y2>\d{2})$")
_FILE_YEAR = re.compile(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)")
_LEVEL_TOKENS = (
    ("iris", ("IRIS",)),
    ("commune", ("COM", "COMMUNE", "COMMUNES")),
    ("epci", ("EPCI",)),
    ("departement", ("DEP", "DEPARTEMENT", "DPT")),
    ("region", ("REG", "REGION")),
    ("pays", ("METROPOLE", "METRO", "FRANCE", "FRM")),
)


def year_of(yy: str) -> int:
    """The year of a two-digit suffix: ``19`` is 2019, ``98`` is 1998."""
    value = int(yy)
    return 2000 + value if value < 70 else 1900 + value


def name_tokens(path: Path) -> set[str]:
    name = path.name.split("!")[-1]
    return {t for t in re.split(r"[^A-Za-z0-9]+", Path(name).stem.upper()) if t}


def level_from_name(path: Path) -> str | None:
    tokens = name_tokens(path)
    for level, words in _LEVEL_TOKENS:
        if tokens & set(words):
            return level
    return None


def level_from_codes(codes: Sequence[str]) -> str | None:
    """The level the codes look like (from their length), or None when mixed."""
    lengths = Counter(len(str(c).strip()) for c in codes if str(c).strip())
    if not lengths:
        return None
    length, _ = lengths.most_common(1)[0]
    return {9: "iris", 5: "commune", 2: "departement", 3: "departement"}.get(length)


def file_year(path: Path) -> int | None:
    years = _FILE_YEAR.findall(path.name)
    return int(years[-1]) if years else None


def level_of_table(table: Table, code_column: str) -> str:
    """The level of a table's codes: from its file name, else from the codes' length."""
    sample = table.frame[code_column].head(200).tolist()
    by_name = level_from_name(table.path)
    by_codes = level_from_codes(sample)
    if by_name is not None:
        return by_name
    if by_codes is not None:
        if by_codes == "departement" and len(table.frame) < 30:
            return "region"  # 2-character codes, but too few for départements
        return by_codes
    if all(str(c).isdigit() and len(str(c)) == 9 for c in sample):
        return "epci"
    raise InvalidValueError(
        "niveau géographique indéterminé (précisez --level)", path=table.path, column=code_column
    )


def code_column_of(table: Table) -> str | None:
    return find_column(list(table.frame.columns), CODE_COLUMNS)


# -- INSEE Filosofi (and any INSEE wide file with year-suffixed variables) -------------------
FILOSOFI_CODES = {
    "NBMEN", "NBPERS", "NBUC", "Q1", "Q2", "Q3", "MED", "D1", "D2", "D3", "D4", "D6", "D7",
    "D8", "D9", "RD", "S80S20", "GI", "PACT", "PTSA", "PCHO", "PBEN", "PPEN", "PPAT", "PPSOC",
    "PPFAM", "PPMINI", "PPLOGT", "PIMPOT", "TP60", "NBMENFISC", "NBPERSMENFISC", "PIMP", "EQ",
    "INCERT", "NOTE",
}  # fmt: skip
FILOSOFI_COUNTS = {"NBMEN", "NBPERS", "NBUC", "NBMENFISC", "NBPERSMENFISC"}


class FilosofiConnector(Connector):
    """INSEE Filosofi: FILO{AAAA}_DISP|DEC_{COM,DEP,EPCI,REG,METROPOLE}, cc_filosofi_{AAAA},
    BASE_TD_FILO_{IRIS}_{AAAA}_DISP|DEC. Variables: ``filosofi.[DISP_|DEC_]CODE``."""

    name = "insee.filosofi"
    description = "INSEE Filosofi, revenus et pauvreté, tous niveaux"

    def recognise(self, table: Table) -> Layout | None:
        code_column = code_column_of(table)
        if code_column is None:
            return None
        suffixed = {}
        for column in table.frame.columns:
            match = SUFFIXED.match(column.upper())
            if match and column != code_column:
                suffixed[column] = (match["stem"], match["yy"])
        stems = {re.sub(r"^(DISP|DEC)_", "", stem) for stem, _ in suffixed.values()}
        if len(stems & FILOSOFI_CODES) < 3:
            return None
        yy = Counter(yy for _, yy in suffixed.values()).most_common(1)[0][0]
        year = year_of(yy)
        tokens = name_tokens(table.path)
        scope = "DEC" if "DEC" in tokens else "DISP" if "DISP" in tokens else ""
        level = level_of_table(table, code_column)
        columns = []
        sample = table.frame.head(500)
        for column in table.frame.columns:
            if column == code_column or _DESCRIPTIVE.match(column.upper()):
                continue
            if column not in suffixed and is_text(sample[column].tolist()):
                continue  # a label, not a value
            stem, column_yy = suffixed.get(column, (column.upper(), yy))
            if column_yy != yy:
                continue
            code = stem if stem.startswith(("DISP_", "DEC_")) or not scope else f"{scope}_{stem}"
            base = re.sub(r"^(DISP|DEC)_", "", code)
            columns.append(
                ColumnSpec(column, "filosofi", code, str(year), additive=base in FILOSOFI_COUNTS)
            )
        code_map = {}
        if level == "pays":
            code_map = {c: "FRM" for c in table.frame[code_column].unique()}
        return Layout(
            connector=self.name,
            producer="INSEE",
            licence=OPEN_LICENCE,
            frequency="annuelle",
            dataset=f"insee.filosofi.{scope.lower() or 'cc'}.{level}",
            level=level,
            code_column=code_column,
            columns=columns,
            empty=ValueStatus.SECRET,
            code_map=code_map,
        )


# -- INSEE census key figures (base_cc_comparateur, base-cc-*, base-ic-*) --------------------
CENSUS_SOURCES = (
    (re.compile(r"^(NAIS|DECE)"), "etatcivil"),
    (re.compile(r"^ET[A-Z]"), "sirene"),
)


class CensusConnector(Connector):
    """INSEE census key figures: columns ``P{aa}_X`` / ``C{aa}_X`` (``rp.X`` for year 20aa),
    plus the other sources the comparateur mixes in (état civil, Filosofi, Sirene)."""

    name = "insee.rp"
    description = "INSEE recensement, chiffres clés (base_cc_comparateur, base-cc-*, base-ic-*)"

    def recognise(self, table: Table) -> Layout | None:
        code_column = code_column_of(table)
        if code_column is None:
            return None
        prefixed = [c for c in table.frame.columns if _PREFIXED.match(c.upper())]
        if len(prefixed) < 3:
            return None
        years = Counter(year_of(_PREFIXED.match(c.upper())["yy"]) for c in prefixed)  # type: ignore[index]
        census_year = max(years)
        columns = []
        sample = table.frame.head(500)
        for column in table.frame.columns:
            upper = column.upper()
            if column == code_column or _DESCRIPTIVE.match(upper):
                continue
            if not _PREFIXED.match(upper) and is_text(sample[column].tolist()):
                continue  # a label, not a value
            columns.append(self._spec(column, census_year))
        level = level_of_table(table, code_column)
        return Layout(
            connector=self.name,
            producer="INSEE",
            licence=OPEN_LICENCE,
            frequency="annuelle",
            dataset=f"insee.rp.cles.{level}",
            level=level,
            code_column=code_column,
            columns=columns,
            empty=ValueStatus.SECRET,
        )

    @staticmethod
    def _spec(column: str, census_year: int) -> ColumnSpec:
        upper = column.upper()
        match = _PREFIXED.match(upper)
        if match:  # P: main count; C: the complementary (sample-based) count, kept apart
            code = match["stem"] if match["kind"] == "P" else f"C_{match['stem']}"
            return ColumnSpec(column, "rp", code, str(year_of(match["yy"])), additive=True)
        for pattern, source in CENSUS_SOURCES:
            if pattern.match(upper):
                ranged = _RANGE.match(upper)
                if ranged and source == "etatcivil":
                    period = f"{year_of(ranged['y1'])}-{year_of(ranged['y2'])}"
                    return ColumnSpec(column, source, ranged["stem"], period, additive=True)
                suffixed = SUFFIXED.match(upper)
                if suffixed:
                    return ColumnSpec(
                        column,
                        source,
                        suffixed["stem"],
                        str(year_of(suffixed["yy"])),
                        additive=True,
                    )
        suffixed = SUFFIXED.match(upper)
        if suffixed and suffixed["stem"] in FILOSOFI_CODES:
            stem = suffixed["stem"]
            return ColumnSpec(
                column,
                "filosofi",
                stem,
                str(year_of(suffixed["yy"])),
                additive=stem in FILOSOFI_COUNTS,
            )
        return ColumnSpec(column, "rp", upper, str(census_year), additive=upper == "SUPERF")


# Columns that describe a territory rather than measure it: names, codes of other zonings.
_DESCRIPTIVE = re.compile(
    r"^(LIB\w*|NOM\w*|REG|DEP|COM|ARR|CV|CANTON\w*|EPCI|DEPCOM|TYPE?COM|UU\d*|AU\d*|ZE\d*"
    r"|BV\d*|AAV\d*|TUU\d*|TAAV\d*|TRIRIS|GRD_QUART|TYP_IRIS|MODIF_IRIS|LAB_IRIS)$"
)


# -- CNAF ------------------------------------------------------------------------------------
CAF_CODES = {"A", "PERCOU", "AI", "AM", "ENF", "AAL", "AAPL", "AAAH", "APPA", "ARSAS",
             "ACSSENF", "ACAVENF", "AC3ENF", "A_ETUD", "A_NETUD_24", "ALF", "ALS", "APL",
             "NB_ALLOC", "NB_PERS"}  # fmt: skip
CAF_LABEL_COLUMNS = {"LIBGEO", "DEPCOM", "LIBCOM", "EPCI", "UU", "REG", "DEP", "LIBELLE"}


class CafConnector(Connector):
    """CNAF files of households receiving benefits, by IRIS or by commune (``caf.CODE``)."""

    name = "cnaf.allocataires"
    description = "CNAF, foyers allocataires par IRIS ou par commune"

    def recognise(self, table: Table) -> Layout | None:
        code_column = code_column_of(table)
        upper = {c.upper() for c in table.frame.columns}
        if code_column is None or len(upper & CAF_CODES) < 4:
            return None
        year = file_year(table.path)  # None: the import asks for --period
        level = level_of_table(table, code_column)
        sample = table.frame.head(500)
        columns = [
            ColumnSpec(c, "caf", c.upper(), str(year or ""), additive=c.upper() != "NOTE")
            for c in table.frame.columns
            if c != code_column
            and c.upper() not in CAF_LABEL_COLUMNS
            and not _DESCRIPTIVE.match(c.upper())
            and not is_text(sample[c].tolist())
        ]
        return Layout(
            connector=self.name,
            producer="CNAF",
            licence=OPEN_LICENCE,
            frequency="annuelle",
            dataset=f"cnaf.allocataires.{level}",
            level=level,
            code_column=code_column,
            columns=columns,
            empty=ValueStatus.SECRET,
        )


# -- INSEE Statistiques locales, Observatoire des territoires exports ------------------------
_LABELLED_YEAR = re.compile(r"^(?P<label>.+?)[\s_(]+(?P<year>(19|20)\d{2})\)?\s*$")
_COUNT_WORDS = ("nombre", "population", "effectif", "nb ", "nb. ", "total")
# Producers a file's title or source lines name; the first named in a line is the producer
# (« Source : ANCT, d'après Insee » is the ANCT's, « Insee-DGFiP-Cnaf » INSEE's).
PRODUCERS = (
    ("ANCT", ("anct", "observatoire des territoires", "onpv", "politique de la ville")),
    ("DREES", ("drees",)),
    ("CNAF", ("cnaf", "caisse nationale des allocations", "caf")),
    ("DARES", ("dares",)),
    ("France Travail", ("france travail", "pole emploi")),
    ("CPAM", ("cpam", "assurance maladie", "cnam")),
    ("DGFiP", ("dgfip",)),
    ("Éducation nationale", ("depp", "education nationale")),
    ("INSEE", ("insee",)),
)


def is_count_label(label: str) -> bool:
    """Whether an indicator's label says it counts (a sum across territories).

    >>> is_count_label("Naissances domiciliées (en nombre)"), is_count_label("Nb de logements")
    (True, True)
    >>> is_count_label("Taux de pauvreté"), is_count_label("Part des 75 ans ou plus (en %)")
    (False, False)
    """
    folded = fold(label.strip())
    return folded.startswith(_COUNT_WORDS) or "en nombre" in folded or "(nombre)" in folded


def producer_of(table: Table) -> str | None:
    """The producer a file's title lines or notes name (« Source : ANCT »), or None.

    >>> import pandas as pd
    >>> from pathlib import Path
    >>> table = Table(Path("x.csv"), pd.DataFrame(), 2,
    ...               footer=["Source : Insee-DGFiP-Cnaf-Cnav-CCMSA, Filosofi 2019"])
    >>> producer_of(table)
    'INSEE'
    >>> table.footer = ["Champ : allocataires des Caf. Source : Insee, Filosofi"]
    >>> producer_of(table)
    'INSEE'
    """
    sources = [line for line in (*table.footer, *table.preamble) if "source" in fold(line)]
    for line in (*sources, *table.preamble):  # a « Source : » line first, then the titles
        folded = fold(line)
        folded = folded[folded.index("source") :] if "source" in folded else folded
        found = [
            (match.start(), producer)
            for producer, words in PRODUCERS
            for w in words
            if (match := re.search(rf"\b{re.escape(w)}\b", folded))
        ]
        if found:  # the first named: « Insee-DGFiP-Cnaf-Cnav » is INSEE's
            return min(found)[1]
    return None


def slug(label: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", fold(label).upper()).strip("_")[:60]


class IndicatorExportConnector(Connector):
    """Exports of INSEE's « Statistiques locales » and the Observatoire des territoires: a few
    metadata lines, then ``Code;Libellé;<indicator label> <year>;…``. Variables:
    ``statloc.<LABEL_IN_CAPITALS>`` labelled with the indicator's label; the year is the period.
    Cells such as « N/A - secret statistique » are statuses."""

    name = "insee.statistiques-locales"
    description = "exports Statistiques locales (INSEE) et Observatoire des territoires"

    def recognise(self, table: Table) -> Layout | None:
        columns = list(table.frame.columns)
        code_column = find_column(columns, ("Code", "codgeo"))
        name_column = find_column(columns, ("Libellé", "Libelle", "libgeo"))
        if code_column is None or name_column is None:
            return None
        specs, labels = [], {}
        for column in columns:
            if column in (code_column, name_column):
                continue
            match = _LABELLED_YEAR.match(column.strip())
            if match is None:
                return None  # every indicator column carries its year
            label = match["label"].strip()
            additive = is_count_label(label)
            specs.append(ColumnSpec(column, "statloc", slug(label), match["year"], additive))
            labels[column] = label
        if not specs:
            return None
        level = level_of_table(table, code_column)
        producer = producer_of(table) or "INSEE"
        return Layout(
            connector=self.name,
            producer=producer,
            licence=OPEN_LICENCE,
            frequency="annuelle",
            dataset=f"insee.statistiques-locales.{level}",
            level=level,
            code_column=code_column,
            columns=specs,
            labels=labels,
            markers={
                "n/a - secret statistique": ValueStatus.SECRET,
                "n/a - résultat non disponible": ValueStatus.NOT_AVAILABLE,
                "n/a - donnée non disponible": ValueStatus.NOT_AVAILABLE,
                "n/a": ValueStatus.NOT_AVAILABLE,
            },
        )


# -- shared by the connectors of labels and long files ---------------------------------------
NUMBER = re.compile(r"^-?[\d\s\u00a0\u202f]+([.,]\d+)?$")


def is_text(values: Sequence[str]) -> bool:
    """Whether a column's cells are mostly words, not numbers nor markers (then it is a label).
    Empty cells and secret markers say nothing either way."""
    cells = [str(v).strip() for v in values]
    cells = [c for c in cells if c and c.lower() not in MARKERS]
    return bool(cells) and share(cells, NUMBER) < 0.5


def share(values: Sequence[str], pattern: re.Pattern[str]) -> float:
    """The share of the non-empty ``values`` that ``pattern`` matches."""
    cells = [v.strip() for v in values if str(v).strip()]
    return sum(bool(pattern.match(v)) for v in cells) / len(cells) if cells else 0.0


# The census comparateur also carries Filosofi columns (MED19…): the more specific first.
for _connector in (
    CensusConnector(),
    FilosofiConnector(),
    CafConnector(),
    IndicatorExportConnector(),
):
    register_connector(_connector)
