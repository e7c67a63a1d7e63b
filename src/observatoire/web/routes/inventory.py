"""The inventory's pages, one router: sources and information systems
(:mod:`~observatoire.web.routes.sources`), the document library
(:mod:`~observatoire.web.routes.documents`), observation needs and the work programme
(:mod:`~observatoire.web.routes.needs`). Each page has its JSON twin (``.json``), tables their
CSV; their API is :mod:`observatoire.web.routes.api_inventory`.
"""

from __future__ import annotations

from fastapi import APIRouter

from observatoire.web.routes import documents, needs, sources

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(sources.router)
router.include_router(documents.router)
router.include_router(needs.router)
