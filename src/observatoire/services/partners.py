"""Partner organisations, their data-sharing agreements and who owns each dataset: the
service the command line and the administration pages use (SQL in
:mod:`observatoire.store.partners` and :mod:`observatoire.store.ownership`)."""

from __future__ import annotations

import pandas as pd

from observatoire.errors import InputError
from observatoire.ingest.ownership import owner_label
from observatoire.store import ownership, partners
from observatoire.store.base import Warehouse

__all__ = ["Partners"]


class Partners:
    """The partners of one observatory's warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def save(self, code: str, name: str, kind: str = "") -> bool:
        """Create or rename a partner; returns whether it was created."""
        return partners.save_partner(self.warehouse, code=code, name=name, kind=kind)

    def require(self, code: str) -> str:
        """The partner's code, or an error listing the known partners."""
        return partners.require_partner(self.warehouse, code)

    def add_agreement(
        self,
        partner: str,
        *,
        reference: str,
        scope: str,
        valid_from: str,
        valid_to: str | None = None,
        confidentiality: str = "membres",
    ) -> None:
        """Record (or replace) a data-sharing agreement of ``partner``."""
        partners.add_agreement(
            self.warehouse, partner=partner, reference=reference, scope=scope,
            valid_from=valid_from, valid_to=valid_to, confidentiality=confidentiality,
        )  # fmt: skip

    def table(self) -> pd.DataFrame:
        """Partners, their agreements and their imports in force."""
        return partners.list_partners(self.warehouse)

    def details(self, code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """A partner's agreements and the datasets in force it provides."""
        return partners.partner_details(self.warehouse, code)

    def names(self) -> dict[str, str]:
        """Each partner's name by its code."""
        return ownership.partner_names(self.warehouse)

    def owner(self, dataset: str) -> str | None:
        """Who owns ``dataset`` (a partner's code; None: the observatory); an error when it
        was never imported."""
        owners = ownership.dataset_owners(self.warehouse, [dataset])
        if dataset not in owners:
            raise InputError(f"le jeu « {dataset} » n'a jamais été importé")
        return owners[dataset]

    def owner_label(self, owner: str | None) -> str:
        """« l'observatoire » or the partner's name and code."""
        return owner_label(owner, self.names())

    def give(self, dataset: str, partner: str | None, *, by: str) -> tuple[str | None, str | None]:
        """Give ``dataset`` to ``partner`` (None: the observatory); returns its previous owner
        and its new one (the partner's code as registered)."""
        new = self.require(partner) if partner else None
        at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        return ownership.set_owner(self.warehouse, dataset, new, at=at, by=by), new
