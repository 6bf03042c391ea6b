"""Schemathesis drives every API operation in-process from the OpenAPI schema: no input may cause a 5xx.

Requests carry a real bearer token (staff admin or a partner user), and path ids are sometimes real ones
(partner A's and B's rows), so the fuzzing reaches the services and the database, not only the 404 path.
"""

from __future__ import annotations

import datetime
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from openprm.activity.services import interactions
from openprm.alerts.models import Alert, AlertRule, Silence
from openprm.core.scoping import scope
from openprm.partners import services
from openprm.partners.models import Program
from openprm.reports.models import ReportDefinition
from openprm.reports.tests.conftest import make_definition

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def keep_test_connection() -> Any:
    """As Django's test Client does: the WSGI request cycle must not close the test's DB connection.

    (Inside the test transaction, close_old_connections() would close it on PostgreSQL.)
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(world: Any, api_for: Any, keep_test_connection: None) -> dict[str, Any]:
    """Real ids per path prefix, and the bearer tokens to fuzz with."""
    ids: dict[str, list[str]] = {"partners": [], "contacts": [], "agreements": [], "interactions": []}
    with scope(world.system.access_scope()):
        ids["programs"] = [str(p) for p in Program.objects.values_list("public_id", flat=True)]
        for partner in (world.partner_a, world.partner_b):
            ids["partners"].append(str(partner.public_id))
            contact = services.contact_create(actor=world.system, partner=partner, data={"name": "Fuzz"})
            agreement = services.agreement_create(
                actor=world.system,
                partner=partner,
                data={"title": "Fuzz", "status": "active", "end_date": datetime.date(2030, 1, 1)},
            )
            interaction = interactions.interaction_create(
                actor=world.system,
                partner=partner,
                data={
                    "kind": "call",
                    "subject": "Fuzz",
                    "occurred_at": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
                },
            )
            ids["contacts"].append(str(contact.public_id))
            ids["agreements"].append(str(agreement.public_id))
            ids["interactions"].append(str(interactions.public_id_of(interaction)))
        make_definition(world, partner_recipients=True)
        ids["reports"] = [str(p) for p in ReportDefinition.objects.values_list("public_id", flat=True)]
        ids["rules"] = [str(p) for p in AlertRule.objects.values_list("public_id", flat=True)]
        ids["alerts"] = [str(p) for p in Alert.objects.values_list("public_id", flat=True)]
        ids["silences"] = [str(p) for p in Silence.objects.values_list("public_id", flat=True)]
    headers = [
        {"Authorization": client.defaults["HTTP_AUTHORIZATION"]}
        for client in (api_for(world.admin), api_for(world.a_admin))
    ]
    return {"ids": ids, "headers": headers}


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case: Any, data: Any, fuzz_world: dict[str, Any]) -> None:
    if "public_id" in (case.path_parameters or {}) and data.draw(st.booleans(), label="real id"):
        kind = case.operation.path.split("/")[-2 if case.operation.path.endswith("}") else -3]
        known = fuzz_world["ids"].get(kind) or []  # a kind with no row here (e.g. no alert yet): a random id
        if known:
            case.path_parameters["public_id"] = data.draw(st.sampled_from(known), label="id")
    headers = data.draw(st.sampled_from(fuzz_world["headers"]), label="user")
    response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
    assert response.status_code < 500


def test_openapi_is_3_1_and_documents_every_operation(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/partners/{public_id}/interactions" in spec["paths"]
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/contacts/{public_id}"])
    assert spec["components"]["securitySchemes"]


def test_docs_page_answers(client: Any) -> None:
    assert client.get("/api/v1/docs").status_code == 200


# Inputs that once reached a 500: each must answer a clear 4xx naming what is wrong.
NESTED = "[" * 1_000 + "]" * 1_000


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status"),
    [
        ("/api/v1/events", NESTED, "application/json", 422),  # too_deep at the event, "[0]"
        ("/api/v1/events", NESTED + "\n", "application/x-ndjson", 200),  # a per-line error
        ("/api/v1/partners", NESTED, "application/json", 422),  # the shared parser: too_deep at "body"
    ],
)
def test_json_nested_too_deep_is_a_client_error(
    world: Any, api_for: Any, path: str, body: str, content_type: str, status: int
) -> None:
    response = api_for(world.admin).post(path, data=body, content_type=content_type)
    assert response.status_code == status, response.content
    assert "nested more than 100 levels deep" in response.text, response.content


def test_the_events_bad_query_answer_matches_its_schema(world: Any, api_for: Any) -> None:
    response = api_for(world.admin).post(
        "/api/v1/events?atomic=maybe", data="[]", content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["field"] == "atomic"
    spec = api_for(world.admin).get("/api/v1/openapi.json").json()
    documented = spec["paths"]["/api/v1/events"]["post"]["responses"]["422"]["content"]["application/json"]
    validator = jsonschema_rs.Draft202012Validator({**documented["schema"], "components": spec["components"]})
    validator.validate(response.json())  # the documented 422 covers the API's error shape


@pytest.mark.parametrize("value", ["%00", "%00portal_login", "%C0%80"])
def test_nul_in_the_timeline_type_filter_is_a_400(world: Any, client_for: Any, value: str) -> None:
    url = f"/activity/partners/{world.partner_a.public_id}/timeline/?type={value}"
    assert client_for(world.manager).get(url).status_code == 400


@pytest.mark.parametrize("value", ["0000-01", "0000-12", "9999-12", "1899-12"])
def test_a_close_month_outside_the_calendar_is_a_422_and_a_form_error(
    world: Any, api_for: Any, client_for: Any, value: str
) -> None:
    for user in (world.admin, world.a_admin):  # any token: staff and partner
        response = api_for(user).get("/api/v1/deals", {"close_month": value})
        assert response.status_code == 422, response.content
        assert response.json()["field"] == "close_month"
    page = client_for(world.manager).get("/deals/", {"close_month": value})
    assert page.status_code == 400 and "Close month: Use a month as YYYY-MM" in page.text
