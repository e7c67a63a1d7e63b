"""Partners (producing organisations) and their data-sharing agreements."""

from __future__ import annotations

from datetime import date

import pandas as pd

from observatoire.catalog.datasets import CONFIDENTIALITY, RESERVED_SOURCES
from observatoire.errors import InputError, UnknownNameError
from observatoire.store.base import Transaction, Warehouse

__all__ = [
    "CONFIDENTIALITY",
    "add_agreement",
    "list_partners",
    "partner_codes",
    "partner_details",
    "save_partner",
]


def save_partner(warehouse: Warehouse, *, code: str, name: str, kind: str = "") -> bool:
    """Create or rename a partner; returns whether it was created."""
    code = code.strip().lower()
    if not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        raise InputError(f"code partenaire invalide « {code} » (lettres, chiffres, - et _)")
    if code in RESERVED_SOURCES:
        raise InputError(
            f"code partenaire « {code} » réservé : c'est le nom d'une source de producteur "
            f"({', '.join(sorted(RESERVED_SOURCES))}) ; choisissez par exemple « {code}93 »"
        )
    with warehouse.transaction() as tx:
        existed = len(tx.query("SELECT code FROM partner WHERE code = ?", [code])) > 0
        tx.replace(
            "partner",
            pd.DataFrame([{"code": code, "name": name, "kind": kind}]),
            "code = ?",
            [code],
        )
    return not existed


def partner_codes(reader: Warehouse | Transaction) -> list[str]:
    """The codes of the partners, in order."""
    return reader.query("SELECT code FROM partner ORDER BY code").code.tolist()


def require_partner(warehouse: Warehouse, code: str) -> str:
    """The partner's code, or an error listing the known partners."""
    known = partner_codes(warehouse)
    if code.strip().lower() not in known:
        raise UnknownNameError("partenaire", code, known or ["(aucun : observatoire partners add)"])
    return code.strip().lower()


def add_agreement(
    warehouse: Warehouse,
    *,
    partner: str,
    reference: str,
    scope: str,
    valid_from: str,
    valid_to: str | None = None,
    confidentiality: str = "membres",
) -> None:
    """Record (or replace) a data-sharing agreement of ``partner``."""
    partner = require_partner(warehouse, partner)
    if not reference.strip():
        raise InputError("référence de convention manquante")
    if not valid_from:
        raise InputError("date de début de la convention manquante (AAAA-MM-JJ)")
    for label, value in (("début", valid_from), ("fin", valid_to)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise InputError(f"date de {label} invalide « {value} » (AAAA-MM-JJ)") from None
    if valid_to and valid_to < valid_from:
        raise InputError("la convention finit avant de commencer")
    if confidentiality not in CONFIDENTIALITY:
        raise InputError(
            f"confidentialité « {confidentiality} » inconnue ; valeurs : "
            f"{', '.join(CONFIDENTIALITY)}"
        )
    row = {
        "partner": partner,
        "reference": reference,
        "scope": scope,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "confidentiality": confidentiality,
    }
    with warehouse.transaction() as tx:
        tx.replace(
            "agreement", pd.DataFrame([row]), "partner = ? AND reference = ?", [partner, reference]
        )


def list_partners(warehouse: Warehouse) -> pd.DataFrame:
    """Partners with their number of agreements and of imports in force."""
    return warehouse.query(
        "SELECT p.code, p.name, p.kind, "
        "(SELECT COUNT(*) FROM agreement a WHERE a.partner = p.code) AS agreements, "
        "(SELECT COUNT(*) FROM import_batch b WHERE b.partner = p.code AND b.status = 'active') "
        "AS imports FROM partner p ORDER BY p.code"
    )


def partner_details(warehouse: Warehouse, code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A partner's agreements, and the datasets it supplied (imports in force)."""
    code = require_partner(warehouse, code)
    agreements = warehouse.query(
        "SELECT reference, scope, valid_from, valid_to, confidentiality FROM agreement "
        "WHERE partner = ? ORDER BY valid_from",
        [code],
    )
    today = date.today().isoformat()
    agreements["en_vigueur"] = (agreements.valid_from <= today) & (
        agreements.valid_to.isna() | (agreements.valid_to >= today)
    )
    datasets = warehouse.query(
        "SELECT id, dataset, edition, file_name, imported_at FROM import_batch "
        "WHERE partner = ? AND status = 'active' ORDER BY id",
        [code],
    )
    return agreements, datasets
