"""The plan pages: staff read (analysts and managers without the buttons), finance creates a plan, writes
a draft (JSON errors name the path), publishes it with an effective date and assigns it; partner users
get 404 everywhere; another workspace's plan is missing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.commissions.models import Plan, PlanAssignment, PlanVersion
from openprm.commissions.tests.ui_fixtures import RULES, make_plan
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped

pytestmark = pytest.mark.django_db


def _urls(plan: Plan, version: PlanVersion) -> list[str]:
    return [
        "/commissions/",
        f"/commissions/plans/{plan.public_id}/",
        f"/commissions/versions/{version.public_id}/",
        "/commissions/forecast/",
    ]


def test_staff_read_and_only_finance_and_admins_see_the_buttons(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    with unscoped():
        version = PlanVersion.objects.get(plan=plan)
    for user in (world.admin, world.manager, world.finance, world.analyst):
        client = client_for(user)
        for url in _urls(plan, version):
            page = client.get(url)
            assert page.status_code == 200, (user.email, url)
        detail = client.get(f"/commissions/plans/{plan.public_id}/").content.decode()
        assert "When a deal is won, pay 10% of the amount; at most 1,000 USD per event." in detail
        assert "a partner &gt; a partner group (tag) &gt; a tier &gt; a program" in detail
        assert ("New draft version" in detail) is (user in (world.admin, world.finance))
        assert ('href="/commissions/"' in client.get("/partners/").content.decode()) is True  # the nav link
    for user in (world.analyst, world.manager):
        client = client_for(user)
        assert client.get("/commissions/plans/new/").status_code == 404
        assert client.get(f"/commissions/plans/{plan.public_id}/versions/new/").status_code == 404
        assert client.get(f"/commissions/versions/{version.public_id}/what-if/").status_code == 404
        assert client.post(f"/commissions/plans/{plan.public_id}/", {"action": "assign"}).status_code == 404


def test_partner_users_get_404_and_no_nav_link(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    with unscoped():
        version = PlanVersion.objects.get(plan=plan)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = client_for(user)
        for url in [
            *_urls(plan, version),
            "/commissions/plans/new/",
            f"/commissions/versions/{version.public_id}/what-if/",
            f"/commissions/plans/{plan.public_id}/edit/",
            f"/commissions/plans/{plan.public_id}/versions/new/",
            f"/commissions/versions/{version.public_id}/what-if/?chart=1",
            "/commissions/forecast/?chart=USD",
        ]:
            assert client.get(url).status_code == 404, (user.email, url)
        assert 'href="/commissions/"' not in client.get("/portal/").content.decode()


def test_another_workspaces_plan_is_missing(world: Any, client_for: Any) -> None:
    other = Workspace.objects.create(name="Other", slug="other")
    with unscoped():
        theirs = Plan.objects.create(workspace=other, name="Theirs", currency="USD")
    assert client_for(world.finance).get(f"/commissions/plans/{theirs.public_id}/").status_code == 404


def test_finance_creates_drafts_publishes_and_assigns(world: Any, client_for: Any) -> None:
    client = client_for(world.finance)
    form = client.get("/commissions/plans/new/")
    assert form.status_code == 200
    made = client.post(
        "/commissions/plans/new/",
        {
            "name": "Affiliates",
            "currency": "eur",
            "hold_days": "30",
            "min_payout": "50",
            "selection": "highest",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    with scope(world.system.access_scope()):
        plan = Plan.objects.get(name="Affiliates")
    assert plan.currency == "EUR"
    new = client.get(f"/commissions/plans/{plan.public_id}/versions/new/").content.decode()
    assert "Worked example" in new and "&quot;tiered&quot;" in new  # starts from the example
    bad = {
        "rules": {"rules": [{"key": "a", "event": ["deal_won"], "reward": {"type": "percent", "rate": -1}}]}
    }
    page = client.post(
        f"/commissions/plans/{plan.public_id}/versions/new/",
        {"rules": json.dumps(bad["rules"]), "effective_from": "2026-01-01"},
    ).content.decode()
    assert "rules[0].reward.rate" in page
    assert (
        "Not valid JSON"
        in client.post(
            f"/commissions/plans/{plan.public_id}/versions/new/",
            {"rules": "{", "effective_from": "2026-01-01"},
        ).content.decode()
    )
    saved = client.post(
        f"/commissions/plans/{plan.public_id}/versions/new/",
        {"rules": json.dumps(RULES), "effective_from": "2026-01-01", "note": "first"},
    )
    assert saved.status_code == 302
    with scope(world.system.access_scope()):
        version = PlanVersion.objects.get(plan=plan)
    draft = client.get(f"/commissions/versions/{version.public_id}/").content.decode()
    assert "Publish version 1" in draft and "What-if on past events" in draft
    unconfirmed = client.post(
        f"/commissions/versions/{version.public_id}/", {"action": "publish", "effective_from": "2026-02-01"}
    )
    assert unconfirmed.status_code == 200 and "This field is required" in unconfirmed.content.decode()
    published = client.post(
        f"/commissions/versions/{version.public_id}/",
        {"action": "publish", "effective_from": "2026-02-01", "confirm": "on"},
    )
    assert published.status_code == 302
    with scope(world.system.access_scope()):
        version.refresh_from_db()
    assert version.status == "published" and str(version.effective_from) == "2026-02-01"
    frozen = client.post(f"/commissions/versions/{version.public_id}/", {"action": "save", "rules": "{}"})
    assert frozen.status_code == 404  # a published version has no edit form
    assigned = client.post(
        f"/commissions/plans/{plan.public_id}/",
        {"action": "assign", "target": f"partner:{world.partner_a.public_id}", "starts_on": "2026-02-01"},
    )
    assert assigned.status_code == 302
    with scope(world.system.access_scope()):
        assignment = PlanAssignment.objects.get(plan=plan)
    assert assignment.partner_id == world.partner_a.pk
    page = client.get(f"/commissions/plans/{plan.public_id}/").content.decode()
    assert "in force" in page and "Acme Resellers" in page
    ended = client.post(
        f"/commissions/plans/{plan.public_id}/",
        {"action": "end", "assignment": str(assignment.public_id), "ends_on": "2026-03-01"},
    )
    assert ended.status_code == 302
    with scope(world.system.access_scope()):
        assignment.refresh_from_db()
    assert str(assignment.ends_on) == "2026-03-01"


def test_whatif_and_forecast_pages(world: Any, client_for: Any) -> None:
    plan = make_plan(world, publish=False)
    with unscoped():
        version = PlanVersion.objects.get(plan=plan)
    client = client_for(world.finance)
    page = client.get(f"/commissions/versions/{version.public_id}/what-if/?months=3")
    assert page.status_code == 200 and "last 3 months" in page.content.decode()
    chart = client.get(f"/commissions/versions/{version.public_id}/what-if/?months=3&chart=1").json()
    assert chart["unit"] == "currency" and chart["axis"] == "USD"
    assert chart["option"]["title"]["text"] == "Would have paid vs actually accrued"
    assert client.get("/commissions/forecast/?periods=6").status_code == 200


def test_plan_list_and_detail_query_counts_do_not_grow(
    world: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.analyst)
    plans = [make_plan(world, name=f"Plan {n}") for n in range(6)]
    with django_assert_max_num_queries(10):
        assert client.get("/commissions/").content.decode().count('id="plan-') == 6
    with django_assert_max_num_queries(14):
        assert client.get(f"/commissions/plans/{plans[0].public_id}/").status_code == 200
