"""What the zoning pages show: the observatory's zonings, and one zoning's zones (population,
area, units) and versions."""

from __future__ import annotations

from typing import Any

from observatoire.observatory import Observatory
from observatoire.web.frames import plain, records

__all__ = ["zoning_view", "zonings_view"]


def zonings_view(obs: Observatory) -> dict[str, Any]:
    """The observatory's zonings and their version in force."""
    return {"zonings": records(obs.geography.zonings())}


def zoning_view(obs: Observatory, name: str) -> dict[str, Any]:
    """One zoning: its zones (population, area, units), its versions."""
    zones, members = obs.geography.zoning(name)
    territories = obs.geography.territories(level=name).set_index("code")
    units = members.groupby("zone_code").unit_code.apply(lambda s: sorted(s)).to_dict()
    rows = []
    for code, label in zip(zones.code, zones.name, strict=True):
        known = code in territories.index
        rows.append(
            {
                "code": code,
                "name": label,
                "population": plain(territories.population.get(code)) if known else None,
                "area_km2": plain(territories.area_km2.get(code)) if known else None,
                "units": units.get(code, []),
            }
        )
    about = obs.geography.zonings()
    about = about[about.name == name]
    return {
        "zoning": records(about)[0] if len(about) else {"name": name},
        "zones": rows,
        "versions": records(obs.geography.zoning_versions(name)),
    }
