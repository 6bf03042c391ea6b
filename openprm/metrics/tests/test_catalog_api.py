"""The catalog, series, parameters, periods and regions endpoints: answers, 422s naming the field, and
isolation (a partner user gets only their own partner and 404 for another's id; staff restricted to their
partners likewise; partner users never reach parameters, periods or internal metrics)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage
from openprm.metrics.catalog import METRICS
from openprm.metrics.models import PeriodClose
from openprm.metrics.periods import Period
from openprm.testing import make_user

pytestmark = pytest.mark.django_db

API = "/api/v1/metrics"


def this_month() -> Period:
    return Period.month_of(timezone.now().astimezone(datetime.UTC).date())


def win(world: Any, partner: Any, amount: str, stage: str = "closed_won") -> None:
    with scope(world.system.access_scope()):
        deal, _ = deal_register(
            actor=world.system,
            data={"partner_id": partner.pk, "customer_name": f"Customer {amount}", "amount": amount},
        )
        deal_move_stage(actor=world.system, deal=deal, stage_key=stage, lost_reason="price")


@pytest.fixture
def deals(world: Any) -> Any:
    win(world, world.partner_a, "1000.00")
    win(world, world.partner_a, "400.00", "closed_lost")
    win(world, world.partner_b, "200.00")
    return world


def test_the_catalog_lists_every_metric_with_its_words(world: Any, api_for: Any) -> None:
    for user in (world.analyst, world.a_rep):
        found = {e["key"]: e for e in api_for(user).get(f"{API}/catalog").json()}
        assert set(found) == set(METRICS)
    nps = found["nps"]
    assert nps["family"] == "health" and nps["indicator"] == "leading" and nps["computed"]
    assert nps["formula"].startswith("(promoters") and nps["glossary_url"] == "/metrics/glossary/#nps"
    assert found["pltv"]["packs"] == ["saas"] and found["pltv"]["staff_only"]
    assert not found["time_in_stage"]["computed"] and found["time_in_stage"]["shown_on"]


def test_series_gives_the_total_and_a_row_per_named_partner_per_period(deals: Any, api_for: Any) -> None:
    a, b = deals.partner_a, deals.partner_b
    month = this_month()
    answer = api_for(deals.manager).get(
        f"{API}/series",
        {
            "metrics": "won_revenue,win_rate,nps",
            "period": month.key,
            "grain": "week",
            "partners": f"{a.public_id}",
        },
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["metrics"] == ["won_revenue", "win_rate", "nps"] and body["partners"] == 2
    assert [p["key"] for p in body["periods"]] == [p.key for p in month.split("week")]
    total, row_a = body["rows"]
    assert total["partner"] is None and row_a["partner"] == str(a.public_id) and row_a["name"] == a.name
    assert sum(Decimal(c["value"]) for c in total["values"]["won_revenue"]) == Decimal("1200.00")
    assert sum(Decimal(c["value"]) for c in row_a["values"]["won_revenue"]) == Decimal("1000.00")
    assert all(c["missing"].startswith("no data: needs partner surveys") for c in total["values"]["nps"])
    whole = api_for(deals.manager).get(f"{API}/series", {"metrics": "win_rate", "period": month.key}).json()
    assert [c["value"] for c in whole["rows"][0]["values"]["win_rate"]] == ["0.6667"]
    gold = api_for(deals.manager).get(
        f"{API}/series", {"metrics": "won_revenue", "period": month.key, "type": "referral"}
    )
    assert (
        gold.json()["partners"] == 1
        and gold.json()["rows"][0]["values"]["won_revenue"][0]["value"] == "200.00"
    )
    assert b.name not in str(answer.content)


def test_a_partner_user_gets_only_their_own_partner(deals: Any, api_for: Any) -> None:
    api = api_for(deals.b_admin)
    body = api.get(f"{API}/series", {"metrics": "won_revenue", "period": this_month().key}).json()
    assert body["partners"] == 1
    assert [r["partner"] for r in body["rows"]] == [None, str(deals.partner_b.public_id)]
    assert body["rows"][0]["values"]["won_revenue"][0]["value"] == "200.00"
    assert deals.partner_a.name not in str(body)
    other = api.get(f"{API}/series", {"metrics": "won_revenue", "partners": str(deals.partner_a.public_id)})
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    internal = api.get(f"{API}/series", {"metrics": "margin_contribution"})
    assert (internal.status_code, internal.json()["field"]) == (422, "metrics")
    for path in ("parameters", "periods"):
        assert api.get(f"{API}/{path}").status_code == 404
    assert (
        api.post(f"{API}/periods/close", {"period": "2025-01"}, content_type="application/json").status_code
        == 404
    )


def test_staff_restricted_to_their_partners_get_404_for_others(deals: Any, api_for: Any) -> None:
    owner = make_user(deals.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        deals.partner_b.owner = owner
        deals.partner_b.save(update_fields=["owner"])
    api = api_for(owner)
    mine = api.get(f"{API}/series", {"metrics": "won_revenue", "partners": str(deals.partner_b.public_id)})
    assert mine.status_code == 200 and mine.json()["partners"] == 1
    assert mine.json()["rows"][0]["values"]["won_revenue"][0]["value"] == "200.00"
    other = api.get(f"{API}/series", {"metrics": "won_revenue", "partners": str(deals.partner_a.public_id)})
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ""}, "metrics"),
        ({"metrics": "win_rat"}, "metrics"),
        ({"metrics": "time_in_stage"}, "metrics"),
        ({"metrics": ",".join(list(METRICS)[:21])}, "metrics"),
        ({"metrics": "win_rate", "period": "2026-13"}, "period"),
        ({"metrics": "win_rate", "period": "x\x00"}, "period"),
        ({"metrics": "win_rate", "grain": "hour"}, "grain"),
        ({"metrics": "win_rate", "period": "2000..2026", "grain": "day"}, "period"),
        ({"metrics": "win_rate", "period": "1990-01-01..2026-01-01", "grain": "day"}, "grain"),
        ({"metrics": "win_rate", "partners": "nope"}, "partners"),
    ],
)
def test_bad_series_queries_are_422_naming_the_field(
    world: Any, api_for: Any, query: Any, field: str
) -> None:
    answer = api_for(world.admin).get(f"{API}/series", query)
    assert (answer.status_code, answer.json().get("field")) == (422, field), answer.content


def test_parameters_list_and_versions(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    listed = {p["key"]: p for p in admin.get(f"{API}/parameters").json()}
    assert listed["active_window_days"]["current"] == 90 and listed["active_window_days"]["versions"] == []
    start = this_month().start.isoformat()
    body = {"key": "active_window_days", "value": 30, "effective_from": start, "note": "tighter"}
    created = admin.post(f"{API}/parameters", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["value"] == 30 and created.json()["created_by"] == "admin@vendor.test"
    listed = {p["key"]: p for p in admin.get(f"{API}/parameters").json()}
    assert (
        listed["active_window_days"]["current"] == 30 and len(listed["active_window_days"]["versions"]) == 1
    )
    bad = admin.post(f"{API}/parameters", {**body, "value": -1}, content_type="application/json")
    assert (bad.status_code, bad.json()["field"]) == (422, "value")
    odd = admin.post(f"{API}/parameters", {**body, "surprise": 1}, content_type="application/json")
    assert odd.status_code == 422
    nul = admin.post(f"{API}/parameters", {**body, "note": "a\x00"}, content_type="application/json")
    assert (nul.status_code, nul.json()["field"]) == (422, "note")
    manager = api_for(world.manager).post(f"{API}/parameters", body, content_type="application/json")
    assert manager.status_code == 403
    assert api_for(world.analyst).get(f"{API}/parameters").status_code == 200


def test_periods_close_list_and_reopen(deals: Any, api_for: Any) -> None:
    admin = api_for(deals.admin)
    closed = admin.post(f"{API}/periods/close", {"period": "2025-03"}, content_type="application/json")
    assert closed.status_code == 200 and {p["period"] for p in closed.json()} == {"2025-03", "2025-Q1"}
    again = admin.post(f"{API}/periods/close", {"period": "2025-03"}, content_type="application/json")
    assert again.json() == []
    listed = admin.get(f"{API}/periods").json()
    assert listed["count"] == 2 and listed["items"][0]["closed_by"] == "admin@vendor.test"
    running = admin.post(
        f"{API}/periods/close", {"period": this_month().key}, content_type="application/json"
    )
    assert (running.status_code, running.json()["field"]) == (422, "period")
    series = admin.get(
        f"{API}/series", {"metrics": "won_revenue", "period": "2025-Q1", "grain": "month"}
    ).json()
    assert [p["closed"] for p in series["periods"]] == [False, False, True]
    no_reason = admin.post(
        f"{API}/periods/reopen", {"period": "2025-03", "reason": " "}, content_type="application/json"
    )
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    manager = api_for(deals.manager).post(
        f"{API}/periods/reopen", {"period": "2025-03", "reason": "x"}, content_type="application/json"
    )
    assert manager.status_code == 403
    reopened = admin.post(
        f"{API}/periods/reopen",
        {"period": "2025-03", "reason": "late invoices"},
        content_type="application/json",
    )
    assert reopened.status_code == 200 and reopened.json()[0]["reopen_reason"] == "late invoices"
    with unscoped():
        assert PeriodClose.objects.get(period="2025-03").status == "reopened"


def test_regions_answer_for_the_visible_partners(world: Any, api_for: Any) -> None:
    assert api_for(world.admin).get(f"{API}/regions", {"metrics": "x"}).json() == []
    assert api_for(world.b_admin).get(f"{API}/regions", {"metrics": "x"}).status_code == 200
