"""The web extranet and API: ``create_app(observatory)``; ``observatoire serve`` runs it."""

from observatoire.web.app import create_app

__all__ = ["create_app"]
