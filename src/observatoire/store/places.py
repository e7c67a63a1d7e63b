"""What a producer's file may call a commune besides its current code and name: its former
names (renamed, merged since), the codes the COG changed, when each code was born. Read by the
imports that resolve names (Melodi, QPV files) and convert IRIS of merged communes.
"""

from __future__ import annotations

import pandas as pd

from observatoire.store.base import Transaction, Warehouse

__all__ = ["commune_births", "fusions", "named_places", "recoded_communes"]


def named_places(reader: Warehouse | Transaction) -> pd.DataFrame:
    """What a name may designate: level, code, name, within (the EPCI and département each
    lies in, as ``level:code`` joined by ``|``), former, part and current, of the communes,
    arrondissements, EPCI, départements, régions and countries, and of the former communes:
    a renamed commune's former name gives its current code; a commune merged since (a commune
    déléguée or associée, a commune the COG's events merged) gives its own former code, with
    ``part`` and the ``current`` commune it now belongs to."""
    current = reader.query(
        "SELECT t.level, t.code, t.name, STRING_AGG(p.parent_level || ':' || p.parent_code, '|') "
        "AS within FROM territory t LEFT JOIN territory_parent p ON p.level = t.level AND "
        "p.code = t.code AND p.parent_level IN ('epci', 'departement', 'region') "
        "WHERE t.level IN ('commune', 'arm', 'epci', 'departement', 'region', 'pays') "
        "GROUP BY t.level, t.code, t.name"
    ).assign(former=False, part=False, current="")
    former = reader.query(
        "WITH names AS (SELECT com_ap AS code, name_av AS name, FALSE AS part, com_ap AS now "
        "FROM cog_event WHERE mod = '10' AND typecom_ap = 'COM' AND name_av <> name_ap "
        "UNION SELECT code, name, TRUE, current_code FROM commune_part WHERE name IS NOT NULL "
        "UNION SELECT com_av, name_av, TRUE, com_ap FROM cog_event WHERE mod IN ('31', '32', "
        "'33', '34') AND typecom_av = 'COM' AND typecom_ap = 'COM' AND name_av IS NOT NULL) "
        "SELECT 'commune' AS level, n.code, n.name, n.part, n.now AS current, "
        "STRING_AGG(p.parent_level || ':' || p.parent_code, '|') AS within "
        "FROM names n JOIN territory t ON t.level = 'commune' AND t.code = n.now "
        "LEFT JOIN territory_parent p ON p.level = 'commune' AND "
        "p.code = n.now AND p.parent_level IN ('epci', 'departement', 'region') "
        "GROUP BY n.code, n.name, n.part, n.now"
    ).assign(former=True)
    return pd.concat([current, former], ignore_index=True)


def commune_births(reader: Warehouse | Transaction) -> dict[str, str]:
    """Each commune code of the imported COG, and the first day it was valid (ISO date, the
    empty string for codes valid since 1943)."""
    rows = reader.query(
        "SELECT code, MIN(COALESCE(date_start, '')) AS born FROM cog_commune "
        "WHERE typecom = 'COM' GROUP BY code"
    )
    return dict(zip(rows.code, rows.born, strict=True))


def recoded_communes(reader: Warehouse | Transaction) -> dict[str, str]:
    """Commune codes the COG changed without changing the commune (a change of département,
    of chef-lieu): former code → new code."""
    rows = reader.query(
        "SELECT DISTINCT com_av, com_ap FROM cog_event WHERE mod IN ('41', '50') "
        "AND typecom_av = 'COM' AND typecom_ap = 'COM' AND com_av <> com_ap"
    )
    return dict(zip(rows.com_av, rows.com_ap, strict=False))


def fusions(reader: Warehouse | Transaction) -> pd.DataFrame:
    """The communes the COG merged into another: former (code), into (code), date."""
    return reader.query(
        "SELECT DISTINCT com_av AS former, com_ap AS into, date_eff AS date FROM cog_event "
        "WHERE mod IN ('31', '32', '33', '34') AND typecom_av = 'COM' AND typecom_ap = 'COM' "
        "AND com_av <> com_ap"
    )
