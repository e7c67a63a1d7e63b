"""What the API returns, as ``/api/v1/openapi.json`` documents it: one ``*Public`` model per
answer of ``/api/v1``.

The routes build their answers as plain JSON (:mod:`observatoire.web.content`, read for the
caller's audience: what leaves has passed the secret rules) and send them as they are, with
their ETag; these models say what those answers hold. ``tests/test_rights.py`` checks every
answer of every role against its route's model. Rows read from a table may carry more columns
than those named here (a comparison's, a provenance's): the models allow them.

The inventory's entries are described by their fields (:mod:`observatoire.inventory.fields`):
their models are built from the same descriptions as the forms and the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as Described

from observatoire.inventory.documents import DOCUMENT_FIELDS
from observatoire.inventory.fields import Field
from observatoire.inventory.needs import ACTION_FIELDS, NEED_FIELDS
from observatoire.inventory.sources import SOURCE_FIELDS

__all__ = [
    "CSV_ANSWER",
    "ActionPublic",
    "CataloguePublic",
    "ComparisonsPublic",
    "DocumentPublic",
    "DocumentsPublic",
    "FeaturePublic",
    "FlagPublic",
    "FlagStatePublic",
    "FlagsPublic",
    "GeoJSONResponse",
    "GeometriesPublic",
    "ImportReportPublic",
    "ImportsPublic",
    "IndicatorPublic",
    "NeedPublic",
    "NeedsPublic",
    "Page",
    "ProfilePublic",
    "ProgrammePublic",
    "ProposalFiledPublic",
    "Public",
    "SourcePublic",
    "SourcesPublic",
    "TerritoriesPublic",
    "TerritoryPublic",
    "ValuesPublic",
    "VariablePublic",
    "VariableValuesPublic",
    "ZoningPublic",
    "file_answer",
]

CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, ou CSV avec format=csv",
    }
}


def file_answer(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a file download, in one of ``media_types``."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"content": dict.fromkeys(media_types, binary), "description": "Fichier"}}


class GeoJSONResponse(JSONResponse):
    """Documents an answer as ``application/geo+json``."""

    media_type = "application/geo+json"


class Public(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(Public):
    """One page of rows: their count, where it starts, the next page's URL."""

    count: int = Described(description="Lignes en tout")
    limit: int = Described(description="Lignes par page")
    offset: int = Described(description="Première ligne de la page (0 = la première)")
    next: str | None = Described(description="Adresse de la page suivante (None: la dernière)")


# -- territories ---------------------------------------------------------------------------------
class TerritoryRowPublic(Public):
    code: str
    name: str | None
    level: str
    epci: str | None = None
    departement: str | None = None
    region: str | None = None
    population: float | None = None
    population_year: int | None = None
    area_km2: float | None = None
    kind: str | None = None


class TerritoriesPublic(Page):
    """Territories of a level."""

    rows: list[TerritoryRowPublic]


class NamedTerritoryPublic(Public):
    level: str
    code: str
    name: str | None


class TerritoryPublic(Public):
    """A territory, its parents (finest level first) and its number of territories of each
    finer level."""

    level: str
    code: str
    name: str
    population: float | None
    population_year: int | None
    area_km2: float | None
    parents: list[NamedTerritoryPublic]
    children: dict[str, int]


class ProfileRowPublic(Public):
    indicator: str
    label: str
    theme: str
    period: str | None
    value: float | None
    status: str
    coverage: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None


class ProfilePublic(Page):
    """Every indicator of a territory, every period."""

    rows: list[ProfileRowPublic]


class ZoningPublic(Public):
    """A custom zoning and its version in force."""

    name: str
    label: str | None
    fictitious: bool | None = None
    version: int | None = None
    unit_level: str | None = None
    valid_from: str | None = None
    zones: int | None = None
    units: int | None = None


class FeaturePublic(Public):
    """A territory: its code and name (properties), its contour (geometry)."""

    type: str
    properties: dict[str, Any]
    geometry: dict[str, Any] | None


class GeometriesPublic(Public):
    """A GeoJSON FeatureCollection (EPSG:4326): each territory's code, name and contour."""

    type: str
    features: list[FeaturePublic]


# -- indicators and values -----------------------------------------------------------------------
class IndicatorSummaryPublic(Public):
    id: str
    label: str
    theme: str
    theme_label: str
    unit: str | None
    definition: str | None
    levels: list[str] = Described(description="Niveaux où l'appelant lit des valeurs")


class ThemePublic(Public):
    id: str
    label: str
    count: int


class CataloguePublic(Public):
    """The indicators found, with the levels at which the caller can read their values."""

    query: str
    theme: str
    available: bool
    themes: list[ThemePublic]
    count: int
    with_values: int
    indicators: list[IndicatorSummaryPublic]


class IndicatorPublic(IndicatorSummaryPublic):
    """An indicator's metadata, as the catalogue declares it."""

    method: str | None
    aggregation: str
    polarity: str
    sources: list[str]
    keywords: list[str]
    ci: str | None
    variables: list[str]
    secret: bool


class ValueRowPublic(Public):
    """A territory's value; with ``compare``, its reference's and the gap (rank, percentile,
    reference_code, reference_value, gap, significant, trend…); else how it was made
    (methode, variables, sources)."""

    code: str
    name: str | None
    period: str | None
    value: float | None
    status: str
    coverage: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None


class ValuesPublic(Page):
    """Values of an indicator for every territory of a level."""

    rows: list[ValueRowPublic]


class ProjectionErrorPublic(Public):
    """A method's error measured by its back-test: the last period projected from the ones
    before, for every territory of the level observed then."""

    method: str
    label: str
    level: str = Described(description="Niveau où l'erreur est mesurée")
    territories: int
    horizon: float | None = Described(description="Années entre l'avant-dernière et la dernière")
    mape: float | None = Described(description="Erreur absolue moyenne, en %")
    coverage: float | None = Described(description="Part des valeurs dans l'intervalle")
    confidence: float
    offered: bool = Described(description="Fait au moins aussi bien que l'absence d'évolution")
    default: bool


class ProjectionRowPublic(Public):
    code: str
    name: str | None
    period: str
    value: float | None
    low: float | None = Described(description="Borne basse de l'intervalle de prédiction")
    high: float | None = Described(description="Borne haute de l'intervalle de prédiction")
    status: str = Described(description="projection, nd (et la raison), ou secret")
    note: str | None = None


class ProjectionPublic(Page):
    """Projected values of an indicator (one page of rows), the assumption, and the measured
    error of every method."""

    indicator: str
    level: str
    method: str
    default_method: str
    target: str
    history: list[str]
    assumption: str
    confidence: float
    measured_at: str
    notes: list[str]
    errors: list[ProjectionErrorPublic]
    rows: list[ProjectionRowPublic]


class ComparisonRowPublic(Public):
    indicator: str
    label: str
    unit: str | None
    level: str
    code: str
    name: str | None
    period: str | None
    value: float | None
    status: str
    ci_low: float | None = None
    ci_high: float | None = None


class ComparisonsPublic(Page):
    """One row per (indicator, territory)."""

    rows: list[ComparisonRowPublic]


class VariablePublic(Public):
    """A variable imported (``source.CODE``)."""

    id: str
    label: str | None
    source: str
    code: str
    kind: str | None = None
    unit: str | None = None
    additive: bool | None = None
    producer: str | None = None
    n_values: float | None = None
    levels: str | None = None
    periods: str | None = None


class VariableValueRowPublic(Public):
    code: str
    name: str | None
    period: str | None
    dims: str | None = None
    value: float | None
    status: str
    note: str | None = None
    batch: int | None = None


class VariableValuesPublic(Page):
    """Raw values of a variable, as imported."""

    rows: list[VariableValueRowPublic]


# -- the inventory -------------------------------------------------------------------------------
def _entry_model(name: str, doc: str, fields: Sequence[Field], **more: Any) -> type[BaseModel]:
    """The model of an entry of ``fields`` (each described by its label), with ``more``."""
    definitions: dict[str, Any] = {}
    for f in fields:
        kind: Any = {"liste": list[str] | None, "annee": int | None}.get(f.kind, str | None)
        definitions[f.key] = (kind, Described(None, description=f.label))
    definitions["modifie_le"] = (
        str | None,
        Described(None, alias="_modifie_le", description="Modifiée le"),
    )
    definitions["modifie_par"] = (
        str | None,
        Described(None, alias="_modifie_par", description="Modifiée par"),
    )
    model: type[BaseModel] = create_model(
        name, __base__=Public, __doc__=doc, **definitions, **more
    )
    return model


def _optional(kind: Any, description: str) -> Any:
    return (kind | None, Described(None, description=description))


NeedPublic = _entry_model(
    "NeedPublic",
    "An observation need, what answers it, the action of the programme that takes it up.",
    NEED_FIELDS,
    statut_label=_optional(str, "Statut (libellé)"),
    priorite_label=_optional(str, "Priorité (libellé)"),
    sources_detail=_optional(list[dict[str, Any]], "Sources (fiche)"),
    indicateurs_detail=_optional(list[dict[str, Any]], "Indicateurs (fiche)"),
    action_detail=_optional(dict[str, Any], "Action du programme (fiche)"),
)
_NeedEntry = _entry_model("NeedEntryPublic", "An observation need.", NEED_FIELDS)
ActionPublic = _entry_model(
    "ActionPublic",
    "An action of the work programme and the needs it takes up.",
    ACTION_FIELDS,
    besoins=(list[_NeedEntry], Described(description="Besoins pris en charge")),  # type: ignore[valid-type]
)
SourcePublic = _entry_model(
    "SourcePublic",
    "A source or information system: what the observatory holds of it, when its next edition "
    "is due. Contacts are given to signed-in accounts; notes, imports and the datasets the "
    "caller may not read to analysts only.",
    SOURCE_FIELDS,
    type_label=_optional(str, "Type (libellé)"),
    jeux_lies=_optional(list[str], "Jeux de données liés"),
    imports=_optional(int, "Imports en vigueur"),
    dernier_import=_optional(str, "Dernier import"),
    edition_attendue=_optional(str, "Édition attendue"),
    en_retard=_optional(bool, "En retard"),
    indicateurs_lies=_optional(int, "Indicateurs liés"),
    jeux_detail=_optional(list[dict[str, Any]], "Jeux de données (fiche)"),
    imports_detail=_optional(list[dict[str, Any]], "Imports (fiche)"),
    indicateurs_detail=_optional(list[dict[str, Any]], "Indicateurs (fiche)"),
    besoins=_optional(list[_NeedEntry], "Besoins auxquels elle répond"),  # type: ignore[valid-type]
)
DocumentPublic = _entry_model(
    "DocumentPublic",
    "A document of the library; a search hit also has its score, the page and the passage "
    "where it was found.",
    DOCUMENT_FIELDS,
    id=(str, Described(description="Numéro")),
    type_label=_optional(str, "Type (libellé)"),
    acces_label=_optional(str, "Accès (libellé)"),
    fichier=_optional(str, "Nom du fichier"),
    taille=_optional(int, "Taille (octets)"),
    pages=_optional(int, "Pages"),
    url=(str, Described(description="Adresse de la fiche")),
    fichier_url=(str, Described(description="Adresse du fichier")),
    score=_optional(float, "Pertinence (recherche)"),
    page=_optional(int, "Page trouvée (recherche)"),
    extrait=_optional(list[str], "Passage trouvé (recherche)"),
)


class SourcesPublic(Public):
    """Sources and information systems."""

    count: int
    rows: list[SourcePublic]  # type: ignore[valid-type]


class DocumentsPublic(Public):
    """Documents the caller may read (a search: best first)."""

    count: int
    rows: list[DocumentPublic]  # type: ignore[valid-type]


class NeedsPublic(Public):
    """Observation needs."""

    count: int
    rows: list[NeedPublic]  # type: ignore[valid-type]


class ProgrammePublic(Public):
    """The actions of the work programme."""

    count: int
    rows: list[ActionPublic]  # type: ignore[valid-type]


# -- imports -------------------------------------------------------------------------------------
class ImportBatchPublic(Public):
    id: int
    status: str
    dataset: str
    edition: str | None
    level: str | None
    periods: str | None
    file_name: str | None
    rows_read: int | None
    rows_imported: int | None
    rows_rejected: int | None
    imported_at: str | None
    imported_by: str | None
    partner: str | None


class ImportsPublic(Public):
    """The imports the caller may see (a partner: its organisation's), newest first."""

    imports: list[ImportBatchPublic]


class RejectionPublic(Public):
    line: int
    column: str
    value: str
    reason: str


class ImportReportPublic(Public):
    """What an import did, or would do with ``dry_run``: rows read, imported, rejected (with
    examples, line and column), values stored by status, the import's number."""

    file: str
    sha256: str
    size: int
    connector: str
    producer: str
    dataset: str
    level: str
    periods: list[str]
    rows_read: int
    rows_imported: int
    rows_rejected: int
    cells_rejected: int
    values_stored: int
    statuses: dict[str, int]
    completeness: dict[str, float]
    variables_created: list[str]
    variables_updated: list[str]
    converted_from: int | None = None
    converted_codes: int = 0
    rejections: dict[str, int] = {}
    examples: list[RejectionPublic] = []
    footer_lines: list[str] = []
    notes: list[str] = []
    batch: int | None = None
    replaced: int | None = None
    dry_run: bool = False
    unchanged: bool = False
    proposal: bool = False


class ProposalFiledPublic(Public):
    """A partner's file filed as a proposal, waiting for an analyst's decision."""

    proposition: str
    statut: str
    adresse: str
    rapport: ImportReportPublic


# -- the data-quality review ---------------------------------------------------------------------
class FlagPublic(Public):
    """A point de vigilance: what the review found, where, and the state an analyst gave it."""

    id: str
    domain: str
    check_name: str
    check: str
    severity: str
    subject: str
    subject_label: str
    level: str
    code: str
    territory: str
    period: str
    message: str
    detail: dict[str, Any]
    batch: int | None
    state: str
    state_label: str
    comment: str | None
    set_by: str | None
    set_at: str | None
    first_seen: str
    last_seen: str


class FlagsPublic(Public):
    """Points de vigilance, the most severe first."""

    count: int
    rows: list[FlagPublic]


class FlagStatePublic(Public):
    """A new state for points de vigilance."""

    ids: list[str] = Described(description="Identifiants des points de vigilance")
    state: str = Described(description="nouveau, connu, confirme, faux_positif, resolu")
    comment: str | None = None
