"""Security headers on every answer and nothing loaded from elsewhere (issue 18, item 7).

Every kind of answer (page, JSON twin, CSV, static file, error, refused body) carries the
Content-Security-Policy (no inline script), the framing ban, ``nosniff`` and the referrer policy.
The API's documentation is Swagger UI served from the package: in Chromium the page renders the
API's title while every request it makes goes to the server itself, and no page of the walk
breaks the policy (a violation shows in the console).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.web import create_app
from observatoire.web.headers import CONTENT_SECURITY_POLICY

from .conftest import needs_data, serving

pytestmark = needs_data

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def test_every_kind_of_answer_carries_the_headers(census_home: Path) -> None:
    with Observatory.open(census_home) as obs:
        client = TestClient(create_app(obs))
        answers = {
            "page": client.get("/"),
            "indicator": client.get("/indicateurs/taux_chomage_15_64"),
            "json twin": client.get("/indicateurs/taux_chomage_15_64.json"),
            "csv": client.get("/indicateurs/taux_chomage_15_64.csv"),
            "api": client.get("/api/v1/indicators?limit=2"),
            "static": client.get("/static/map.js"),
            "leaflet": client.get("/vendor/leaflet/leaflet.js"),
            "swagger": client.get("/vendor/swagger-ui/swagger-ui-bundle.js"),
            "docs": client.get("/api/v1/docs"),
            "not found": client.get("/indicateurs/inexistant"),
            "forbidden": client.get("/imports"),
            "too large": client.post("/connexion", content=b"x" * (2 * 1024**2)),
        }
    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses["not found"] == 404 and statuses["forbidden"] == 403
    assert statuses["too large"] == 413
    for name, answer in answers.items():
        for header, value in EXPECTED.items():
            assert answer.headers.get(header) == value, (name, header, answer.headers)
    csp = CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "frame-ancestors 'none'" in csp
    docs = answers["docs"].text
    assert "<script>" not in docs and "http" not in docs  # no inline script, no other host
    assert answers["swagger"].status_code == 200 and len(answers["swagger"].content) > 500_000


def test_a_server_error_carries_the_headers_too(census_home: Path) -> None:
    with Observatory.open(census_home) as obs:
        app = create_app(obs)

        @app.get("/panne")
        def broken() -> None:
            raise RuntimeError("panne simulée")

        answer = TestClient(app, raise_server_exceptions=False).get("/panne")
    assert answer.status_code == 500
    for header, value in EXPECTED.items():
        assert answer.headers.get(header) == value, (header, answer.headers)


def test_pages_run_under_the_policy_and_load_nothing_from_elsewhere(
    census_home: Path, tmp_path: Path, browser: Any
) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    with serving(home, tmp_path / "serve.log") as base:
        page = browser.new_page()
        hosts: set[str] = set()
        violations: list[str] = []
        page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
        page.on(
            "console",
            lambda m: (
                violations.append(m.text)
                if "Content Security Policy" in m.text or "Refused to" in m.text
                else None
            ),
        )
        page.goto(base + "/api/v1/docs")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "observatoire" in page.locator(".swagger-ui .info .title").inner_text()
        page.locator(".opblock-summary").first.wait_for()  # the operations are listed
        for path in ("/", "/indicateurs/taux_chomage_15_64", "/territoires/departement/93"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
        page.goto(base + "/indicateurs/taux_chomage_15_64")
        page.locator("path.leaflet-interactive").first.wait_for()  # the map's script ran
        page.close()
    assert hosts == {urlparse(base).netloc}, hosts
    assert violations == [], violations
