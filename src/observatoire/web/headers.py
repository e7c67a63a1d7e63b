"""Security headers on every answer, and the API's documentation served from a package.

Every response carries a Content-Security-Policy that runs no inline script and loads nothing
from elsewhere (scripts, styles, images, fonts and requests: this server only), forbids being
framed, and turns off content sniffing and cross-site referrers. Inline ``style`` attributes
stay allowed (legend swatches take the colour of their class); inline ``<script>`` never is:
data reach scripts as ``<script type="application/json">``, which is not run.

``/api/v1/docs`` is Swagger UI from the ``fastapi-swagger`` package's files (not a CDN), started
by a script of our own (``static/api-docs.js``), so the extranet works offline.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_DOCS_HTML", "CONTENT_SECURITY_POLICY", "SecurityHeaders", "swagger_files"]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response (errors included);
    over HTTPS, Strict-Transport-Security too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _HEADERS + ([_HSTS] if scope.get("scheme") == "https" else [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in extra if name not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def swagger_files() -> Path:
    """The folder of Swagger UI's files (``swagger-ui-bundle.js``, ``swagger-ui.css``)."""
    return Path(str(importlib.resources.files("fastapi_swagger") / "resources"))


API_DOCS_HTML = """<!doctype html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API de l'observatoire · documentation</title>
  <link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec="/api/v1/openapi.json"></div>
  <script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""
