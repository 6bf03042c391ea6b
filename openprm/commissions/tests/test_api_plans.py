"""The plans API: plans, versions with rules validated (422 naming the JSON path), publish with an
effective date (then frozen), assignments by precedence; finance edits, analysts and managers read,
partner users and other workspaces see nothing."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest

from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.services.accrual import accrue
from openprm.commissions.tests.ui_fixtures import RULES, make_plan
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Tier
from openprm.scorecards.tests.conftest import register

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client: Any, url: str, body: Any) -> Any:
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def test_finance_creates_a_plan_drafts_validates_publishes_and_assigns(world: Any, api_for: Any) -> None:
    finance = api_for(world.finance)
    created = post(
        finance, "/api/v1/commissions/plans", {"name": "Resellers", "currency": "EUR", "hold_days": 14}
    )
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    assert "never charged" in created.json()["negative_balance_rule"]

    bad_rules = {"rules": [{"key": "a", "event": ["deal_won"], "reward": {"type": "percent", "rate": 150}}]}
    bad = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/versions",
        {"rules": bad_rules, "effective_from": "2026-01-01"},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "rules.rules[0].reward.rate"
    unknown = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/versions",
        {
            "rules": {
                "rules": [
                    {"key": "a", "event": "deal_won", "reward": {"type": "flat", "amount": 5}, "colour": 1}
                ]
            },
            "effective_from": "2026-01-01",
        },
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "rules.rules[0].colour"
    extra_key = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/versions",
        {"rules": RULES, "effective_from": "2026-01-01", "x": 1},
    )
    assert extra_key.status_code == 422 and extra_key.json()["field"] == "x"

    draft = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/versions",
        {"rules": RULES, "effective_from": "2026-01-01"},
    )
    assert draft.status_code == 201, draft.content
    version = draft.json()
    assert version["status"] == "draft" and version["number"] == 1
    assert version["described"][0]["words"].startswith("When a deal is won, pay 10% of the amount")
    assert "at most 1,000 EUR per event" in version["described"][0]["words"]

    published = post(
        finance, f"/api/v1/commissions/versions/{version['id']}/publish", {"effective_from": "2026-02-01"}
    )
    assert published.status_code == 200, published.content
    assert published.json()["status"] == "published" and published.json()["effective_from"] == "2026-02-01"
    frozen = patch(finance, f"/api/v1/commissions/versions/{version['id']}", {"note": "changed"})
    assert frozen.status_code == 422
    earlier = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/versions",
        {"rules": RULES, "effective_from": "2026-01-15"},
    )
    assert earlier.status_code == 422 and earlier.json()["field"] == "effective_from"

    with scope(world.system.access_scope()):
        gold = Tier.objects.get(name="Gold")
    tier = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/assignments",
        {"level": "tier", "target_id": str(gold.public_id), "starts_on": "2026-01-01"},
    )
    assert tier.status_code == 201, tier.content
    partner = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/assignments",
        {"level": "partner", "target_id": str(world.partner_a.public_id), "starts_on": "2026-03-01"},
    )
    assert partner.status_code == 201
    wrong = post(
        finance,
        f"/api/v1/commissions/plans/{plan_id}/assignments",
        {"level": "tag", "target_id": str(gold.public_id), "starts_on": "2026-03-01"},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "target_id"
    listed = finance.get(f"/api/v1/commissions/plans/{plan_id}/assignments").json()
    assert [a["level"] for a in listed] == ["partner", "tier"]  # precedence order
    assert listed[1]["target_name"].endswith("Gold")
    ended = post(finance, f"/api/v1/commissions/assignments/{listed[0]['id']}/end", {"ends_on": "2026-06-30"})
    assert ended.status_code == 200 and ended.json()["ends_on"] == "2026-06-30"

    one = finance.get(f"/api/v1/commissions/plans/{plan_id}").json()
    assert [v["number"] for v in one["versions"]] == [1] and len(one["assignments"]) == 2
    assert finance.get("/api/v1/commissions/plans").json()["count"] == 1


def test_analysts_and_managers_read_but_may_not_write(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    for user in (world.analyst, world.manager):
        client = api_for(user)
        assert client.get("/api/v1/commissions/plans").status_code == 200
        assert client.get(f"/api/v1/commissions/plans/{plan.public_id}").status_code == 200
        assert post(client, "/api/v1/commissions/plans", {"name": "Mine"}).status_code == 403
        assert (
            post(
                client,
                f"/api/v1/commissions/plans/{plan.public_id}/versions",
                {"rules": RULES, "effective_from": "2026-06-01"},
            ).status_code
            == 403
        )
        assert (
            patch(client, f"/api/v1/commissions/plans/{plan.public_id}", {"hold_days": 1}).status_code == 403
        )


def test_partner_users_get_nothing(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    with unscoped():
        version = PlanVersion.objects.get(plan=plan)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = api_for(user)
        assert client.get("/api/v1/commissions/plans").status_code == 404
        assert client.get(f"/api/v1/commissions/plans/{plan.public_id}").status_code == 404
        assert client.get(f"/api/v1/commissions/versions/{version.public_id}").status_code == 404
        assert client.get(f"/api/v1/commissions/plans/{plan.public_id}/assignments").status_code == 404
        assert post(client, "/api/v1/commissions/plans", {"name": "Mine"}).status_code == 404
        assert (
            post(
                client, f"/api/v1/commissions/versions/{version.public_id}/simulate", {"months": 3}
            ).status_code
            == 404
        )
        assert client.get("/api/v1/commissions/forecast").status_code == 404
        assert (
            patch(client, f"/api/v1/commissions/versions/{version.public_id}", {"note": "x"}).status_code
            == 404
        )
        assert (
            post(client, f"/api/v1/commissions/versions/{version.public_id}/publish", {}).status_code == 404
        )
        assign = {"level": "partner", "target_id": str(world.partner_a.public_id), "starts_on": "2026-01-01"}
        assert (
            post(client, f"/api/v1/commissions/plans/{plan.public_id}/assignments", assign).status_code == 404
        )


def test_another_workspaces_plans_are_invisible(world: Any, api_for: Any) -> None:
    other = Workspace.objects.create(name="Other", slug="other")
    with unscoped():
        theirs = Plan.objects.create(workspace=other, name="Theirs", currency="USD")
    finance = api_for(world.finance)
    assert finance.get(f"/api/v1/commissions/plans/{theirs.public_id}").status_code == 404
    assert (
        post(
            finance,
            f"/api/v1/commissions/plans/{theirs.public_id}/versions",
            {"rules": RULES, "effective_from": "2026-06-01"},
        ).status_code
        == 404
    )
    assert finance.get("/api/v1/commissions/plans").json()["count"] == 0


def test_simulate_a_draft_against_what_was_accrued(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    finance = api_for(world.finance)
    with scope(world.system.access_scope()):
        gold = Tier.objects.get(name="Gold")
        assign = {"level": "tier", "target_id": str(gold.public_id), "starts_on": "2020-01-01"}
    assert post(finance, f"/api/v1/commissions/plans/{plan.public_id}/assignments", assign).status_code == 201
    register(world, world.partner_b, "2000.00", "closed_won")  # Globex is Gold: 10% = 200
    accrue(workspace_id=world.workspace.pk)
    richer = {"rules": [{"key": "resale", "event": ["deal_won"], "reward": {"type": "percent", "rate": 15}}]}
    draft = post(
        finance,
        f"/api/v1/commissions/plans/{plan.public_id}/versions",
        {"rules": richer, "effective_from": str(datetime.date.today())},
    ).json()
    sim = post(finance, f"/api/v1/commissions/versions/{draft['id']}/simulate", {"months": 2})
    assert sim.status_code == 200, sim.content
    body = sim.json()
    assert [(p["partner_name"], p["would_pay"], p["actual"], p["difference"]) for p in body["partners"]] == [
        ("Globex Referrals", "300.00", "200.00", "100.00")
    ]
    assert body["would_pay"] == "300.00" and body["actual"] == "200.00" and body["difference"] == "100.00"
    forecast = api_for(world.analyst).get("/api/v1/commissions/forecast?periods=2").json()
    assert sum(Decimal(r["pending"]) + Decimal(r["approved"]) for r in forecast) == Decimal("200.00")
    assert {r["currency"] for r in forecast} == {"USD"}


def test_simulate_and_forecast_answer(world: Any, api_for: Any) -> None:
    plan = make_plan(world, publish=False)
    with unscoped():
        version = PlanVersion.objects.get(plan=plan)
    finance = api_for(world.finance)
    bad = post(finance, f"/api/v1/commissions/versions/{version.public_id}/simulate", {"months": 25})
    assert bad.status_code == 422 and bad.json()["field"] == "months"
    sim = post(finance, f"/api/v1/commissions/versions/{version.public_id}/simulate", {"months": 3})
    assert sim.status_code == 200, sim.content
    assert sim.json()["months"] == 3 and sim.json()["currency"] == "USD"
    assert (
        post(
            api_for(world.analyst),
            f"/api/v1/commissions/versions/{version.public_id}/simulate",
            {"months": 3},
        ).status_code
        == 403
    )
    forecast = api_for(world.analyst).get("/api/v1/commissions/forecast?periods=2")
    assert forecast.status_code == 200, forecast.content
