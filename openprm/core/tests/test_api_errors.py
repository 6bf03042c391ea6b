"""The API's error contract: every failure is JSON with a stable `code` (and, for bad input, the `field`).

Runs on SQLite and PostgreSQL; PostgreSQL refuses NUL bytes in text, so these must never reach it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from openprm.core.scoping import unscoped
from openprm.partners.models import Partner

API = "/api/v1"


@pytest.fixture
def admin(world: Any, api_for: Any) -> Any:
    return api_for(world.admin)


def send(client: Any, method: str, url: str, raw: str | bytes) -> Any:
    return getattr(client, method)(API + url, data=raw, content_type="application/json")


# (method, url, raw body, status, code, field). {a} is partner A's public id.
BODY_CASES = [
    ("post", "/partners", "{not json", 400, "bad_request", "body"),
    ("post", "/partners", b"\xff\xfe", 400, "bad_request", "body"),
    ("post", "/partners", "[" * 100_000, 400, "bad_request", "body"),
    ("post", "/partners", "", 422, "validation_error", "body"),
    ("post", "/partners", "[]", 422, "validation_error", "body"),
    ("post", "/partners", '"a string"', 422, "validation_error", "body"),
    ("post", "/partners", "null", 422, "validation_error", "body"),
    ("patch", "/partners/{a}", "42", 422, "validation_error", "body"),
    ("patch", "/partners/{a}", '{"colour": "red"}', 422, "validation_error", "colour"),
    ("post", "/partners", '{"name": "Nul\\u0000Co", "type": "reseller"}', 422, "validation_error", "name"),
    ("post", "/partners", '{"name": "Co", "type": "re\\u0000seller"}', 422, "validation_error", "type"),
    (
        "post",
        "/partners",
        '{"name": "Co", "type": "reseller", "tags": ["a\\u0000"]}',
        422,
        "validation_error",
        "tags.0",
    ),
    (
        "post",
        "/partners",
        '{"name": "Co", "type": "reseller", "custom_fields": {"k\\u0000": 1}}',
        422,
        "validation_error",
        "custom_fields.k\x00.[key]",
    ),
    (
        "post",
        "/partners",
        '{"name": "Co", "type": "reseller", "tiers": [{"program": "\\u0000"}]}',
        422,
        "validation_error",
        "tiers.0.program",
    ),
    ("post", "/partners", '{"name": "\\ud800", "type": "reseller"}', 422, "validation_error", "name"),
    ("post", "/partners", '{"name": 12, "type": "reseller"}', 422, "validation_error", "name"),
    ("post", "/partners", '{"name": {"a": 1}, "type": "reseller"}', 422, "validation_error", "name"),
    (
        "post",
        "/partners",
        '{"name": "Co", "type": "reseller", "domains": [1e400]}',
        422,
        "validation_error",
        "domains.0",
    ),
    ("patch", "/partners/{a}", '{"notes": "' + "n" * 20_001 + '"}', 422, "validation_error", "notes"),
    ("patch", "/partners/{a}", '{"start_date": "2025-02-30"}', 422, "validation_error", "start_date"),
    ("patch", "/partners/{a}", '{"start_date": "99999-01-01"}', 422, "validation_error", "start_date"),
    ("post", "/partners/{a}/contacts", '{"name": "X", "email": "a@b@c"}', 422, "validation_error", "email"),
    (
        "post",
        "/partners/{a}/contacts",
        '{"name": "X", "email": "x\\u0000@acme.example"}',
        422,
        "validation_error",
        "email",
    ),
    (
        "post",
        "/partners/{a}/agreements",
        '{"title": "X", "renewal_notice_days": 1.5}',
        422,
        "validation_error",
        "renewal_notice_days",
    ),
    (
        "post",
        "/partners/{a}/agreements",
        '{"title": "X", "renewal_notice_days": 99999999999999999999}',
        422,
        "validation_error",
        "renewal_notice_days",
    ),
    (
        "post",
        "/partners/{a}/agreements",
        '{"title": "X", "auto_renew": "perhaps"}',
        422,
        "validation_error",
        "auto_renew",
    ),
    (
        "post",
        "/partners/{a}/interactions",
        '{"kind": "call", "subject": "X", "occurred_at": "soon"}',
        422,
        "validation_error",
        "occurred_at",
    ),
    (
        "post",
        "/partners/{a}/interactions",
        '{"kind": "call", "subject": "X", "occurred_at": 1e300}',
        422,
        "validation_error",
        "occurred_at",
    ),
    (
        "post",
        "/partners/{a}/interactions",
        '{"kind": "call", "subject": "X", "occurred_at": "2025-01-01T00:00:00Z", "body": "\\u0000"}',
        422,
        "validation_error",
        "body",
    ),
]


@pytest.mark.parametrize(("method", "url", "raw", "status", "code", "field"), BODY_CASES)
def test_bad_body_is_a_4xx_with_code_and_field(
    world: Any, admin: Any, method: str, url: str, raw: str, status: int, code: str, field: str
) -> None:
    response = send(admin, method, url.format(a=world.partner_a.public_id), raw)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/partners/not-a-uuid",
        "/partners/123",
        "/partners/{a}x",
        "/partners/%00/contacts",
        "/contacts/nope",
        "/agreements/" + "f" * 300,
        "/interactions/%F0%9F%92%A9",
    ],
)
def test_bad_id_in_path_is_a_422_naming_it(world: Any, admin: Any, url: str) -> None:
    response = admin.get(API + url.format(a=world.partner_a.public_id))
    assert response.status_code == 422, response.content
    assert (response.json()["code"], response.json()["field"]) == ("validation_error", "public_id")


@pytest.mark.parametrize("kind", ["partners", "contacts", "agreements", "interactions"])
def test_unknown_id_is_a_404_not_found(world: Any, admin: Any, kind: str) -> None:
    response = admin.get(f"{API}/{kind}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("q=%00", "q"), ("region=EU%00", "region"), ("country=" + "D" * 61, "country"), ("type=%00", "type")],
)
def test_bad_query_parameter_never_reaches_the_database(
    world: Any, admin: Any, query: str, field: str
) -> None:
    response = admin.get(f"{API}/partners?{query}")
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_rejected_bodies_change_nothing(world: Any, admin: Any) -> None:
    for method, url, raw, *_ in BODY_CASES:
        send(admin, method, url.format(a=world.partner_a.public_id), raw)
    with unscoped():
        assert Partner.objects.count() == 2
        assert Partner.objects.get(pk=world.partner_a.pk).notes == ""


def test_forbidden_is_a_403_with_a_message(world: Any, api_for: Any) -> None:
    response = api_for(world.analyst).delete(f"{API}/partners/{world.partner_a.public_id}")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "partner.delete" in response.json()["message"]


def test_unauthenticated_is_a_401_with_a_code(world: Any, client: Any) -> None:
    response = client.get(f"{API}/partners")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_validation_errors_list_every_bad_field(world: Any, admin: Any) -> None:
    response = send(admin, "post", "/partners", '{"name": "", "type": "", "status": "x", "website": 3}')
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"name", "type", "status", "website"}
    assert all(e["code"] and e["message"] for e in response.json()["errors"])


def test_domain_rule_errors_name_their_fields_too(world: Any, admin: Any) -> None:
    response = send(
        admin,
        "post",
        "/partners",
        '{"name": "X", "type": "nope", "owner_email": "who@vendor.test", "country": "ZZ"}',
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"type", "owner_email", "country"}
