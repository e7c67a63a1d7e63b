"""The projection tile of a dashboard: a territory's series, its trend projected (dashed, in
its band) and a user's scenario side by side, with the measured error of the trend.

Declared in ``tableaux/*.yaml``::

    - type: projection
      indicateur: demandeurs_emploi
      horizon: 2027                 # optional: as far as the history supports
      methode: linear               # optional: the smallest measured error
      scenario: {taux_annuel: -3}   # or {cible: 9000, annee: 2027}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from observatoire.catalog.periods import period_time
from observatoire.engine.projection import horizon_words
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.outputs.charts import line_chart
from observatoire.outputs.sentences import projection_sentence
from observatoire.secret.policy import ReadPolicy
from observatoire.stats import projection as stats
from observatoire.territories.references import peer_scope
from observatoire.text import french_number, with_unit

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["check_projection_tile", "projection_tile"]

KIND = "projection"
_KEYS = {"type", "indicateur", "horizon", "methode", "scenario"}


def check_projection_tile(tile: dict[str, Any], where: str) -> None:
    """A declared projection tile; an error names the field."""
    unknown = sorted(set(tile) - _KEYS)
    if unknown:
        raise InputError(f"{where} : champ « {unknown[0]} » inconnu ({', '.join(sorted(_KEYS))})")
    horizon = tile.get("horizon")
    if horizon is not None and (not isinstance(horizon, int) or not 1900 < horizon < 2200):
        raise InputError(f"{where}.horizon : une année (ex. 2027)")
    method = tile.get("methode")
    if method is not None and method not in stats.METHODS:
        raise InputError(f"{where}.methode : l'une de {', '.join(stats.METHODS)}")
    wanted = tile.get("scenario")
    if wanted is None:
        return
    if not isinstance(wanted, dict):
        raise InputError(f"{where}.scenario : {{taux_annuel: -2}} ou {{cible: 500, annee: 2027}}")
    rate, target, year = wanted.get("taux_annuel"), wanted.get("cible"), wanted.get("annee")
    extra = sorted(set(wanted) - {"taux_annuel", "cible", "annee"})
    if extra:
        raise InputError(f"{where}.scenario.{extra[0]} : inconnu (taux_annuel, ou cible et annee)")
    if (rate is None) == (target is None):
        raise InputError(f"{where}.scenario : un taux_annuel (en %) ou une cible, pas les deux")
    numbers = [v for v in (rate, target) if v is not None]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise InputError(f"{where}.scenario : taux_annuel et cible sont des nombres")
    if target is not None and not isinstance(year, int):
        raise InputError(f"{where}.scenario.annee : l'année où la cible est atteinte")


def projection_tile(
    obs: Source, indicator: Any, level: str, code: str, name: str, tile: dict[str, Any],
    reader: ReadPolicy, n: int,
) -> dict[str, Any]:  # fmt: skip
    """The tile's data: the chart (observed, trend, scenario), the trend's and the
    scenario's value at the horizon, the gap between them and the trend's measured error."""
    horizon = tile.get("horizon")
    scope = peer_scope(level, obs.geography.card(level, code))  # not every commune of France
    try:
        found = obs.projection(indicator.id, level=level, within=scope, reader=reader,
                               method=tile.get("methode"),
                               to=None if horizon is None else str(horizon))  # fmt: skip
    except (InputError, AccessError, ReferentialError) as error:
        return {"svg": "", "text": f"Pas de projection : {error}"}
    observed = found.observed[found.observed.code == code].sort_values(
        "period", key=lambda p: p.map(period_time)
    )
    trend = found.points(code)
    if observed.empty or not trend:
        return {"svg": "", "text": "Pas de projection pour ce territoire (historique trop court "
                                   "ou valeurs non diffusées)."}  # fmt: skip
    points: list[dict[str, Any]] = [{"period": str(p), "value": float(v)}
                                    for p, v in zip(observed.period, observed.value,
                                                    strict=True)]  # fmt: skip
    end = trend[-1]
    unit = indicator.unit
    digits = 1 if unit in ("%", "‰") else None
    out: dict[str, Any] = {
        "horizon": found.target,
        "method": found.method,
        "trend_value": end["value"],
        "trend_text": with_unit(end["value"], unit, digits),
        "sentence": projection_sentence(
            indicator.label,
            unit,
            found.assumption,
            found.target,
            end["value"],
            end["low"],
            end["high"],
            float(found.error.mape),
            horizon_words(float(found.error.horizon)),
        ),
    }
    lines: list[dict[str, Any]] = [{"name": name, "points": points, "projection": trend}]
    wanted = tile.get("scenario")
    if wanted:
        times = np.array([period_time(p["period"]) or 0.0 for p in trend])
        start = points[-1]
        path = stats.scenario(
            start["value"], period_time(start["period"]) or 0.0, times,
            rate=wanted.get("taux_annuel"), target=wanted.get("cible"),
            target_time=None if wanted.get("annee") is None else float(wanted["annee"]),
        )  # fmt: skip
        label = _scenario_label(wanted, unit)
        lines.append({"name": f"Scénario : {label}", "points": [start],
                      "projection": [{"period": p["period"], "value": float(v)}
                                     for p, v in zip(trend, path, strict=True)]})  # fmt: skip
        gap = float(path[-1]) - end["value"]
        out.update(
            scenario_label=label,
            scenario_value=float(path[-1]),
            scenario_text=with_unit(float(path[-1]), unit, digits),
            gap_text=("+" if gap >= 0 else "−") + with_unit(abs(gap), unit, digits),
        )
    out["svg"] = line_chart(lines, title=f"Projection : {indicator.label}", unit=unit,
                            ident=f"tile-{n}")  # fmt: skip
    return out


def _scenario_label(wanted: dict[str, Any], unit: str) -> str:
    rate = wanted.get("taux_annuel")
    if rate is not None:
        sign = "+" if rate >= 0 else "−"
        return f"{sign}{french_number(abs(float(rate)), 1)} % par an"
    return f"cible de {with_unit(float(wanted['cible']), unit)} en {wanted['annee']}"
