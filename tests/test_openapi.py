"""The API documents every answer: each ``/api/v1`` operation of ``/api/v1/openapi.json`` has a
200 answer whose schema says what it holds (a ``*Public`` model, or a file). Built on an empty
observatory: the document does not depend on the data. That the answers match their models is
checked on the demo's data, for every role, in ``test_rights.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.web import create_app


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("openapi") / "obs"
    obs, _ = Observatory.init(home, name="Vide")
    with obs:
        answer = TestClient(create_app(obs)).get("/api/v1/openapi.json")
        assert answer.status_code == 200
        yield answer.json()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _described(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says something: an object's properties, a list's items, a type."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _described(spec, schema.get("items") or {})
    return bool(schema.get("properties") or schema.get("type") in ("string",))


def test_every_api_operation_documents_its_answer(spec: dict[str, Any]) -> None:
    operations = [
        (path, method, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    assert all(path.startswith("/api/v1/") for path, _, _ in operations)
    assert len(operations) >= 19
    for path, method, operation in operations:
        ok = operation["responses"].get("200")
        assert ok is not None, (method, path)
        schemas = [media.get("schema") or {} for media in ok.get("content", {}).values()]
        assert schemas and all(_described(spec, s) for s in schemas), (method, path, ok)
    named = {
        _resolve(spec, s).get("title")
        for _, _, operation in operations
        for media in operation["responses"]["200"].get("content", {}).values()
        for s in [media["schema"].get("items", media["schema"])]
    }
    assert {"TerritoriesPublic", "ValuesPublic", "SourcesPublic", "ImportsPublic"} <= named


def test_tables_and_files_are_documented_in_their_formats(spec: dict[str, Any]) -> None:
    values = spec["paths"]["/api/v1/indicators/{ident}/values"]["get"]["responses"]["200"]
    assert set(values["content"]) == {"application/json", "text/csv"}
    export = spec["paths"]["/api/v1/indicators/{ident}/export"]["get"]["responses"]["200"]
    assert {"text/csv; charset=utf-8", "application/geo+json"} <= set(export["content"])
    shapes = spec["paths"]["/api/v1/geometries/{level}"]["get"]["responses"]["200"]
    assert set(shapes["content"]) == {"application/geo+json"}
    deposit = spec["paths"]["/api/v1/imports"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(deposit)
