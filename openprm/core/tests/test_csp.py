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
    assert script == ["script-src", "'self'"]  # no inline handler allowed, not even by its hash
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["base-uri"] == "base-uri 'self'" and policy["form-action"] == "form-action 'self'"
    assert policy["object-src"] == "object-src 'none'"


def test_no_template_carries_inline_script_or_event_handlers():
    import re
    from pathlib import Path

    import openprm

    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    inline_script = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
    found = []
    for path in Path(openprm.__file__).parent.rglob("templates/**/*.html"):
        text = path.read_text()
        found += [f"{path.name}: {m.group(0)}" for m in handler.finditer(text)]
        found += [f"{path.name}: {m.group(0)}" for m in inline_script.finditer(text)]
    assert found == []  # the CSP (script-src 'self') would block them: use data attributes and app.js
