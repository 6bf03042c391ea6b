"""The alerts API: rules CRUD with validation errors naming the field, alerts, acknowledge, snooze,
silences; analysts read only; partner users get nothing; another workspace's rules are invisible."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.alerts.evaluation import evaluate_rules
from openprm.alerts.models import AlertRule
from openprm.alerts.tests.conftest import NOW
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.scorecards.tests.conftest import register

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Win rate below 20%",
    "severity": "critical",
    "conditions": {
        "combine": "and",
        "items": [{"kind": "threshold", "metric": "win_rate", "grain": "quarter", "op": "<", "value": "0.2"}],
    },
    "interval_minutes": 15,
    "partner_filters": {"type": "reseller"},
}


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_rule_crud_and_validation_errors_name_the_field(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    created = post(admin, "/api/v1/alerts/rules", RULE)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["conditions"]["items"][0]["metric"] == "win_rate"
    bad = post(
        admin,
        "/api/v1/alerts/rules",
        RULE | {"conditions": {"items": [{"kind": "threshold", "metric": "win_rat", "op": "<", "value": 1}]}},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "conditions.items.0.metric"
    assert "win_rate" in bad.json()["message"]  # the closest keys are named
    interval = post(admin, "/api/v1/alerts/rules", RULE | {"interval_minutes": 7})
    assert interval.status_code == 422 and interval.json()["field"] == "interval_minutes"
    changed = admin.patch(
        f"/api/v1/alerts/rules/{rule_id}",
        data=json.dumps({"enabled": False}),
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    listed = admin.get("/api/v1/alerts/rules").json()
    assert rule_id in [r["id"] for r in listed["items"]] and listed["count"] == 6  # with the 5 starter rules
    assert admin.delete(f"/api/v1/alerts/rules/{rule_id}").status_code == 204
    assert admin.get(f"/api/v1/alerts/rules/{rule_id}").status_code == 404


def test_analyst_reads_but_may_not_write(world: Any, api_for: Any) -> None:
    analyst = api_for(world.analyst)
    assert analyst.get("/api/v1/alerts/rules").status_code == 200
    assert post(analyst, "/api/v1/alerts/rules", RULE).status_code == 403


def test_alerts_acknowledge_snooze_and_silences(world: Any, api_for: Any) -> None:
    register(world, world.partner_b, "100.00")  # the workspace has deals: won_count is 0, not "no data"
    manager = api_for(world.manager)
    rule = post(
        manager,
        "/api/v1/alerts/rules",
        RULE
        | {"conditions": {"items": [{"kind": "threshold", "metric": "won_count", "op": "=", "value": "0"}]}},
    ).json()
    evaluate_rules(workspace_id=world.workspace.pk, now=NOW)
    listed = manager.get(f"/api/v1/alerts?state=open&rule={rule['id']}").json()
    assert [a["partner_name"] for a in listed["items"]] == ["Acme Resellers"]  # the reseller only
    alert_id = listed["items"][0]["id"]
    one = manager.get(f"/api/v1/alerts/{alert_id}").json()
    assert one["state"] == "firing" and one["history"][0]["to_state"] == "firing"
    assert one["values"]["conditions"][0]["value"] == "0"
    acked = post(manager, f"/api/v1/alerts/{alert_id}/acknowledge", {})
    assert acked.status_code == 200 and acked.json()["acknowledged_at"]
    past = post(manager, f"/api/v1/alerts/{alert_id}/snooze", {"until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["field"] == "until"
    assert (
        post(manager, f"/api/v1/alerts/{alert_id}/snooze", {"until": "2099-01-01T00:00:00Z"}).status_code
        == 200
    )
    silence = post(
        manager,
        "/api/v1/alerts/silences",
        {"rule_id": rule["id"], "ends_at": "2099-01-01T00:00:00Z", "reason": "quarter close"},
    )
    assert silence.status_code == 201, silence.content
    assert (
        post(manager, "/api/v1/alerts/silences", {"ends_at": "2099-01-01T00:00:00Z"}).json()["field"]
        == "rule_id"
    )
    assert manager.get("/api/v1/alerts/silences").json()["count"] == 1
    assert manager.delete(f"/api/v1/alerts/silences/{silence.json()['id']}").status_code == 204


def test_partner_users_get_nothing(world: Any, api_for: Any) -> None:
    rule = post(api_for(world.admin), "/api/v1/alerts/rules", RULE).json()
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = api_for(user)
        assert client.get("/api/v1/alerts/rules").status_code == 404
        assert client.get(f"/api/v1/alerts/rules/{rule['id']}").status_code == 404
        assert client.get("/api/v1/alerts").status_code == 404
        assert post(client, "/api/v1/alerts/rules", RULE).status_code == 404


def test_another_workspaces_rules_are_invisible(world: Any, api_for: Any) -> None:
    other = Workspace.objects.create(name="Other", slug="other")
    with unscoped():
        theirs = AlertRule.objects.filter(workspace=other).first()
    assert theirs is not None  # the starter rules of the new workspace
    admin = api_for(world.admin)
    assert admin.get(f"/api/v1/alerts/rules/{theirs.public_id}").status_code == 404
    assert str(theirs.public_id) not in [
        r["id"] for r in admin.get("/api/v1/alerts/rules?limit=500").json()["items"]
    ]
