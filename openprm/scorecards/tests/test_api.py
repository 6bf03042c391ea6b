"""The targets and scorecards API: CRUD, bulk, acceptance, configuration, and isolation — partner users see
only their own partner (404 for another's ids), never notes; restricted staff only their partners."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.core.scoping import scope
from openprm.partners.models import Program, Tier
from openprm.scorecards.models import Target
from openprm.scorecards.tests.conftest import this_month

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client: Any, url: str, body: Any) -> Any:
    return client.patch(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def targets(data: Any, api_for: Any) -> dict[str, Any]:
    admin = api_for(data.admin)
    period = this_month().key
    a = post(
        admin,
        "/api/v1/targets",
        {
            "metric": "won_revenue",
            "period": period,
            "partner_id": str(data.partner_a.public_id),
            "value": "2000",
            "notes": "secret A",
        },
    )
    b = post(
        admin,
        "/api/v1/targets",
        {
            "metric": "won_revenue",
            "period": period,
            "partner_id": str(data.partner_b.public_id),
            "value": "100",
            "notes": "secret B",
        },
    )
    with scope(data.system.access_scope()):
        silver = Tier.objects.get(name="Silver")
    tier = post(
        admin,
        "/api/v1/targets",
        {
            "metric": "logins",
            "period": period,
            "tier_id": str(silver.public_id),
            "value": "4",
            "notes": "tier note",
        },
    )
    assert (a.status_code, b.status_code, tier.status_code) == (201, 201, 201), (a.content, tier.content)
    return {"a": a.json(), "b": b.json(), "tier": tier.json(), "admin": admin}


def test_staff_set_and_read_targets_with_attainment(targets: dict[str, Any]) -> None:
    a = targets["a"]
    assert a["actual"] == "1000.00" and a["attainment"] == "50.0" and a["notes"] == "secret A"
    assert a["baseline"] == "0.0000" and a["pace"]["status"] in ("behind", "on_track", "ahead")
    listed = targets["admin"].get("/api/v1/targets?scope=partner").json()
    assert listed["count"] == 2
    tier = targets["tier"]
    assert tier["scope"] == "tier" and tier["partners"] == 1  # A is the only Silver partner


def test_partner_users_see_their_own_targets_without_notes(
    targets: dict[str, Any], data: Any, api_for: Any
) -> None:
    b = api_for(data.b_admin)
    listed = b.get("/api/v1/targets").json()
    assert [t["partner"]["name"] for t in listed["items"]] == ["Globex Referrals"]
    assert all("notes" not in t for t in listed["items"])
    assert b.get(f"/api/v1/targets/{targets['a']['id']}").status_code == 404
    assert b.get(f"/api/v1/targets/{targets['tier']['id']}").status_code == 404  # A's tier, not B's
    own = b.get(f"/api/v1/targets/{targets['b']['id']}")
    assert own.status_code == 200 and "notes" not in own.json()
    a = api_for(data.a_admin)
    assert "notes" not in a.get(f"/api/v1/targets/{targets['tier']['id']}").json()
    assert a.get(f"/api/v1/targets/{targets['tier']['id']}/history").status_code == 404
    assert (
        post(
            b,
            "/api/v1/targets",
            {
                "metric": "won_revenue",
                "period": "2026",
                "partner_id": str(data.partner_b.public_id),
                "value": "1",
            },
        ).status_code
        == 404
    )


def test_partner_admin_accepts_and_a_new_value_withdraws(
    targets: dict[str, Any], data: Any, api_for: Any
) -> None:
    b = api_for(data.b_admin)
    assert post(b, f"/api/v1/targets/{targets['a']['id']}/accept", {}).status_code == 404
    accepted = post(b, f"/api/v1/targets/{targets['b']['id']}/accept", {})
    assert accepted.status_code == 200 and accepted.json()["accepted_by"]
    changed = patch(targets["admin"], f"/api/v1/targets/{targets['b']['id']}", {"value": "300"})
    assert changed.json()["accepted_at"] is None
    history = targets["admin"].get(f"/api/v1/targets/{targets['b']['id']}/history").json()
    assert [h["action"] for h in history] == ["update", "update", "create"]
    assert history[0]["changes"]["value"] == {"before": "100.0000", "after": "300.0000"}


def test_validation_errors_name_the_field(targets: dict[str, Any], data: Any) -> None:
    admin = targets["admin"]
    base = {
        "metric": "won_revenue",
        "period": this_month().key,
        "partner_id": str(data.partner_a.public_id),
        "value": "5",
    }
    assert post(admin, "/api/v1/targets", base).json()["field"] == "metric"  # already set
    assert post(admin, "/api/v1/targets", {**base, "metric": "won_revenu"}).json()["field"] == "metric"
    assert post(admin, "/api/v1/targets", {**base, "period": "2026-W01"}).json()["field"] == "period"
    both = post(
        admin, "/api/v1/targets", {**base, "metric": "logins", "program_id": str(data.partner_a.public_id)}
    )
    assert both.status_code == 422 and both.json()["field"] == "program_id"
    nul = post(admin, "/api/v1/targets", {**base, "notes": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["field"] == "notes"
    assert patch(admin, f"/api/v1/targets/{targets['a']['id']}", {"value": None}).status_code == 422


def test_bulk_is_all_or_nothing_and_idempotent(data: Any, api_for: Any) -> None:
    admin = api_for(data.admin)
    rows = [
        {"metric": "won_revenue", "period": "2026", "partner_external_id": "A-1", "value": "50000"},
        {
            "metric": "logins",
            "period": "2026-Q4",
            "program": "Partner Program",
            "value": "10",
            "owner_email": "manager@vendor.test",
        },
    ]
    first = post(admin, "/api/v1/targets/bulk", {"items": rows})
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "dry_run": False}
    assert post(admin, "/api/v1/targets/bulk", {"items": rows}).json()["unchanged"] == 2
    bad = post(
        admin,
        "/api/v1/targets/bulk",
        {
            "items": [
                *rows,
                {"metric": "logins", "period": "2026", "partner_external_id": "Z-9", "value": "x"},
            ]
        },
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"items.2.partner_external_id", "items.2.value"}
    with scope(data.system.access_scope()):
        assert Target.objects.count() == 2


def test_scorecard_endpoints_and_isolation(data: Any, api_for: Any) -> None:
    admin, b = api_for(data.admin), api_for(data.b_admin)
    a_id, b_id = data.partner_a.public_id, data.partner_b.public_id
    card = admin.get(f"/api/v1/scorecards/partners/{a_id}").json()
    assert card["partner"] == "Acme Resellers" and card["dimensions"][0]["key"] == "financial"
    table = admin.get("/api/v1/scorecards?sort=name").json()
    assert [r["partner"] for r in table] == ["Acme Resellers", "Globex Referrals"]
    assert b.get(f"/api/v1/scorecards/partners/{a_id}").status_code == 404
    assert b.get(f"/api/v1/scorecards/partners/{a_id}/tier-progress").status_code == 404
    assert b.get(f"/api/v1/scorecards/partners/{a_id}/trends").status_code == 404
    own = b.get(f"/api/v1/scorecards/partners/{b_id}")
    assert own.status_code == 200 and "Acme" not in own.content.decode()
    assert [r["partner"] for r in b.get("/api/v1/scorecards").json()] == ["Globex Referrals"]
    assert b.get("/api/v1/scorecards/leaderboard").status_code == 404
    assert b.get("/api/v1/scorecards/pareto").status_code == 404
    assert admin.get("/api/v1/scorecards?period=2026-13").json()["field"] == "period"
    board = admin.get("/api/v1/scorecards/leaderboard?metric=won_revenue").json()
    assert [r["partner"] for r in board["rows"]] == ["Acme Resellers", "Globex Referrals"]
    assert admin.get("/api/v1/scorecards/pareto").json()["makers"][0]["partner"] == "Acme Resellers"
    assert admin.get("/api/v1/scorecards/leaderboard?metric=nope").json()["field"] == "metric"


def test_config_and_tier_criteria(data: Any, api_for: Any) -> None:
    admin, analyst, b = api_for(data.admin), api_for(data.analyst), api_for(data.b_admin)
    with scope(data.system.access_scope()):
        program = Program.objects.get(name="Partner Program")
        gold = Tier.objects.get(name="Gold", program=program)
    url = f"/api/v1/scorecards/programs/{program.public_id}/config"
    assert admin.get(url).json()["is_default"] is True
    body = {
        "dimensions": [
            {
                "key": "financial",
                "weight": 1,
                "metrics": [{"key": "won_revenue", "weight": 1, "method": "percentile"}],
            }
        ],
        "cap": 120,
    }
    saved = admin.put(url, data=json.dumps(body), content_type="application/json")
    assert saved.status_code == 200 and saved.json()["is_default"] is False and saved.json()["cap"] == 120
    bad = {
        "dimensions": [{"key": "financial", "weight": 1, "metrics": [{"key": "last_contact", "weight": 1}]}]
    }
    wrong = admin.put(url, data=json.dumps(bad), content_type="application/json")
    assert wrong.status_code == 422 and wrong.json()["field"] == "dimensions.0.metrics.0.key"
    assert analyst.put(url, data=json.dumps(body), content_type="application/json").status_code == 403
    assert b.get(url).status_code == 404
    made = post(
        admin,
        "/api/v1/scorecards/tier-criteria",
        {"tier_id": str(gold.public_id), "metric": "won_revenue", "minimum": "5000", "grain": "year"},
    )
    assert made.status_code == 201
    progress = admin.get(f"/api/v1/scorecards/partners/{data.partner_a.public_id}/tier-progress").json()
    assert progress["next_tier"] == "Gold" and progress["recommendation"]["gaps"] == [
        "$4,000 more won revenue to reach Gold"
    ]
    assert b.get("/api/v1/scorecards/tier-criteria").status_code == 404
    assert admin.delete(f"/api/v1/scorecards/tier-criteria/{made.json()['id']}").status_code == 204
