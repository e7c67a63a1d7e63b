"""The map of a zoning, drawn from an observatory: its zones over its units."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.errors import UnknownNameError
from observatoire.outputs.maps import render_zoning_map

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["draw_zoning_map"]


def draw_zoning_map(obs: Source, name: str, outputs: Sequence[str | Path]) -> list[Path]:
    """Render zoning ``name`` to each of ``outputs`` (.png or .svg), loading its data once."""
    zonings = obs.geography.zonings()
    row = zonings[zonings.name == name]
    if row.empty:
        raise UnknownNameError("zonage", name, zonings.name.tolist())
    info = row.iloc[0]
    zones = obs.geography.geometries(level=name)
    parents = zones.departement.dropna()
    within = ("departement", str(parents.iloc[0])) if parents.nunique() == 1 else None
    units = obs.geography.geometries(level=str(info.unit_level), within=within, zoning=name)
    meta = obs.meta()
    note = "Zonage FICTIF, à titre de démonstration." if bool(info.fictitious) else ""
    source = (
        f"{meta.get('referential_source', '')} (COG {meta.get('referential_cog', '')}), "
        f"contours des communes ; zonage : {name}"
    )
    title = f"{info.label} — version {info.version} (en vigueur le {info.valid_from})"
    return [
        render_zoning_map(units, zones, output, title=title, note=note, source=source)
        for output in outputs
    ]
