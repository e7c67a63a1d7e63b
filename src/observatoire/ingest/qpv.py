"""Files by quartier prioritaire (QPV) of the ANCT and its Observatoire national de la
politique de la ville (ONPV), and the QPV level they build.

Recognised from their codes (``QP093005``, ``QN09301M``: :mod:`observatoire.territories.qpv`),
whatever the theme (DEMO population and households, REVN income with its « Ensemble » line,
IPRO, trailing empty columns). CNAF counts (``A``, ``PERCOU``, ``ENF``…) keep their CNAF
variables (``caf.A``), so that the catalogue's CAF indicators are computed for each QPV and
for the ensemble of a département's QPV; the other columns are ``onpv.<CODE>``. Rates published
per QPV (``TX_*``) are never summed: they are shown where published.

When a file names QPV the referential does not know, they are added to it, inside the import's
transaction: code, generation, département, the communes of its commune label found by name
in the département, the EPCI of those communes, and the ensemble of the département's QPV.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from observatoire.catalog.datasets import OPEN_LICENCE
from observatoire.catalog.statuses import ValueStatus
from observatoire.ingest.connectors import (
    CAF_CODES,
    FILOSOFI_CODES,
    FILOSOFI_COUNTS,
    SUFFIXED,
    ColumnSpec,
    Connector,
    Layout,
    file_year,
    is_text,
    name_tokens,
    register_connector,
    year_of,
)
from observatoire.ingest.datafrance import name_types
from observatoire.ingest.geonames import places_of
from observatoire.ingest.tables import Table, find_column
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.places import named_places
from observatoire.store.referential import add_territories
from observatoire.store.territories import territory_codes, territory_parents
from observatoire.territories.lookup import NameIndex
from observatoire.territories.qpv import (
    communes_of_label,
    departement_of,
    ensemble_code,
    ensemble_name,
    generation,
    is_qpv_code,
    qpv_name,
)
from observatoire.territories.referential import PARENT_COLUMNS, TERRITORY_COLUMNS

__all__ = ["NewQpv", "QpvBuilder", "QpvConnector", "missing_note", "new_qpv"]

QPV_CODE_COLUMNS = ("CODGEO", "CODE_QP", "CODE_QPV", "QP", "QPV", "CODE", "CODGEO_QP")
QPV_NAME_COLUMNS = ("LIB_QP", "LIBQP", "NOM_QP", "NOM_QPV", "LIB_QPV", "LIBGEO", "NOM")
COMMUNE_LABEL_COLUMNS = ("LIB_COM", "LIBCOM", "NOM_COM", "COMMUNE", "COMMUNES", "NOM_COMMUNE")
# Columns describing the QPV's communes, not the QPV: never values of the QPV.
_DESCRIPTIVE = re.compile(r"^(LIB\w*|NOM\w*|POP_COM\w*|COM\w*|DEP\w*|REG\w*|EPCI\w*|UU\w*)$")
_SHARE = re.compile(r"^(TX|PART|PCT|P|T)_")
_AGGREGATE_ROWS = {
    "ENSEMBLE": "ligne « Ensemble » (agrégat des QPV du fichier) non importée : ce n'est pas "
    "un quartier",
    "ENSEMBLE DES QPV": "ligne « Ensemble des QPV » non importée : ce n'est pas un quartier",
    "TOTAL": "ligne « Total » non importée : ce n'est pas un quartier",
}
_THEME_NOISE = {"DATA", "QP", "QPV", "V1", "V2", "V3", "ONPV", "ANCT"}


def _qpv_column(table: Table) -> str | None:
    """The column whose cells are QPV codes (nine in ten at least, aggregate lines aside)."""
    sample = table.frame.head(500)
    named = find_column(list(sample.columns), QPV_CODE_COLUMNS)
    candidates = [named] if named else []
    candidates += [c for c in sample.columns if c not in candidates]
    for column in candidates:
        cells = [str(v).strip().upper() for v in sample[column] if str(v).strip()]
        cells = [c for c in cells if c not in _AGGREGATE_ROWS]
        if cells and sum(is_qpv_code(c) for c in cells) >= 0.9 * len(cells):
            return column
    return None


class QpvConnector(Connector):
    """ANCT / ONPV files by QPV (see the module docstring)."""

    name = "anct.qpv"
    description = "ANCT / ONPV, données par quartier prioritaire (QPV 2015 et 2024)"

    def header_names(self) -> tuple[str, ...]:
        return QPV_CODE_COLUMNS

    def recognise(self, table: Table) -> Layout | None:
        code_column = _qpv_column(table)
        if code_column is None:
            return None
        year = file_year(table.path)
        sample = table.frame.head(500)
        columns = []
        for column in table.frame.columns:
            upper = str(column).upper().strip()
            if column == code_column or not upper or upper.startswith("UNNAMED"):
                continue
            if _DESCRIPTIVE.match(upper) or is_text(sample[column].tolist()):
                continue
            if not sample[column].astype(str).str.strip().ne("").any():
                continue  # a trailing empty column
            columns.append(_spec(column, upper, year))
        if not columns:
            return None
        theme = [t for t in name_tokens(table.path) if t not in _THEME_NOISE and not t.isdigit()]
        dataset = "anct.qpv." + ("_".join(theme).lower() or "donnees")
        return Layout(
            connector=self.name,
            producer="ANCT / ONPV",
            licence=OPEN_LICENCE,
            frequency="annuelle",
            dataset=dataset,
            level="qpv",
            code_column=code_column,
            columns=columns,
            empty=ValueStatus.MISSING,  # secret or not available: the files do not tell
            skip_codes=dict(_AGGREGATE_ROWS),
        )


def _spec(column: str, upper: str, year: int | None) -> ColumnSpec:
    period = str(year or "")
    suffixed = SUFFIXED.match(upper)
    if suffixed and re.sub(r"^(DISP|DEC)_", "", suffixed["stem"]) in FILOSOFI_CODES:
        # income by QPV (REVN: DISP_MED19…): INSEE's Filosofi variables, year from the suffix
        stem, when = suffixed["stem"], str(year_of(suffixed["yy"]))
        additive = re.sub(r"^(DISP|DEC)_", "", stem) in FILOSOFI_COUNTS
        return ColumnSpec(column, "filosofi", stem, when, additive=additive)
    if upper in CAF_CODES or upper.startswith(("ENF_", "A_")):
        return ColumnSpec(column, "caf", upper, period, additive=True, kind="count")
    if upper.startswith("NOTE"):
        return ColumnSpec(column, "onpv", upper, period, additive=False, kind="code")
    if _SHARE.match(upper):
        return ColumnSpec(column, "onpv", upper, period, additive=False, kind="share", unit="%")
    if upper.startswith("IND_"):
        return ColumnSpec(column, "onpv", upper, period, additive=False, kind="index")
    if upper in ("POP_MUN", "POP_TOT", "POP") or upper.startswith(("NB_", "EFF_")):
        return ColumnSpec(column, "onpv", upper, period, additive=True, kind="count")
    return ColumnSpec(column, "onpv", upper, period, additive=False)


register_connector(QpvConnector(), before="insee.rp")  # from its codes alone: first


# -- the QPV level, built from the files ------------------------------------------------------
@dataclass
class NewQpv:
    """QPV (and ensembles) a file names that the referential does not know yet."""

    territories: pd.DataFrame
    parents: pd.DataFrame
    missing: list[str] = field(default_factory=list)  # commune names not found

    @property
    def codes(self) -> set[str]:
        return set(self.territories.code[self.territories.level == "qpv"])

    def write(self, tx: Transaction) -> None:
        if len(self.territories):
            add_territories(tx, self.territories, self.parents)


class QpvBuilder:
    """What building QPV needs of the referential, read once: communes and arrondissements by
    name, their EPCI, the départements' names and parents, the ensembles already known."""

    def __init__(self, warehouse: Warehouse) -> None:
        places = named_places(warehouse)
        self.index = NameIndex(places_of(places[places.level.isin(["commune", "arm"])]))
        self.departements = places[places.level == "departement"].set_index("code").name
        self.types = name_types()
        self.commune_parents = territory_parents(warehouse, "commune", ["epci"])
        arm_parent = territory_parents(warehouse, "arm", ["commune"])
        self.arm_commune = dict(zip(arm_parent.code, arm_parent.parent_code, strict=True))
        self.dep_parents = territory_parents(warehouse, "departement", ["region", "pays"])
        self.known_ensembles = set(territory_codes(warehouse, "ensemble_qpv"))
        self.communes = set(territory_codes(warehouse, "commune"))

    def communes_named(self, label: str, code: str, missing: list[str]) -> list[str]:
        """The current communes a commune label names (« Bobigny, Drancy »), found by name in
        the QPV's département; those not found are added to ``missing``."""
        dep = departement_of(code)
        found_codes = []
        for commune_name in communes_of_label(label):
            found = self.index.find(commune_name, "commune", within={f"departement:{dep}"})
            if found.code is None:
                found = self.index.find(commune_name, "arm", within={f"departement:{dep}"})
            if found.code is None:
                missing.append(f"{commune_name} ({code})")
                continue
            code_now = found.former.current if found.former and found.former.part else found.code
            found_codes.append(self.arm_commune.get(code_now, code_now))
        return list(dict.fromkeys(found_codes))

    def build(self, rows: list[tuple[str, str, list[str]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Territories and parents of QPV (code, name, current communes), and of the
        ensembles of their départements not known yet."""
        out, parents = [], []
        for code, name, communes in rows:
            out.append(("qpv", code, name, generation(code)))
            parents += _qpv_parents(code, departement_of(code), communes,
                                    self.commune_parents, self.dep_parents)  # fmt: skip
        for ensemble in sorted({ensemble_code(code) for code, _, _ in rows}):
            if ensemble in self.known_ensembles:
                continue
            year, dep = ensemble[3:7], ensemble[8:]
            dep_name = str(self.departements.get(dep, dep))
            tncc = self.types.get(("departement", dep))
            out.append(("ensemble_qpv", ensemble, ensemble_name(year, dep_name, tncc), year))
            parents.append(("ensemble_qpv", ensemble, "departement", dep, 1.0))
            above = self.dep_parents[self.dep_parents.code == dep]
            parents += [("ensemble_qpv", ensemble, r.parent_level, r.parent_code, 1.0)
                        for r in above.itertuples()]  # fmt: skip
        territories = pd.DataFrame(out, columns=["level", "code", "name", "kind"]).assign(
            population=float("nan"), population_year=None, area_km2=float("nan")
        )
        territories["population_year"] = territories.population_year.astype("Int64")
        frame = pd.DataFrame(parents, columns=PARENT_COLUMNS)
        return territories[TERRITORY_COLUMNS], frame.drop_duplicates(PARENT_COLUMNS[:4])


def new_qpv(builder: QpvBuilder, table: Table, layout: Layout, known: set[str]) -> NewQpv:
    """The QPV of ``table`` (one chunk of a file) not in ``known``, ready to be added (see the
    module docstring); their communes are found by name within their département."""
    frame = table.frame
    codes = frame[layout.code_column].fillna("").astype(str).str.strip().str.upper()
    wanted = ~codes.isin(known) & codes.map(is_qpv_code)
    if not wanted.any():
        return NewQpv(_empty_territories(), _empty_parents())
    label_column = find_column(list(frame.columns), COMMUNE_LABEL_COLUMNS)
    name_column = find_column(list(frame.columns), QPV_NAME_COLUMNS)
    rows: list[tuple[str, str, list[str]]] = []
    missing: list[str] = []
    seen: set[str] = set()
    for position in map(int, wanted.to_numpy().nonzero()[0]):
        code = codes.iloc[position]
        if code in seen:
            continue
        seen.add(code)
        label = str(frame[label_column].iloc[position]) if label_column else ""
        communes = builder.communes_named(label, code, missing)
        name = str(frame[name_column].iloc[position]).strip() if name_column else ""
        rows.append((code, name or qpv_name(code, communes_of_label(label)), communes))
    territories, parents = builder.build(rows)
    builder.known_ensembles |= set(territories.code[territories.level == "ensemble_qpv"])
    return NewQpv(territories, parents, missing)


def missing_note(missing: list[str]) -> str:
    return (
        f"{len(missing)} commune(s) de QPV introuvables par leur nom dans leur département "
        "(QPV rattachés à leurs autres communes et à leur département) : "
        + ", ".join(missing[:8])
        + ("…" if len(missing) > 8 else "")
    )


def _qpv_parents(code: str, dep: str, communes: list[str], commune_parents: pd.DataFrame,
                 dep_parents: pd.DataFrame) -> list[tuple[str, str, str, str, float]]:  # fmt: skip
    """A QPV's parents: its communes and their EPCI (an equal share each: the split of its
    population is not known, and a QPV is never summed into them), its département, région,
    France, and the ensemble of its département's QPV."""
    out = [("qpv", code, "commune", c, round(1 / len(communes), 6)) for c in communes]
    epci = commune_parents[
        commune_parents.code.isin(communes) & (commune_parents.parent_level == "epci")
    ]
    for parent in sorted(set(epci.parent_code)):
        share = (epci.parent_code == parent).sum() / len(communes)
        out.append(("qpv", code, "epci", parent, round(float(share), 6)))
    out.append(("qpv", code, "departement", dep, 1.0))
    out += [("qpv", code, r.parent_level, r.parent_code, 1.0)
            for r in dep_parents[dep_parents.code == dep].itertuples()]  # fmt: skip
    out.append(("qpv", code, "ensemble_qpv", ensemble_code(code), 1.0))
    return out


def _empty_territories() -> pd.DataFrame:
    return pd.DataFrame(columns=TERRITORY_COLUMNS)


def _empty_parents() -> pd.DataFrame:
    return pd.DataFrame(columns=PARENT_COLUMNS)
