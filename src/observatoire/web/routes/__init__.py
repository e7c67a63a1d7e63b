"""The routers of the site and the API, in the order the application includes them (the
first route matching a path answers it).

    api, api_views, api_inventory,    /api/v1 (documented in /api/v1/openapi.json)
    api_imports
    auth                              login, the visitor's account
    imports, proposals                deposits, imports, partners' proposals
    admin                             accounts, partners, the audit log
    records                           completeness of the operators' records
    quality                           the data-quality review (/qualite, /api/v1/quality)
    inventory                         sources, documents, needs, the work programme
    analyses                          funnel plots and the analyst's other views
    indicators, territories, pages    the statistics: indicators, territories, the rest
    demo_producer                     the demo's fictitious producer (Melodi-shaped)

Routers import from :mod:`observatoire.web.deps`, :mod:`~observatoire.web.responses` and the
other helpers of :mod:`observatoire.web`, never from :mod:`observatoire.web.app`.
"""

from __future__ import annotations

from fastapi import APIRouter

from observatoire.web.routes import (
    admin,
    analyses,
    api,
    api_imports,
    api_inventory,
    api_views,
    auth,
    demo_producer,
    imports,
    indicators,
    inventory,
    pages,
    proposals,
    quality,
    records,
    territories,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    api.router,
    api_views.router,
    api_inventory.router,
    auth.router,
    imports.router,
    proposals.router,
    api_imports.router,
    admin.router,
    records.router,
    quality.router,
    quality.api_router,
    inventory.router,
    analyses.router,
    indicators.router,
    territories.router,
    pages.router,
    demo_producer.router,
)
