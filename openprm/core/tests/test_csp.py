"""The Content-Security-Policy header: on every response, no inline script allowed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openprm.core.middleware import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_kind_of_response_carries_the_policy(world, client, client_for):
    staff = client_for(world.admin)
    responses = [
        client.get(reverse("login")),
        staff.get(reverse("partners:list")),
        client_for(world.a_admin).get(reverse("portal:home")),
        staff.get("/api/v1/docs"),
        staff.get("/api/v1/partners"),
        client.get("/api/v1/partners"),  # 401 JSON
        staff.get("/no-such-page/"),  # 404
    ]
    for response in responses:
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, response.request["PATH_INFO"]


def test_policy_forbids_inline_script_framing_and_foreign_sources():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "default-src 'self'"
    script = policy["script-src"].split()
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert all(s in ("script-src", "'self'", "'unsafe-hashes'") or s.startswith("'sha256-") for s in script)
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["base-uri"] == "base-uri 'self'" and policy["form-action"] == "form-action 'self'"
    assert policy["object-src"] == "object-src 'none'"
