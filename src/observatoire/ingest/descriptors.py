"""Dataset descriptors: how users describe their partners' files (TOML or YAML).

Example in TOML (docs/imports.md gives the full reference; YAML has the same sections)::

    [dataset]
    id = "cpam.c2s"
    label = "Bénéficiaires de la complémentaire santé solidaire"
    producer = "CPAM de la Seine-Saint-Denis"
    confidentiality = "membres"      # public, membres, partenaire

    [geography]
    level = "commune"
    code_column = "Code commune"

    [period]
    value = "2024"                   # or: column = "Année"

    [dimensions]                     # optional, long files: one row per territory × dimensions
    columns = ["Sexe", "Tranche d'âge"]

    [markers]
    empty = "secret"                 # what an empty cell means
    secret = ["<5"]

    [[variables]]
    column = "Bénéficiaires C2S"
    code = "C2S"
    label = "Bénéficiaires de la C2S"
    kind = "count"                   # count, amount, rate, share, median, index, code
    total = "Assurés"                # optional: a part cannot exceed its total
    range = [0, 100]                 # optional: allowed values

Errors name the descriptor file and the field.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observatoire.catalog.datasets import CONFIDENTIALITY, FREQUENCIES
from observatoire.catalog.statuses import ValueStatus
from observatoire.errors import InputError, MissingColumnError
from observatoire.ingest.connectors import ColumnSpec, Connector, Layout
from observatoire.ingest.tables import Table, find_column
from observatoire.territories.levels import LEVELS

__all__ = ["Descriptor", "DescriptorConnector", "VariableSpec", "load_descriptor"]

KINDS = ("count", "amount", "rate", "share", "median", "index", "code")
ADDITIVE_KINDS = ("count", "amount")
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class VariableSpec:
    column: str
    code: str
    label: str
    kind: str
    unit: str = ""
    total: str | None = None
    range: tuple[float, float] | None = None

    @property
    def additive(self) -> bool:
        return self.kind in ADDITIVE_KINDS


@dataclass(frozen=True)
class Descriptor:
    path: Path
    digest: str
    id: str
    label: str
    producer: str
    source: str
    level: str
    code_column: str
    variables: tuple[VariableSpec, ...]
    period: str | None = None
    period_column: str | None = None
    empty: ValueStatus = ValueStatus.MISSING
    markers: dict[str, ValueStatus] = field(default_factory=dict)
    partner: str | None = None
    licence: str = ""
    confidentiality: str = "public"
    frequency: str = ""
    dimensions: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """What the import records: the descriptor's file name and content digest."""
        return f"{self.path.name}@{self.digest[:12]}"


def _field(
    data: dict[str, object],
    section: str,
    name: str,
    path: Path,
    *,
    required: bool = True,
    default: object = None,
) -> object:
    value = data.get(name, default)
    if required and value in (None, ""):
        raise InputError(
            f"champ obligatoire absent : [{section}] {name}", path=path, column=f"{section}.{name}"
        )
    return value


def load_descriptor(path: str | Path) -> Descriptor:
    """Read and check a descriptor; every error names the file and the field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("descripteur introuvable", path=path) from None
    data = _parse(raw, path)
    dataset = data.get("dataset", {})
    geography = data.get("geography", {})
    period = data.get("period", {})
    markers = data.get("markers", {})
    ident = str(_field(dataset, "dataset", "id", path))
    if not _ID.match(ident):
        raise InputError(
            f"identifiant invalide « {ident} » (ex. cpam.c2s : minuscules, un point au moins)",
            path=path,
            column="dataset.id",
        )
    level = str(_field(geography, "geography", "level", path))
    if level not in LEVELS:
        raise InputError(
            f"niveau inconnu « {level} » ; niveaux : {', '.join(LEVELS)}",
            path=path,
            column="geography.level",
        )
    if not period.get("value") and not period.get("column"):
        raise InputError(
            'indiquez [period] value = "2024" ou column = "Année"', path=path, column="period"
        )
    frequency = str(dataset.get("frequency", ""))
    if frequency and frequency not in FREQUENCIES:
        raise InputError(
            f"fréquence « {frequency} » inconnue ; valeurs : {', '.join(FREQUENCIES)}",
            path=path,
            column="dataset.frequency",
        )
    dimensions = data.get("dimensions", {}).get("columns", [])
    if not isinstance(dimensions, list) or not all(isinstance(d, str) for d in dimensions):
        raise InputError(
            'attendu une liste de colonnes, ex. columns = ["Sexe"]',
            path=path,
            column="dimensions.columns",
        )
    confidentiality = str(dataset.get("confidentiality", "public"))
    if confidentiality not in CONFIDENTIALITY:
        raise InputError(
            f"confidentialité « {confidentiality} » inconnue ; valeurs : "
            f"{', '.join(CONFIDENTIALITY)}",
            path=path,
            column="dataset.confidentiality",
        )
    variables = tuple(_variable(v, i, path) for i, v in enumerate(data.get("variables", [])))
    if not variables:
        raise InputError(
            "aucune variable : ajoutez des sections [[variables]]", path=path, column="variables"
        )
    codes = [v.code for v in variables]
    if len(set(codes)) != len(codes):
        raise InputError("deux variables portent le même code", path=path, column="variables.code")
    return Descriptor(
        path=path,
        digest=hashlib.sha256(raw).hexdigest(),
        id=ident,
        label=str(dataset.get("label", ident)),
        producer=str(_field(dataset, "dataset", "producer", path)),
        source=str(dataset.get("source", ident.split(".")[0])),
        level=level,
        code_column=str(_field(geography, "geography", "code_column", path)),
        variables=variables,
        period=str(period["value"]) if period.get("value") else None,
        period_column=str(period["column"]) if period.get("column") else None,
        empty=_status(markers.get("empty", "missing"), path, "markers.empty"),
        markers={
            str(text).strip().lower(): _status(name, path, f"markers.{name}")
            for name in ("secret", "ns", "so", "nd", "missing")
            for text in markers.get(name, [])
        },
        partner=dataset.get("partner"),
        licence=str(dataset.get("licence", "")),
        confidentiality=confidentiality,
        frequency=frequency,
        dimensions=tuple(dimensions),
    )


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    """The descriptor's content: YAML for ``.yaml``/``.yml`` files, TOML otherwise."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"descripteur illisible : enregistrez-le en UTF-8 ({exc})", path=path
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        from observatoire.yamlfile import load_yaml

        data = load_yaml(text, path, "descripteur YAML")
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"descripteur illisible ({exc})", path=path) from None
    if not isinstance(data, dict):
        raise InputError("descripteur vide ou mal formé : attendu des sections", path=path)
    return data


def _status(name: object, path: Path, column: str) -> ValueStatus:
    aliases = {
        "secret": ValueStatus.SECRET,
        "missing": ValueStatus.MISSING,
        "ns": ValueStatus.NOT_SIGNIFICANT,
        "so": ValueStatus.NOT_APPLICABLE,
        "nd": ValueStatus.NOT_AVAILABLE,
    }
    try:
        return aliases[str(name)]
    except KeyError:
        raise InputError(
            f"statut inconnu « {name} » ; valeurs : {', '.join(aliases)}", path=path, column=column
        ) from None


def _variable(data: dict[str, object], index: int, path: Path) -> VariableSpec:
    where = f"variables[{index + 1}]"
    column = str(_field(data, where, "column", path))
    code = str(_field(data, where, "code", path))
    if not _CODE.match(code):
        raise InputError(f"code de variable invalide « {code} »", path=path, column=f"{where}.code")
    kind = str(data.get("kind", "count"))
    if kind not in KINDS:
        raise InputError(
            f"nature « {kind} » inconnue ; valeurs : {', '.join(KINDS)}",
            path=path,
            column=f"{where}.kind",
        )
    bounds = data.get("range")
    if bounds is not None:
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise InputError(
                "range attend deux nombres, ex. [0, 100]", path=path, column=f"{where}.range"
            )
        bounds = (float(bounds[0]), float(bounds[1]))
    elif kind in ("rate", "share"):
        bounds = (0.0, 100.0)
    total = data.get("total")
    return VariableSpec(
        column=column,
        code=code,
        label=str(data.get("label", code)),
        kind=kind,
        unit=str(data.get("unit", "")),
        total=str(total) if total else None,
        range=bounds,
    )


class DescriptorConnector(Connector):
    """A connector made from a user's descriptor."""

    description = "descripteur"

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.name = f"descripteur:{descriptor.id}"

    def header_names(self) -> tuple[str, ...]:
        return (self.descriptor.code_column,)

    def recognise(self, table: Table) -> Layout:
        d = self.descriptor
        columns = list(table.frame.columns)
        code_column = find_column(columns, [d.code_column])
        missing = [
            c
            for c in [d.code_column, *(v.column for v in d.variables)]
            if find_column(columns, [c]) is None
        ]
        if d.period_column and find_column(columns, [d.period_column]) is None:
            missing.append(d.period_column)
        missing += [c for c in d.dimensions if find_column(columns, [c]) is None]
        if missing or code_column is None:
            raise MissingColumnError(missing, columns, path=table.path)
        specs = [
            ColumnSpec(
                str(find_column(columns, [v.column])),
                d.source,
                v.code,
                d.period or "",
                additive=v.additive,
                kind=v.kind,
                unit=v.unit,
            )
            for v in d.variables
        ]
        return Layout(
            connector=self.name,
            producer=d.producer,
            dataset=d.id,
            level=d.level,
            code_column=code_column,
            columns=specs,
            empty=d.empty,
            labels={s.column: v.label for s, v in zip(specs, d.variables, strict=True)},
            markers=dict(d.markers),
            period_column=find_column(columns, [d.period_column]) if d.period_column else None,
            checks={
                s.column: (v.range, find_column(columns, [v.total]) if v.total else None)
                for s, v in zip(specs, d.variables, strict=True)
            },
            descriptor=d.version,
            dim_columns=[str(find_column(columns, [c])) for c in d.dimensions],
            confidentiality=d.confidentiality,
            licence=d.licence,
            frequency=d.frequency,
        )
