"""The metrics API: the engagement answer generated from the catalog, its period rules, the operation ids
kept from the activity API, and isolation (another partner, staff restricted to their own partners)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from django.utils import timezone

from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.metrics import formulas
from openprm.metrics.catalog import metric
from openprm.metrics.schemas import EngagementOut
from openprm.testing import make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def engagement_url(partner: Any, query: str = "") -> str:
    return f"{API}/partners/{partner.public_id}/engagement{query}"


def test_the_schema_has_every_formula_field_described_by_the_catalog() -> None:
    formula_fields = [f.name for f in dataclasses.fields(formulas.Engagement) if f.name != "period"]
    assert list(EngagementOut.model_fields) == ["partner", "start", "end", *formula_fields, "weekly_activity"]
    for name in [*formula_fields, "weekly_activity"]:
        assert EngagementOut.model_fields[name].description == metric(name).describe(), name


def test_the_openapi_document_keeps_paths_operation_ids_and_documents_the_catalog(client: Any) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    engagement = schema["paths"][f"{API}/partners/{{public_id}}/engagement"]["get"]
    active = schema["paths"][f"{API}/programs/{{public_id}}/active-partners"]["get"]
    assert engagement["operationId"] == "openprm_activity_api_engagement_partner_engagement"
    assert active["operationId"] == "openprm_activity_api_engagement_program_active_partners"
    assert engagement["tags"] == active["tags"] == ["engagement"]
    props = schema["components"]["schemas"]["EngagementOut"]["properties"]
    assert props["conversion_rate"]["description"] == metric("conversion_rate").describe()
    assert props["reply_partner_seconds"]["description"].startswith("Median time the partner takes")


def test_the_answer_has_the_period_and_every_metric(world: Any, api_for: Any) -> None:
    api = api_for(world.analyst)
    data = api.get(engagement_url(world.partner_a, "?start=2026-01-01&end=2026-03-31")).json()
    period = (data["partner"], data["start"], data["end"])
    assert period == (str(world.partner_a.public_id), "2026-01-01", "2026-03-31")
    assert list(data) == list(EngagementOut.model_fields)
    assert data["contacts"] == 0 and data["last_contact"] is None and data["conversion_rate"] is None
    assert data["contact_frequency"] == "0.00" and len(data["weekly_activity"]) == 26


def test_the_default_period_is_the_90_days_to_today(world: Any, api_for: Any) -> None:
    today = timezone.now().astimezone(datetime.UTC).date()
    data = api_for(world.analyst).get(engagement_url(world.partner_a)).json()
    assert data["end"] == today.isoformat()
    assert data["start"] == (today - datetime.timedelta(days=89)).isoformat()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?start=2026-02-01&end=2026-01-01", "start"),
        ("?start=1800-01-01", "start"),
        ("?start=2026-01-01&end=9999-01-01", "end"),
        ("?start=2000-01-01&end=2026-01-01", "start"),
        ("?start=not-a-day", "start"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_bound(world: Any, api_for: Any, query: str, field: str) -> None:
    response = api_for(world.analyst).get(engagement_url(world.partner_a, query))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


def test_a_partner_user_sees_its_own_engagement_only(world: Any, api_for: Any) -> None:
    api = api_for(world.b_admin)
    assert api.get(engagement_url(world.partner_b)).status_code == 200
    other = api.get(engagement_url(world.partner_a))
    assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_staff_restricted_to_their_partners_get_404_for_others(world: Any, api_for: Any) -> None:
    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_b.owner = owner
        world.partner_b.save(update_fields=["owner"])
    assert api_for(owner).get(engagement_url(world.partner_b)).status_code == 200
    assert api_for(owner).get(engagement_url(world.partner_a)).status_code == 404
    missing = f"{API}/partners/00000000-0000-0000-0000-000000000000/engagement"
    assert api_for(world.admin).get(missing).status_code == 404
