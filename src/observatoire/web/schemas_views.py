"""What the API returns for the analyst's views (:mod:`observatoire.web.routes.api_views`):
the levels and periods an indicator has data for, its funnel plot."""

from __future__ import annotations

from pydantic import Field as Described

from observatoire.web.schemas import Public

__all__ = ["AvailabilityPublic", "FunnelPublic", "GradientPublic", "HeatmapPublic", "QpvGapsPublic"]


class AvailabilityRowPublic(Public):
    level: str
    period: str
    territories: int = Described(description="Territoires du niveau")
    values: int = Described(description="Territoires ayant une valeur utilisable")
    ok: int = Described(description="dont complètes")
    partial: int = Described(description="dont partielles")
    secret: int = Described(description="Sous secret statistique pour l'appelant")
    other: int = Described(description="Non disponibles, non définies…")


class AvailabilityPublic(Public):
    """For one indicator, how many territories have a value at each level and period."""

    indicator: str
    rows: list[AvailabilityRowPublic]


class FunnelPointPublic(Public):
    code: str
    name: str | None
    value: float
    numerator: float
    denominator: float
    low_95: float | None
    high_95: float | None
    low_99_8: float | None
    high_99_8: float | None
    position: int = Described(description="-2, -1 sous les limites à 99,8 / 95 %, 0 dedans, 1, 2")
    assessment: str


class FunnelPublic(Public):
    """A funnel plot: each territory placed by its denominator against the reference, with
    the exact 95 % and 99.8 % control limits at its denominator and along the curve."""

    indicator: str
    level: str
    within: str | None
    period: str
    law: str = Described(description="binomial (proportion) ou poisson (taux d'événements)")
    target: float = Described(description="Valeur de la référence")
    reference: dict[str, str]
    notes: list[str]
    counts: dict[str, int]
    outliers: list[FunnelPointPublic]
    points: list[FunnelPointPublic]
    limits: list[dict[str, float | None]]
    left_out: list[dict[str, str | None]]


class HeatmapCellPublic(Public):
    indicator: str
    value: float | None
    shown: str
    category: str = Described(description="better, similar, worse, higher, lower, untestable, "
                                          "secret ou missing")
    background: str
    text: str
    title: str


class HeatmapRowPublic(Public):
    code: str
    name: str | None
    cells: list[HeatmapCellPublic]


class HeatmapPublic(Public):
    """Territories × indicators, each cell compared with the reference (the comparison
    engine's verdict), the columns with their period and the reference's value."""

    level: str
    within: str | None
    reference: dict[str, str]
    indicators: list[dict[str, object]]
    rows: list[HeatmapRowPublic]
    legend: list[dict[str, str]]
    counts: dict[str, int]


class GradientGroupPublic(Public):
    group: int
    territories: int
    population: float
    value: float
    ci_low: float | None
    ci_high: float | None
    se: float | None
    rank_low: float
    rank_high: float


class GradientPublic(Public):
    """An indicator by groups of territories ranked from the least to the most favoured,
    with the slope and relative indices of inequality (Low & Low, 2004)."""

    indicator: str
    ranking: str
    level: str
    within: str | None
    period: str
    ranking_period: str
    method: str
    intercept: float
    sii: float = Described(description="Indice de pente : valeur ajustée en haut − en bas")
    sii_low: float
    sii_high: float
    rii: float = Described(description="Indice relatif : valeur ajustée en haut / en bas")
    rii_low: float | None
    rii_high: float | None
    notes: list[str]
    groups: list[GradientGroupPublic]
    members: list[dict[str, object]]


class QpvRowPublic(Public):
    """A quartier (or an ensemble of QPV) and the rest of its communes (or département)."""

    code: str
    name: str
    ensemble: str | None
    status: str | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    numerator: float | None
    denominator: float | None
    rest_value: float | None = Described(description="Valeur du reste, hors QPV")
    rest_ci_low: float | None
    rest_ci_high: float | None
    rest_numerator: float | None
    rest_denominator: float | None
    gap: float | None = Described(description="Valeur du QPV − valeur du reste")
    ratio: float | None
    assessment: str | None
    note: str | None = Described(description="Pourquoi le reste ne peut être compté")


class QpvQuartierPublic(QpvRowPublic):
    communes: str
    rest_communes: str | None = Described(description="Les communes dont c'est le reste")


class QpvEnsemblePublic(QpvRowPublic):
    departement: str
    departement_name: str


class QpvGapsPublic(Public):
    """Each QPV against the rest of its communes, each ensemble of QPV against the rest of
    its département, for a rate with counts."""

    indicator: str
    within: str | None
    period: str
    notes: list[str]
    quartiers: list[QpvQuartierPublic]
    ensembles: list[QpvEnsemblePublic]
