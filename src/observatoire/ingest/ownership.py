"""Who may replace a dataset: checked before anything is written, dry runs included.

The observatory (an import without a partner) may create and replace any dataset. A partner
organisation may create datasets and replace only its own: a dataset another owner imported
first, or a variable another owner's dataset writes, is refused with a message that names the
owner. A variable dictionary relabels the variables of every dataset: the observatory's only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from observatoire.errors import AccessError
from observatoire.store.base import Transaction, Warehouse
from observatoire.store.ownership import dataset_owners, partner_names, variable_owners

__all__ = ["OwnershipError", "check_dictionary", "check_owner", "owner_label"]


class OwnershipError(AccessError):
    """A partner's file would replace what another owner imported."""

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


def check_owner(
    warehouse: Warehouse | Transaction,
    *,
    dataset: str,
    variables: Sequence[str],
    partner: str | None,
    path: Path,
) -> None:
    """Refuse the import of ``dataset`` (writing ``variables``) on behalf of ``partner`` when
    another owner holds the dataset or one of the variables."""
    if partner is None:
        return
    owners = dataset_owners(warehouse, [dataset])
    if dataset in owners and owners[dataset] != partner:
        names = partner_names(warehouse)
        raise OwnershipError(
            f"le jeu de données « {dataset} » appartient à "
            f"{owner_label(owners[dataset], names)}, qui l'a importé le premier : votre "
            f"organisme (« {partner} ») ne peut pas le remplacer ; envoyez le fichier à "
            "l'observatoire, qui l'importera s'il y a lieu",
            path=path,
        )
    fed = variable_owners(warehouse, variables)
    foreign = fed[[o != partner for o in fed.owner]]
    if len(foreign):
        first = foreign.iloc[0]
        names = partner_names(warehouse)
        more = len(set(foreign.variable)) - 1
        others = f" (et {more} autre(s) variable(s))" if more > 0 else ""
        raise OwnershipError(
            f"la variable « {first.variable} »{others} est déjà alimentée par le jeu "
            f"« {first.dataset} » de {owner_label(first.owner, names)} : votre organisme ne "
            "peut pas en remplacer les valeurs ; renommez vos colonnes ou décrivez le "
            "fichier par un descripteur (docs/imports.md)",
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
