"""What the outputs read: the narrow face of the observatory they are given.

Maps, portraits, dashboards and exports take a :class:`Source`, never the whole facade: the
few reads below, each as a reader (:class:`~observatoire.secret.policy.ReadPolicy`) may see
it. The observatory (:class:`observatoire.observatory.Observatory`) is one; a test or another
front end can give anything that answers the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from observatoire.engine.compute import DEFAULT_THRESHOLD
from observatoire.secret.policy import ANALYST, ReadPolicy

if TYPE_CHECKING:
    import geopandas

    from observatoire.catalog.indicators import Catalogue
    from observatoire.engine.funnel import Funnel
    from observatoire.engine.projection import Projection

__all__ = ["Places", "Settings", "Source", "Views"]


class Settings(Protocol):
    """The observatory's folder and settings (its name, its territory, its address)."""

    @property
    def path(self) -> Path: ...

    @property
    def settings(self) -> dict[str, str]: ...


class Places(Protocol):
    """The territories an output reads (see
    :class:`observatoire.services.geography.Geography`)."""

    def resolve(self, text: str, *, below: str | None = None) -> tuple[str, str]: ...

    def card(self, level: str, code: str) -> dict[str, Any]: ...

    def zonings(self) -> pd.DataFrame: ...

    def territories(
        self,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        zoning: str | None = None,
    ) -> pd.DataFrame: ...

    def geometries(
        self,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        simplified: bool = True,
        zoning: str | None = None,
    ) -> geopandas.GeoDataFrame: ...


class Views(Protocol):
    """The analyst views an output draws (see :class:`observatoire.services.views.Views`)."""

    def funnel(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        reference: str | None = None,
        reader: ReadPolicy = ANALYST,
    ) -> Funnel: ...


class Source(Protocol):
    """The reads an output makes (see the methods of the same name of the observatory)."""

    @property
    def home(self) -> Settings: ...

    @property
    def geography(self) -> Places: ...

    def catalogue(self) -> Catalogue: ...

    def meta(self) -> dict[str, str]: ...

    def freeze_date(self, ident: str | None = None) -> str | None: ...

    def available(self, *, reader: ReadPolicy = ANALYST) -> dict[str, list[str]]: ...

    def indicator(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        period: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        published: bool = True,
        reader: ReadPolicy = ANALYST,
        provenance: bool = False,
        at: str | None = None,
    ) -> pd.DataFrame: ...

    def profile(
        self, territory: str, *, reader: ReadPolicy = ANALYST, provenance: bool = False
    ) -> pd.DataFrame: ...

    def projection(
        self,
        ident: str,
        *,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        to: str | None = None,
        method: str | None = None,
        confidence: float = 0.8,
        reader: ReadPolicy = ANALYST,
    ) -> Projection: ...

    def profiles(
        self, level: str, within: tuple[str, str] | None, *, reader: ReadPolicy = ANALYST
    ) -> pd.DataFrame: ...

    def evolution(
        self,
        ident: str,
        *,
        start: str,
        end: str,
        level: str = "commune",
        within: str | tuple[str, str] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        reader: ReadPolicy = ANALYST,
    ) -> pd.DataFrame: ...

    @property
    def views(self) -> Views: ...
