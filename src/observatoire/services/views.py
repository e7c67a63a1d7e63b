"""The views analysts reach for, as asked of an observatory (``obs.views``): funnel plots,
the significance heatmap, social gradients, the QPV against the rest of their communes, and
which levels and periods have data. Each parses what the user typed (levels, territories)
and delegates to its engine module, with the reader's rights applied by
:mod:`observatoire.engine.access`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from observatoire.engine.access import ReadAccess
from observatoire.engine.availability import availability
from observatoire.engine.funnel import POOLED, Funnel, funnel
from observatoire.engine.gradient import SocialGradient, social_gradient
from observatoire.engine.heatmap import Heatmap, heatmap
from observatoire.engine.qpv_gaps import QpvGaps, qpv_gaps
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.services.geography import Geography, Within

__all__ = ["Views"]


class Views:
    """The analyst views of one observatory (``access`` gives its read authorisation)."""

    def __init__(self, access: Callable[[], ReadAccess], geography: Geography) -> None:
        self._access = access
        self.geography = geography

    def funnel(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: Within = None,
        period: str | None = None,
        reference: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> Funnel:
        """The funnel plot of a rate for the territories of ``level`` inside ``within``:
        each placed by its denominator against ``reference`` (a territory, ``ensemble`` for
        the territories pooled; by default ``within``, else France), with the exact 95 % and
        99.8 % control limits (see :mod:`observatoire.engine.funnel`)."""
        level = self.geography.level_id(level)
        chosen = reference if reference in (None, POOLED) else self.geography.resolve(reference)
        return funnel(self._access(), ident, level, within=self.geography.within(within, level),
                      period=period, reference=chosen, reader=reader)  # fmt: skip

    def heatmap(
        self,
        *,
        level: str = "commune",
        within: Within = None,
        theme: str | None = None,
        indicators: list[str] | None = None,
        reference: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> Heatmap:
        """The territories of ``level`` inside ``within`` × the indicators of ``theme`` (or
        those listed), each cell significantly better, similar, worse than ``reference`` (by
        default ``within``, else France) or not testable (see
        :mod:`observatoire.engine.heatmap`)."""
        level = self.geography.level_id(level)
        ref = self.geography.resolve(reference) if reference else None
        return heatmap(self._access(), level, within=self.geography.within(within, level),
                       theme=theme, indicators=indicators, reference=ref,
                       reader=reader)  # fmt: skip

    def gradient(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: Within = None,
        by: str | None = None,
        groups: int = 10,
        period: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> SocialGradient:
        """The indicator by groups of territories of equal population ranked by ``by`` (by
        default the median standard of living: deciles from the poorest), with the slope and
        relative indices of inequality (see :mod:`observatoire.engine.gradient`)."""
        level = self.geography.level_id(level)
        return social_gradient(self._access(), ident, level,
                               within=self.geography.within(within, level), by=by,
                               groups=groups, period=period, reader=reader)  # fmt: skip

    def qpv_gaps(
        self,
        ident: str,
        *,
        within: Within = None,
        period: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> QpvGaps:
        """Each quartier prioritaire inside ``within`` (a département, a région) against the
        rest of its communes, and each ensemble of QPV against the rest of its département
        (see :mod:`observatoire.engine.qpv_gaps`)."""
        return qpv_gaps(self._access(), ident, within=self.geography.within(within, "qpv"),
                        period=period, reader=reader)  # fmt: skip

    def availability(self, ident: str, *, reader: ReadPolicy = ANALYST) -> pd.DataFrame:
        """For indicator ``ident``, how many territories have a value at each level and
        period, as ``reader`` may see them (see :mod:`observatoire.engine.availability`)."""
        return availability(self._access(), ident, reader)
