"""Who may read what of the stored values: the one place where read authorisation and the
statistical secret are applied to a reader.

A reader is a :class:`~observatoire.secret.policy.ReadPolicy`: an audience (the public,
members, the analyst) and, for a partner producer, its organisation, which reads its own
deposits whatever their diffusion. A restricted audience reads the values stored by
``observatoire compute``, with the masks of the secret, and never an indicator drawn from a
dataset it may not see; the analyst reads everything, computed now when it is not stored.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.compute import complete_frame
from observatoire.errors import AccessError, ReferentialError
from observatoire.secret.policy import ReadPolicy
from observatoire.store.base import Warehouse
from observatoire.store.computed import (
    PENDING_NOTE,
    computed_indicator_levels,
    computed_scope,
    confidentiality_of,
    read_computed,
    variable_datasets,
    variable_diffusion,
)
from observatoire.store.territories import scope_of

__all__ = ["ComputedScopes", "ReadAccess"]


class ComputedScopes:
    """The codes computed at each level when ``compute`` was limited to a territory
    (``--within``, the ``compute_within`` setting), read once per data version."""

    def __init__(self) -> None:
        # (data version, scope) → level → codes
        self._cache: dict[tuple[str, str], dict[str, set[str]]] = {}

    def codes(self, warehouse: Warehouse, level: str) -> set[str] | None:
        """The computed codes of ``level``; None: every territory is computed."""
        key = computed_scope(warehouse)
        if not key:
            return None
        cache = (warehouse.data_version(), key)
        if cache not in self._cache:  # read once per data version, not at every request
            scope_level, _, scope_code = key.partition(":")
            inside = scope_of(warehouse, scope_level, scope_code)
            self._cache = {cache: inside.groupby("level").code.agg(set).to_dict()}
        return set(self._cache[cache].get(level, set()))


class ReadAccess:
    """Read authorisation over one warehouse and catalogue, for any reader."""

    def __init__(
        self,
        warehouse: Warehouse,
        catalogue: Catalogue,
        *,
        scopes: ComputedScopes | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.catalogue = catalogue
        self.scopes = scopes or ComputedScopes()

    # -- what a reader may see -----------------------------------------------------------------
    def refused_variables(self, reader: ReadPolicy) -> set[str]:
        """The variables of imports in force that ``reader`` may not read (one query); a
        partner organisation reads its own deposits."""
        levels = variable_diffusion(self.warehouse)
        refused = ~levels.c.isin(reader.readable)
        if reader.organisation is not None:
            refused &= levels.partner.ne(reader.organisation) | levels.partner.isna()
        return set(levels.variable[refused])

    def under_secret(self, ident: str, reader: ReadPolicy) -> bool:
        """Whether a rule of the statistical secret applies to ``ident`` for ``reader``."""
        catalogue = self.catalogue
        return any(
            catalogue.get(s).secret.applies_to(reader.audience)  # type: ignore[union-attr]
            for s in catalogue.secret_sources(ident)
        )

    def check_readable(self, ident: str, reader: ReadPolicy) -> None:
        """AccessError when indicator ``ident`` reads a dataset ``reader`` may not see."""
        variables = self.catalogue.variables_of(ident) & self.refused_variables(reader)
        refused = confidentiality_of(self.warehouse, variables) - reader.readable
        if refused:
            raise AccessError(
                f"indicateur {ident} : calculé à partir de données à diffusion restreinte "
                f"({', '.join(sorted(refused))}), non visibles pour {reader.label}"
            )

    def check_raw_readable(self, variable: str, reader: ReadPolicy) -> None:
        """AccessError when ``reader`` may not read the raw values of ``variable``: under
        the secret (read the indicator instead), or from a dataset it may not see."""
        counts = [
            i.id for i in self.catalogue.indicators.values()
            if i.secret is not None and i.secret.applies_to(reader.audience)
            and variable in i.formula.variables
        ]  # fmt: skip
        if counts:
            raise AccessError(
                f"variable {variable} soumise au secret statistique pour "
                f"{reader.label} : lisez l'indicateur {counts[0]}"
            )
        held = {variable} & self.refused_variables(reader)
        refused = confidentiality_of(self.warehouse, held) - reader.readable
        if refused:
            raise AccessError(
                f"variable {variable} : données à diffusion restreinte "
                f"({', '.join(sorted(refused))}), non visibles pour {reader.label}"
            )

    def datasets_of_indicators(self, reader: ReadPolicy) -> dict[str, list[str]]:
        """For each indicator computed for ``reader``, the datasets in force it is drawn
        from (through the variables it reads)."""
        fed = variable_datasets(self.warehouse)
        by_variable: dict[str, set[str]] = {}
        for variable, dataset in zip(fed.variable, fed.dataset, strict=True):
            by_variable.setdefault(variable, set()).add(dataset)
        return {
            ident: sorted(
                {d for v in self.catalogue.variables_of(ident) for d in by_variable.get(v, ())}
            )
            for ident in sorted(self.available(reader))
        }

    def available(self, reader: ReadPolicy) -> dict[str, list[str]]:
        """The indicators ``reader`` can read, computed, with their levels: those fed only by
        datasets it may see."""
        computed = computed_indicator_levels(self.warehouse)
        refused = self.refused_variables(reader)
        out: dict[str, list[str]] = {}
        for ident, level in zip(computed.indicator, computed.level, strict=True):
            if ident in self.catalogue and not refused & set(self.catalogue.variables_of(ident)):
                out.setdefault(ident, []).append(level)
        return out

    # -- the computed scope --------------------------------------------------------------------
    def computed_codes(self, level: str) -> set[str] | None:
        """The codes of ``level`` whose values are computed when ``compute`` was limited to a
        territory; None: every territory."""
        return self.scopes.codes(self.warehouse, level)

    def outside_scope(self, what: str) -> str:
        """The message for a territory outside a limited compute."""
        return (
            f"{what} : hors du périmètre de calcul ({computed_scope(self.warehouse)}, "
            "paramètre compute_within) ; lancez « observatoire compute --everywhere » pour "
            "calculer tous les territoires"
        )

    # -- values as a restricted reader sees them -----------------------------------------------
    def audience_view(
        self,
        ident: str,
        level: str,
        within: tuple[str, str] | None,
        period: str | None,
        reader: ReadPolicy,
        *,
        complete: bool = True,
    ) -> pd.DataFrame:
        """The stored values of ``ident`` as a restricted reader may see them; without the
        territories that have none unless ``complete``."""
        self.check_readable(ident, reader)
        secret = reader.value if self.under_secret(ident, reader) else None
        stored = read_computed(self.warehouse, ident, level, period=period, within=within,
                               masked_for=secret)  # fmt: skip
        if stored is None:
            raise ReferentialError(
                f"indicateur {ident} au niveau {level} : valeurs non calculées, lancez "
                "« observatoire compute » (le secret statistique s'applique aux valeurs calculées)"
            )
        frame = stored.drop(columns=["indicator", "level", "computed_at"])
        if complete:
            frame = complete_frame(self.warehouse, frame, level, within)
        inside = self.computed_codes(level)
        if inside is not None:  # compute limited to a territory: the others have no value
            frame = frame[frame.code.isin(inside)].reset_index(drop=True)
            if frame.empty:
                raise ReferentialError(self.outside_scope(f"indicateur {ident} au niveau {level}"))
        return frame

    def profile_for(self, rows: pd.DataFrame, reader: ReadPolicy) -> pd.DataFrame:
        """Rows of a profile ``reader`` may see: readable datasets, secret applied (values
        whose masks are not made yet are withheld)."""
        refused = self.refused_variables(reader)
        catalogue = self.catalogue
        keep = [i for i in rows.indicator.unique() if not refused & catalogue.variables_of(i)]
        rows = rows[rows.indicator.isin(keep)].copy()
        under = {i: self.under_secret(i, reader) for i in rows.indicator.unique()}
        secret = rows.indicator.map(under).astype(bool)
        pending = secret & ~rows.secret_ready
        rows.loc[pending, ["value", "coverage", "ci_low", "ci_high"]] = float("nan")
        rows.loc[pending, "note"] = PENDING_NOTE
        return rows.drop(columns=["secret_ready"])

    def fetcher(
        self, ident: str, reader: ReadPolicy, *, restricted_threshold: bool
    ) -> Callable[[str, tuple[str, str] | None, str | None], pd.DataFrame] | None:
        """How comparisons read values for ``reader`` (None: computed, for the analyst);
        ``restricted_threshold``: a coverage threshold other than the default was asked."""
        if not reader.restricted:
            return None
        if restricted_threshold:
            raise AccessError("un seuil de couverture est réservé au chargé d'études")

        def fetch(level: str, within: tuple[str, str] | None, period: str | None) -> pd.DataFrame:
            return self.audience_view(ident, level, within, period, reader)

        return fetch
