"""Custom zonings in the warehouse: their versions (tables ``zoning``, ``zoning_version``,
``zoning_zone``, ``zoning_member``) and the territories of the version in force.

The import (:mod:`observatoire.ingest.zoning`) decides which version is new and which is in
force; these functions read and write what it decides, inside its transaction. The reads the
rest of the platform makes of zonings are in :mod:`observatoire.store.territories`.
"""

from __future__ import annotations

import pandas as pd

from observatoire.store.base import Readable, Transaction
from observatoire.store.territories import SHOWN, zones_of
from observatoire.territories.zoning import ZoningDraft

__all__ = [
    "add_version",
    "all_versions",
    "remember_shown",
    "replace_zone_territories",
    "version_content",
    "versions_of",
    "zoning_names",
]


def versions_of(reader: Readable, name: str) -> pd.DataFrame:
    """The rows of ``zoning_version`` of zoning ``name``, oldest first (none: unknown)."""
    return reader.query("SELECT * FROM zoning_version WHERE zoning = ? ORDER BY version", [name])


def all_versions(reader: Readable) -> pd.DataFrame:
    """The rows of ``zoning_version`` of every zoning, by zoning then version."""
    return reader.query("SELECT * FROM zoning_version ORDER BY zoning, version")


def zoning_names(reader: Readable) -> list[str]:
    """The names of the zonings imported, in order."""
    return reader.query("SELECT name FROM zoning ORDER BY name").name.tolist()


def version_content(reader: Readable, name: str, version: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The zones (code, name) and members (zone_code, unit_code, weight) of version
    ``version`` of zoning ``name``, in code order."""
    members = reader.query(
        "SELECT zone_code, unit_code, weight FROM zoning_member WHERE zoning = ? AND version = ? "
        "ORDER BY zone_code, unit_code",
        [name, version],
    )
    return zones_of(reader, name, version), members


def add_version(
    tx: Transaction,
    name: str,
    draft: ZoningDraft,
    *,
    version: int,
    valid_from: str,
    source: str,
    checksum: str,
    label: str | None,
    fictitious: bool,
) -> None:
    """Write ``draft`` as version ``version`` of zoning ``name``, valid from ``valid_from``:
    the zoning's row (created, or given ``label`` and ``fictitious``; without ``label`` it keeps
    its own, its name for a new zoning), the version open until now closed on that date, and the
    new version with its zones and members."""
    existing = tx.query("SELECT label FROM zoning WHERE name = ?", [name])
    zoning_label = label or (existing.label.iloc[0] if len(existing) else name)
    tx.replace(
        "zoning",
        pd.DataFrame({"name": [name], "label": [zoning_label], "fictitious": [fictitious]}),
        "name = ?",
        [name],
    )
    tx.execute(
        "UPDATE zoning_version SET valid_to = ? WHERE zoning = ? AND valid_to IS NULL",
        [valid_from, name],
    )
    tx.insert(
        "zoning_version",
        pd.DataFrame(
            {
                "zoning": [name],
                "version": [version],
                "unit_level": [draft.unit_level],
                "valid_from": [valid_from],
                "valid_to": [None],
                "imported_at": [pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")],
                "source": [source],
                "checksum": [checksum],
            }
        ),
    )
    tx.insert("zoning_zone", draft.zones.assign(zoning=name, version=version))
    tx.insert("zoning_member", draft.members.assign(zoning=name, version=version))


def remember_shown(tx: Transaction, name: str, version: int | None) -> None:
    """Record which version the territories of zoning ``name`` are (none: empty); read back
    by :func:`observatoire.store.territories.shown_version`."""
    tx.execute("DELETE FROM meta WHERE key = ?", [SHOWN + name])
    shown = "" if version is None else str(version)
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [SHOWN + name, shown])


def replace_zone_territories(
    tx: Transaction,
    name: str,
    territories: pd.DataFrame,
    parents: pd.DataFrame,
    geometries: pd.DataFrame,
) -> None:
    """Make ``territories`` (with their ``parents`` and ``geometries``) the territories of
    level ``name``, in place of its previous ones and of every tie to them."""
    for table in ("territory", "territory_geometry"):
        tx.execute(f"DELETE FROM {table} WHERE level = ?", [name])
    tx.execute("DELETE FROM territory_parent WHERE level = ? OR parent_level = ?", [name, name])
    tx.insert("territory", territories)
    tx.insert("territory_parent", parents)
    tx.insert("territory_geometry", geometries)
