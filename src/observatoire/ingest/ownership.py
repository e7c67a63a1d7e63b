"""Who may write a dataset: judged before anything is written, dry runs included.

The observatory (an import without a partner) may create and replace any dataset. A partner
organisation writes directly only in its own namespace: the datasets it owns (it imported
them first, or an analyst accepted its proposal), and the files of its own making (a generic
table becomes ``<organisation>.<file>.<level>``, its variables ``<organisation>.<COLUMN>``).
What would create or replace a dataset in a producer's namespace (INSEE, CNAF, France
Travail…) or one of the observatory's becomes a **proposal**: nothing is written until an
analyst accepts it. What belongs to another partner is refused, naming its owner. A variable
dictionary relabels the variables of every dataset: the observatory's only.

    verdict = judge(warehouse, layout=layout, partner="caf93", path=path)   # DIRECT, PROPOSAL
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from observatoire.catalog.datasets import RESERVED_SOURCES
from observatoire.errors import AccessError
from observatoire.ingest.connectors import Layout
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.ownership import (
    dataset_owners,
    partner_names,
    source_owners,
    variable_owners,
)

__all__ = [
    "OwnershipError",
    "Verdict",
    "check_dictionary",
    "judge",
    "own_namespace",
    "owner_label",
    "proposal_needed",
]

GENERIC_SOURCE = "donnees"  # the generic connector's source: nobody's namespace


class Verdict(StrEnum):
    """What a partner's file may do: be imported, or be proposed to an analyst."""

    DIRECT = "direct"
    PROPOSAL = "proposition"


class OwnershipError(AccessError):
    """A partner's file would replace what another owner imported, or write what only an
    analyst may accept."""

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path.name
        super().__init__(f"{path.name} : {message}")


def owner_label(owner: str | None, names: dict[str, str]) -> str:
    """How an owner is named in messages.

    >>> owner_label(None, {}), owner_label("caf93", {"caf93": "CAF de la Seine-Saint-Denis"})
    ("l'observatoire", "l'organisme « caf93 » (CAF de la Seine-Saint-Denis)")
    """
    if owner is None:
        return "l'observatoire"
    name = names.get(owner, "")
    return f"l'organisme « {owner} »" + (f" ({name})" if name and name != owner else "")


def own_namespace(
    warehouse: Warehouse | Transaction, layout: Layout, partner: str
) -> tuple[Layout, bool]:
    """A generic table of ``partner`` in its organisation's namespace: its dataset and
    variables named after the organisation, so that two partners' columns of the same name
    never write the same variable; and whether the layout is the partner's own (a generic
    table, or one an analyst described for it with a descriptor). Other layouts are
    returned as they are. An organisation whose code names a producer's source (``caf``), or
    variables someone else imported, has no namespace of its own: its tables are proposals."""
    if layout.descriptor is not None:
        return layout, True
    if not layout.columns or any(c.source != GENERIC_SOURCE for c in layout.columns):
        return layout, False
    if partner in RESERVED_SOURCES or source_owners(warehouse, partner) - {partner}:
        return layout, False
    _, _, rest = layout.dataset.partition(".")
    renamed = replace(
        layout,
        dataset=f"{partner}.{rest}",
        columns=[replace(c, source=partner) for c in layout.columns],
    )
    return renamed, True


def judge(
    warehouse: Warehouse | Transaction,
    *,
    layout: Layout,
    partner: str | None,
    own: bool,
    path: Path,
) -> Verdict:
    """Whether ``partner``'s file may be imported (:attr:`Verdict.DIRECT`), must be proposed
    (:attr:`Verdict.PROPOSAL`), or is refused (:class:`OwnershipError`, naming the owner).
    ``own``: the layout is in the partner's namespace (:func:`own_namespace`)."""
    if partner is None:
        return Verdict.DIRECT
    dataset = layout.dataset
    variables: Sequence[str] = sorted({c.variable for c in layout.columns})
    owners = dataset_owners(warehouse, [dataset])
    known, owner = dataset in owners, owners.get(dataset)
    names: dict[str, str] | None = None
    if known and owner is not None and owner != partner:
        names = partner_names(warehouse)
        raise OwnershipError(
            f"le jeu de données « {dataset} » appartient à {owner_label(owner, names)}, qui "
            f"l'a importé le premier : votre organisme (« {partner} ») ne peut pas le "
            "remplacer ; voyez avec cet organisme, ou envoyez le fichier à l'observatoire",
            path=path,
        )
    fed = variable_owners(warehouse, variables)
    others = fed[[o is not None and o != partner for o in fed.owner]]
    if len(others):
        first = others.iloc[0]
        names = names or partner_names(warehouse)
        more = len(set(others.variable)) - 1
        also = f" (et {more} autre(s) variable(s))" if more > 0 else ""
        raise OwnershipError(
            f"la variable « {first.variable} »{also} est déjà alimentée par le jeu "
            f"« {first.dataset} » de {owner_label(first.owner, names)} : votre organisme ne "
            "peut pas en remplacer les valeurs",
            path=path,
        )
    observatory = (known and owner is None) or any(o is None for o in fed.owner)
    if observatory or (not known and not own):
        return Verdict.PROPOSAL
    return Verdict.DIRECT


def proposal_needed(dataset: str, path: Path) -> OwnershipError:
    """The refusal of a proposal imported without an analyst's acceptance."""
    return OwnershipError(
        f"le jeu de données « {dataset} » est celui d'un producteur ou de l'observatoire : le "
        "dépôt d'un partenaire y est une proposition, importée quand un chargé d'études "
        "l'accepte (page Imports de l'extranet, ou « observatoire import --partner … "
        "--accepter »)",
        path=path,
    )


def check_dictionary(partner: str | None, path: Path) -> None:
    """A dictionary of variables (``COD_VAR``/``LIB_VAR``) relabels every dataset's variables:
    refused to partners."""
    if partner is not None:
        raise OwnershipError(
            "un dictionnaire de variables change les libellés des variables de tous les jeux "
            "de données : seul l'observatoire peut l'importer",
            path=path,
        )
