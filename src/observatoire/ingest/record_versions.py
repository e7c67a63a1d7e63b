"""The versions of a collection's records: which imports in force a new extract replaces (it
covers all their (operator, month) pairs) or overlaps in part (refused), who owns each
operator (a partner deposits only its own), and the withdrawal of an import, which brings back
the ones it had replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from observatoire.errors import InputError
from observatoire.ingest.batch import withdrawing
from observatoire.ingest.record_measures import publish_measures
from observatoire.quality.schema import CollectionSchema
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.batches import set_status
from observatoire.store.partners import partner_codes
from observatoire.store.records import operators_of, save_operators, scopes_in_force

__all__ = ["check_owners", "covered_imports", "register_operators", "rollback_records"]


def covered_imports(
    reader: Warehouse | Transaction, collection: str, scope: set[tuple[str, str]], path: Path
) -> list[int]:
    """Imports in force that the new file replaces (it covers all their (operator, month));
    an error if it covers one only in part."""
    rows = scopes_in_force(reader, collection)
    replaced = []
    for batch, part in rows.groupby("batch"):
        pairs = set(zip(part.operator, part.month, strict=True))
        common = pairs & scope
        if not common:
            continue
        if pairs <= scope:
            replaced.append(int(batch))
            continue
        operator, month = sorted(common)[0]
        outside = sorted(pairs - scope)[0]
        raise InputError(
            f"le fichier recouvre en partie l'import n° {batch} (par ex. {operator}, {month}), "
            f"qui couvre aussi {outside[0]}, {outside[1]} : importez un fichier couvrant tout "
            f"l'import n° {batch}, ou annulez-le d'abord (« observatoire imports rollback "
            f"{batch} »)",
            path=path,
        )
    return sorted(replaced)


def check_owners(
    reader: Warehouse | Transaction,
    collection: str,
    codes: list[str],
    partner: str | None,
    path: Path,
) -> None:
    """A partner may deposit only the records of its own operators, or of operators never seen
    before (they become its own) — checked before anything else is said of the file."""
    if partner is None:
        return
    known = operators_of(reader, collection)
    # codes compared without case: « op01 » is the operator « OP01 », not a new one
    owners = {
        str(code).casefold(): (str(code), None if pd.isna(owner) else str(owner))
        for code, owner in zip(known.code, known.partner, strict=True)
    }
    for code in codes:
        if code.casefold() not in owners:
            continue
        spelled, owner = owners[code.casefold()]
        if owner != partner:
            whose = f"du partenaire {owner}" if owner else "d'aucun partenaire"
            also = f" (écrit « {spelled} »)" if spelled != code else ""
            raise InputError(
                f"l'opérateur {code} est déjà connu{also} et relève {whose} : le partenaire "
                f"{partner} ne peut pas déposer ses enregistrements (un chargé d'études peut le "
                "rattacher : « observatoire records link »)",
                path=path,
            )
        if spelled != code:
            raise InputError(
                f"l'opérateur « {code} » est connu sous le code « {spelled} » : écrivez-le à "
                "l'identique, ou l'import créerait un second opérateur",
                path=path,
            )


def register_operators(
    tx: Transaction,
    collection: str,
    names: dict[str, str],
    codes: list[str],
    partner: str | None,
) -> None:
    """Register the file's operators (name, partner organisation; see :func:`check_owners`)."""
    known = operators_of(tx, collection).set_index("code")
    partners = set(partner_codes(tx))
    rows = []
    for code in codes:
        owner = known.partner.get(code) if code in known.index else None
        owner = None if pd.isna(owner) else owner
        owner = owner or partner or (code.lower() if code.lower() in partners else None)
        name = names.get(code) or (known.name.get(code) if code in known.index else None) or code
        rows.append({"collection": collection, "code": code, "name": name, "partner": owner})
    save_operators(tx, collection, pd.DataFrame(rows))


def rollback_records(
    warehouse: Warehouse, batch: int, schema: CollectionSchema
) -> tuple[int, list[int]]:
    """Withdraw import ``batch`` of records; the imports it replaced come back in force."""
    with withdrawing(warehouse, batch) as (tx, row):
        replaced = [int(b) for b in json.loads(row.report or "{}").get("replaced", [])]
        for old in replaced:
            set_status(tx, old, "active", if_status="replaced")
        publish_measures(tx, schema)
    return batch, replaced
