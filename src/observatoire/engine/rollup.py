"""Roll-ups: the sums of a coarser level added up from those a finer level already holds.

Every commune of a région is in exactly one of its départements, every région in France: the
sums over communes that :mod:`observatoire.engine.batch` keeps for the départements (sum of
the known values, population covered, members known, the paired sums of ratios) add up, by
parent, to those of the régions, then of France, without reading the communes again. Each use
checks on the referential that the partition holds (:func:`nests`); a level it does not hold
for (an EPCI across départements, a zoning) is aggregated from its members.
"""

from __future__ import annotations

import ibis.expr.types as ir

from observatoire.engine.relations import table
from observatoire.store.base import Transaction

__all__ = ["ROLL_UP", "nests", "rolled"]

# A coarser level → the finer one whose sums it adds up
ROLL_UP = {"region": "departement", "pays": "region"}


def rolled(kept: ir.Table, columns: dict[str, str], keys: list[str], finer: str,
            level: str) -> ir.Table:  # fmt: skip
    """The sums ``kept`` of the territories of level ``finer``, added up by their parent of
    ``level`` (every other column of ``columns`` is a sum)."""
    parents = table("territory_parent")
    parents = parents.filter(parents.level == finer, parents.parent_level == level)
    own = table("territory").filter(lambda t: t.level == level).select(t_code="code")
    joined = kept.join(parents, kept.target_code == parents.code)
    joined = joined.join(own, joined.parent_code == own.t_code)
    sums = {c: joined[c].sum().cast(kind) for c, kind in columns.items()
            if c not in keys and c != "target_code"}  # fmt: skip
    out = joined.group_by([joined.parent_code.name("target_code"), *keys]).aggregate(**sums)
    return out.select(*columns)


def nests(tx: Transaction, source: str, finer: str, level: str) -> bool:
    """Whether the members (``source``) of each territory of ``level`` are exactly those of
    its parts of level ``finer``, each once, with weight 1 (sums of parts are then sums of
    members)."""
    sql = (
        "WITH direct AS (SELECT code, parent_code AS t FROM territory_parent "
        "WHERE level = ? AND parent_level = ? AND weight = 1), "
        "via AS (SELECT a.code, b.parent_code AS t FROM territory_parent a "
        "JOIN territory f ON f.level = ? AND f.code = a.parent_code "
        "JOIN territory_parent b ON b.level = ? AND b.code = a.parent_code "
        "AND b.parent_level = ? AND b.weight = 1 "
        "WHERE a.level = ? AND a.parent_level = ? AND a.weight = 1) "
        "SELECT (SELECT COUNT(*) FROM (SELECT * FROM direct EXCEPT ALL SELECT * FROM via) d) "
        "+ (SELECT COUNT(*) FROM (SELECT * FROM via EXCEPT ALL SELECT * FROM direct) v) "
        "+ (SELECT COUNT(*) FROM territory_parent WHERE weight <> 1 AND ((level = ? AND "
        "parent_level IN (?, ?)) OR (level = ? AND parent_level = ?))) AS n"
    )
    params = [source, level, finer, finer, level, source, finer, source, finer, level, finer,
              level]  # fmt: skip
    return int(tx.query(sql, params).n.iloc[0]) == 0
