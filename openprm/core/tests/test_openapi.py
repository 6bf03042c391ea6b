"""The OpenAPI document: built once per process, and every operation documents its JSON errors."""

from __future__ import annotations

import pytest

from config.api import DOCUMENTED_ERRORS, api

pytestmark = pytest.mark.django_db


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_422_and_the_common_errors(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = dict(_operations(schema))
    assert len(operations) > 40
    for name, operation in operations.items():
        responses = operation["responses"]
        for code in DOCUMENTED_ERRORS:
            assert str(code) in responses, f"{name} does not document {code}"
        assert "schema" in responses["422"]["content"]["application/json"], name
        # ninja's whole 4xx fan-out (418 I'm a teapot, 451...) is not documented as if it could happen
        assert "418" not in responses and "451" not in responses, name


def test_schema_is_built_once_per_process(client, monkeypatch):
    import ninja.main

    calls = []
    real = ninja.main.get_schema

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    monkeypatch.setattr(api, "_schema_cache", {}, raising=False)
    first = client.get("/api/v1/openapi.json")
    second = client.get("/api/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(calls) == 1
