"""Targets on metrics built on internal figures (partnership costs, the company's revenue:
``figures.staff_only``): staff may set one for a partner, its tier or its program, and see it everywhere;
the partner's users never see it — not the value, not the metric's name — on any page or endpoint that lists
targets or scorecards (left out of lists, 404 by id), and nothing answers 500 because of it."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.core.scoping import scope
from openprm.metrics.catalog import metric
from openprm.partners.models import Program, Tier
from openprm.scorecards import selectors
from openprm.scorecards import services as scorecard_services
from openprm.scorecards.models import Target
from openprm.scorecards.tests.conftest import this_month
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

INTERNAL = ("cost_per_partner_dollar", "cac_per_partner", "partnership_costs")
COST_VALUE = "4321987"  # the internal target's value, distinctive so that any leak is found


def _labels() -> list[str]:
    return [metric(k).label for k in INTERNAL]


@pytest.fixture
def mixed(data: Any) -> dict[str, Any]:
    """Partner A: a won-revenue target (normal) and a cost-per-partner-dollar target (internal); its tier
    (Silver) a CAC target and its program a partnership-costs target (internal too)."""
    admin = actor_for(data.admin)
    month = this_month().key
    with scope(admin.access_scope()):
        silver = Tier.objects.get(name="Silver")
        program = Program.objects.get(name="Partner Program")

        def make(metric_key: str, value: str, **where: Any) -> Target:
            payload: Any = {"metric": metric_key, "period": month, "value": value, **where}
            return scorecard_services.target_create(actor=admin, data=payload)

        normal = make("won_revenue", "2000", partner=data.partner_a)
        cost = make("cost_per_partner_dollar", COST_VALUE, partner=data.partner_a)
        tier_cost = make("cac_per_partner", COST_VALUE, tier=silver)
        program_cost = make("partnership_costs", COST_VALUE, program=program)
    return {"normal": normal, "internal": [cost, tier_cost, program_cost], "data": data}


def _hidden(body: str) -> None:
    for key in INTERNAL:
        assert key not in body
    for label in _labels():
        assert label not in body
    assert "4,321,987" not in body and COST_VALUE not in body


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_selectors_leave_internal_targets_out_for_partner_users(mixed: dict[str, Any], who: str) -> None:
    data = mixed["data"]
    actor = actor_for(getattr(data, who))
    with scope(actor.access_scope()):
        listed = list(selectors.target_list(actor=actor))
        assert [t.metric for t in listed] == ["won_revenue"]
        for target in mixed["internal"]:
            with pytest.raises(Target.DoesNotExist):
                selectors.target_get(actor=actor, public_id=target.public_id)
        own = selectors.partner_targets(actor=actor, partner=data.partner_a)
        assert [p.target.metric for p in own] == ["won_revenue"]
        assert own[0].value is not None
        # handed internal targets anyway (e.g. by a caller that read them unscoped), progress stays silent
        progress = selectors.target_progress(actor=actor, targets=[mixed["normal"], *mixed["internal"]])
        assert [p.value for p in progress[1:]] == [None, None, None]
        assert progress[0].value is not None


def test_staff_still_see_internal_targets(mixed: dict[str, Any]) -> None:
    data = mixed["data"]
    admin = actor_for(data.admin)
    with scope(admin.access_scope()):
        assert {t.metric for t in selectors.target_list(actor=admin)} == {"won_revenue", *INTERNAL}
        own = selectors.partner_targets(actor=admin, partner=data.partner_a)
        assert {p.target.metric for p in own} == {"won_revenue", *INTERNAL}


def test_staff_pages_and_api_show_internal_targets(
    mixed: dict[str, Any], client_for: Any, api_for: Any
) -> None:
    data = mixed["data"]
    client = client_for(data.admin)
    for url in ("/scorecards/targets/", f"/scorecards/partners/{data.partner_a.public_id}/"):
        body = client.get(url).content.decode()
        assert metric("cost_per_partner_dollar").label in body, url
    cost = mixed["internal"][0]
    assert client.get(f"/scorecards/targets/{cost.public_id}/").status_code == 200
    api = api_for(data.admin)
    assert api.get("/api/v1/targets").json()["count"] == 4
    assert api.get(f"/api/v1/targets/{cost.public_id}").status_code == 200


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_pages_never_show_internal_targets(mixed: dict[str, Any], client_for: Any, who: str) -> None:
    data = mixed["data"]
    client = client_for(getattr(data, who))
    month = this_month().key
    pages = [
        "/scorecards/targets/",
        f"/scorecards/targets/?period={month}",
        f"/scorecards/partners/{data.partner_a.public_id}/",
        f"/scorecards/partners/{data.partner_a.public_id}/?period={month}",
        f"/portal/performance/?period={month}",
        "/portal/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        _hidden(body)
        if "targets" in url or "/scorecards/partners/" in url:
            assert metric("won_revenue").label in body, url
    for key in INTERNAL:
        response = client.get(f"/scorecards/targets/?metric={key}")
        assert response.status_code == 200
        assert list(response.context["page"].object_list) == []
    for target in mixed["internal"]:
        assert client.get(f"/scorecards/targets/{target.public_id}/").status_code == 404
        accepted = client.post("/scorecards/targets/", {"action": "accept", "target": str(target.public_id)})
        assert accepted.status_code == 404


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_api_never_shows_internal_targets(mixed: dict[str, Any], api_for: Any, who: str) -> None:
    data = mixed["data"]
    api = api_for(getattr(data, who))
    listed = api.get("/api/v1/targets")
    assert listed.status_code == 200
    assert [t["metric"] for t in listed.json()["items"]] == ["won_revenue"] and listed.json()["count"] == 1
    _hidden(listed.content.decode())
    for key in INTERNAL:
        filtered = api.get(f"/api/v1/targets?metric={key}")
        assert filtered.status_code == 200 and filtered.json()["count"] == 0
    for target in mixed["internal"]:
        assert api.get(f"/api/v1/targets/{target.public_id}").status_code == 404
        accepted = api.post(
            f"/api/v1/targets/{target.public_id}/accept", data="{}", content_type="application/json"
        )
        assert accepted.status_code == 404
    a_id = data.partner_a.public_id
    for url in (
        f"/api/v1/scorecards/partners/{a_id}",
        f"/api/v1/scorecards/partners/{a_id}/tier-progress",
        f"/api/v1/scorecards/partners/{a_id}/trends",
        "/api/v1/scorecards",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        _hidden(response.content.decode())


def test_partner_trends_of_an_internal_metric_are_refused_not_a_500(
    mixed: dict[str, Any], api_for: Any
) -> None:
    data = mixed["data"]
    a_id = data.partner_a.public_id
    partner = api_for(data.a_admin).get(
        f"/api/v1/scorecards/partners/{a_id}/trends?keys=won_revenue,cac_per_partner"
    )
    assert partner.status_code in (404, 422)
    _hidden(partner.content.decode().replace("cac_per_partner", "") if partner.status_code == 422 else "")
    staff = api_for(data.admin).get(
        f"/api/v1/scorecards/partners/{a_id}/trends?keys=won_revenue,cac_per_partner"
    )
    assert staff.status_code == 200 and [t["metric"] for t in staff.json()] == [
        "won_revenue",
        "cac_per_partner",
    ]


def test_a_scorecard_scoring_an_internal_metric_shows_partner_users_no_figure_or_target(
    mixed: dict[str, Any], client_for: Any, api_for: Any
) -> None:
    """Staff may score a program on an internal metric: it keeps its place in the partner's scorecard (as on
    the portal) but its value, target, attainment, score and points stay off the partner's page and API
    answer, and the targets section still lists only the normal target."""
    data = mixed["data"]
    admin = actor_for(data.admin)
    with scope(admin.access_scope()):
        program = Program.objects.get(name="Partner Program")
        scorecard_services.scorecard_config_set(
            actor=admin,
            program=program,
            dimensions=[
                {
                    "key": "financial",
                    "weight": "100",
                    "metrics": [
                        {"key": "won_revenue", "weight": "50", "method": "auto"},
                        {"key": "cost_per_partner_dollar", "weight": "50", "method": "target"},
                    ],
                }
            ],
        )
    a_id = data.partner_a.public_id
    for who in ("a_admin", "a_rep"):
        page = client_for(getattr(data, who)).get(f"/scorecards/partners/{a_id}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "4,321,987" not in body and COST_VALUE not in body
        assert [p.target.metric for p in page.context["targets"]] == ["won_revenue"]
        answer = api_for(getattr(data, who)).get(f"/api/v1/scorecards/partners/{a_id}")
        assert answer.status_code == 200
        assert COST_VALUE not in answer.content.decode()
        (cost,) = [
            m
            for d in answer.json()["dimensions"]
            for m in d["metrics"]
            if m["key"] == "cost_per_partner_dollar"
        ]
        assert [cost[k] for k in ("value", "target", "attainment", "score", "contribution")] == [None] * 5
        assert cost["missing"] == "internal figure"
    staff = api_for(data.admin).get(f"/api/v1/scorecards/partners/{a_id}").json()
    (cost,) = [m for d in staff["dimensions"] for m in d["metrics"] if m["key"] == "cost_per_partner_dollar"]
    assert cost["target"] == "4321987.0000" or str(cost["target"]).startswith(COST_VALUE)
