"""The dashboards' data requests, pages and exports: each chart's series is what the metric engine gives
for the same filters; tables export to CSV and XLSX with the filters applied; partner users get 404 and
staff restricted to their own partners see only those."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.tests.conftest import register
from openprm.metrics import figures
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Tier
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db


def series_of(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {s["name"]: s["data"] for s in body["option"]["series"]}


def tier_id(name: str) -> str:
    with unscoped():
        return str(Tier.objects.get(name=name).public_id)


def as_drawn(value: Any, percent: bool = False) -> float | None:
    if value is None:
        return None
    return round(float(value) * 100, 1) if percent else round(float(value), 2)


def test_trend_charts_are_the_engines_monthly_figures(data: Any, client_for: Any) -> None:
    actor = actor_for(data.admin)
    months = DashboardFilters().trend_periods()
    keys = ["sourced_revenue", "influenced_revenue", "win_rate", "logins"]
    with scope(actor.access_scope()):
        tables = figures.metric_series(actor=actor, keys=keys, periods=months)
    client = client_for(data.admin)
    revenue = series_of(client.get("/dashboards/data/revenue/").json())
    assert revenue["Partner-sourced revenue"] == [as_drawn(t.total("sourced_revenue").value) for t in tables]
    assert revenue["Partner-influenced revenue"] == [
        as_drawn(t.total("influenced_revenue").value) for t in tables
    ]
    assert revenue["Partner-sourced revenue"][-1] == 1200.0  # this month's won deals
    win = series_of(client.get("/dashboards/data/win_rate/").json())
    assert win["Win rate"] == [as_drawn(t.total("win_rate").value, percent=True) for t in tables]
    assert win["Win rate"][-1] == 66.7
    engagement = series_of(client.get("/dashboards/data/engagement/").json())
    assert engagement["Portal logins"] == [as_drawn(t.total("logins").value) for t in tables]
    assert engagement["Portal logins"][-1] == 3


def test_the_tier_filter_narrows_every_figure_as_the_engine_does(data: Any, client_for: Any) -> None:
    actor = actor_for(data.admin)
    silver = tier_id("Silver")
    period = DashboardFilters().period_value
    with scope(actor.access_scope()):
        table = figures.metric_table(
            actor=actor, keys=["won_revenue"], period=period, filters=PartnerFilters(tier=silver)
        )
    assert table.partner_ids == (data.partner_a.pk,)
    top = client_for(data.admin).get(f"/dashboards/data/top_partners/?tier={silver}").json()
    assert top["option"]["yAxis"]["data"] == ["Acme Resellers"]
    assert series_of(top)["Won revenue"] == [as_drawn(table.value(data.partner_a.pk, "won_revenue").value)]
    revenue = series_of(client_for(data.admin).get(f"/dashboards/data/revenue/?tier={silver}").json())
    assert revenue["Partner-sourced revenue"][-1] == 1000.0  # Globex's 200 left out


def test_pipeline_by_stage_adds_up_to_the_engines_pipeline(data: Any, client_for: Any) -> None:
    actor = actor_for(data.admin)
    period = DashboardFilters().period_value
    with scope(actor.access_scope()):
        total = figures.metric_table(actor=actor, keys=["pipeline_value"], period=period).total(
            "pipeline_value"
        )
    body = client_for(data.admin).get("/dashboards/data/pipeline/").json()
    amounts = series_of(body)["Pipeline"]
    assert body["option"]["xAxis"]["name"] == "Stage" and body["option"]["yAxis"]["name"] == "USD"
    assert sum(a or 0 for a in amounts) == float(total.value) == 1000.0


def test_partners_by_tier_and_cohorts_by_tier(data: Any, client_for: Any) -> None:
    client = client_for(data.admin)
    pie = client.get("/dashboards/data/by_tier/").json()
    assert {d["name"]: d["value"] for d in pie["option"]["series"][0]["data"]} == {"Silver": 1, "Gold": 1}
    cohorts = client.get("/dashboards/cohorts/data/cohorts/?by=tier").json()
    bars = dict(
        zip(cohorts["option"]["xAxis"]["data"], series_of(cohorts)["Revenue per partner"], strict=True)
    )
    assert bars == {"Silver": 1000.0, "Gold": 200.0}
    win = client.get("/dashboards/cohorts/data/cohort_win_rate/?by=type").json()
    assert dict(zip(win["option"]["xAxis"]["data"], series_of(win)["Win rate"], strict=True)) == {
        "Referral": 100.0,
        "Reseller": 50.0,
    }


def test_an_empty_chart_says_what_to_do(world: Any, client_for: Any) -> None:
    client = client_for(world.admin)
    body = client.get("/dashboards/data/revenue/").json()
    assert body["empty"] == "No data: needs deals (register or import deals)."  # the engine's reason
    assert body["option"]["graphic"][0]["style"]["text"] == body["empty"]
    register(world, world.partner_a, "300.00")  # a deal, none won yet: the panel's own advice
    body = client.get("/dashboards/data/revenue/").json()
    assert body["empty"].startswith("No won partner deals")


def test_pages_render_with_their_chart_requests_and_exports(data: Any, client_for: Any) -> None:
    client = client_for(data.admin)
    silver = tier_id("Silver")
    page = client.get(f"/dashboards/?tier={silver}").content.decode()
    assert f'data-chart-url="/dashboards/data/revenue/?tier={silver}"' in page
    assert f"/dashboards/export/bottom_partners.xlsx?tier={silver}" in page
    assert "vendor/echarts/echarts.min.js" in page and "<script>" not in page  # CSP: no inline script
    partner = client.get(f"/dashboards/partners/{data.partner_a.public_id}/").content.decode()
    assert "Acme Resellers" in partner and "Key figures" in partner and "Customer 300.00" in partner
    assert "1000.00" in partner  # its won revenue this year, as the engine gives it
    assert "Globex" not in partner
    cohorts = client.get("/dashboards/cohorts/?by=region").content.decode()
    assert "Partners by region" in cohorts


def test_xlsx_export_holds_the_figures_and_the_filters(data: Any, client_for: Any) -> None:
    gold = tier_id("Gold")
    response = client_for(data.admin).get(f"/dashboards/export/top_partners.xlsx?tier={gold}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="openprm-overview-top_partners-')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Data"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Partner", "Tier", "Won revenue (USD)")
    assert len(rows) == 2 and rows[1][0] == "Globex Referrals" and rows[1][2] == 200.0
    assert rows[1][4] == 1.0 and sheet.cell(row=2, column=5).number_format == "0.0%"  # win rate 100%
    filters = dict(book["Filters"].iter_rows(values_only=True))
    assert filters["Tier"] == "Partner Program · Gold" and filters["Period"].startswith("20")


def test_csv_export_of_a_trend_and_of_a_partners_figures(data: Any, client_for: Any) -> None:
    client = client_for(data.admin)
    text = client.get("/dashboards/export/win_rate.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Month", "Win rate (%)", "Won deals", "Lost deals"]
    assert rows[-1][1:] == ["66.67", "2", "1"] and len(rows) == 13
    figures_csv = client.get(f"/dashboards/partners/{data.partner_a.public_id}/export/figures.csv")
    found = {row[0]: row[1] for row in csv.reader(io.StringIO(figures_csv.content.decode("utf-8-sig")))}
    assert found["Won revenue (USD)"] == "1000.00" and found["Win rate"] == "50.00"


def test_invalid_filters_answer_422_naming_the_field(data: Any, client_for: Any) -> None:
    client = client_for(data.admin)
    response = client.get("/dashboards/data/revenue/?period=2026-13")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_filter" and response.json()["field"] == "period"
    assert client.get("/dashboards/data/revenue/?start=2026-01-01").json()["field"] == "start"
    assert client.get("/dashboards/cohorts/data/cohorts/?by=nothing").json()["field"] == "by"
    assert client.get("/dashboards/data/revenue/?period=%00").status_code in (200, 422)
    page = client.get("/dashboards/?period=2026-13")
    assert page.status_code == 200 and "is not a valid period" in page.content.decode()
    assert client.get("/dashboards/data/no-such-panel/").status_code == 404
    assert client.get("/dashboards/export/revenue.pdf").status_code == 404


def test_a_custom_range_is_the_period(data: Any, client_for: Any) -> None:
    body = client_for(data.admin).get("/dashboards/data/pipeline/?start=2020-01-01&end=2020-03-31").json()
    assert "31 Mar 2020" in body["option"]["title"]["subtext"]
    assert body["empty"]  # no deal was open then


# --- isolation --------------------------------------------------------------------------------------------


def urls(world: Any) -> list[str]:
    a, b = world.partner_a.public_id, world.partner_b.public_id
    return [
        "/dashboards/",
        "/dashboards/data/revenue/",
        "/dashboards/export/top_partners.xlsx",
        "/dashboards/cohorts/",
        "/dashboards/cohorts/data/cohorts/",
        "/dashboards/cohorts/export/cohorts.csv",
        f"/dashboards/partners/{a}/",
        f"/dashboards/partners/{a}/data/revenue/",
        f"/dashboards/partners/{a}/export/deals.csv",
        f"/dashboards/partners/{b}/",
    ]


def test_partner_users_get_404_on_every_staff_dashboard(data: Any, client_for: Any) -> None:
    for user in (data.a_admin, data.a_rep, data.b_admin):
        client = client_for(user)
        for url in urls(data):
            assert client.get(url).status_code == 404, (user.email, url)


def test_anonymous_visitors_are_sent_to_log_in(data: Any, client: Any) -> None:
    response = client.get("/dashboards/data/revenue/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_restricted_to_their_partners_see_only_those(data: Any, client_for: Any) -> None:
    owner = make_user(data.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        data.partner_a.owner = owner
        data.partner_a.save(update_fields=["owner"])
    client = client_for(owner)
    b = data.partner_b.public_id
    for url in (f"/dashboards/partners/{b}/", f"/dashboards/partners/{b}/data/revenue/"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/dashboards/partners/{b}/export/figures.xlsx").status_code == 404
    top = client.get("/dashboards/data/top_partners/").json()
    assert top["option"]["yAxis"]["data"] == ["Acme Resellers"]
    assert series_of(client.get("/dashboards/data/revenue/").json())["Partner-sourced revenue"][-1] == 1000.0
    pie = client.get("/dashboards/data/by_tier/").json()
    assert {d["name"] for d in pie["option"]["series"][0]["data"]} == {"Silver"}
    page = client.get("/dashboards/").content.decode()
    assert "Globex" not in page
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/dashboards/cohorts/export/cohorts.xlsx").content))
    assert [row[0] for row in sheet["Data"].iter_rows(min_row=2, values_only=True)] == ["Silver"]


def test_the_overview_reads_a_fixed_number_of_queries_whatever_the_partners(
    data: Any, client_for: Any
) -> None:
    from openprm.testing import make_partner

    client = client_for(data.admin)
    client.get("/dashboards/data/top_partners/")  # warm the per-workspace caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get("/dashboards/data/top_partners/")
    for n in range(6):
        make_partner(data.system, f"Extra {n}", tiers={"Partner Program": "Silver"})
    with CaptureQueriesContext(connection) as after:
        assert client.get("/dashboards/data/top_partners/").status_code == 200
    assert len(after) <= len(before) + 1  # at most a cache refill, never a query per partner


# --- scorecards ------------------------------------------------------------------------------------------


def test_target_attainment_is_the_scorecards_progress(data: Any, client_for: Any) -> None:
    from openprm.dashboards.filters import today
    from openprm.metrics.periods import Period
    from openprm.scorecards import services as scorecard_services
    from openprm.scorecards.selectors import target_progress

    actor = actor_for(data.admin)
    month = Period.month_of(today()).key
    with scope(actor.access_scope()):
        target = scorecard_services.target_create(
            actor=actor,
            data={"metric": "won_revenue", "period": month, "partner": data.partner_a, "value": "4000"},
        )
        expected = target_progress(actor=actor, targets=[target])[0]
    assert expected.attainment is not None and float(expected.attainment) == 25.0  # 1,000 of 4,000
    client = client_for(data.admin)
    body = client.get("/dashboards/data/targets/").json()
    assert body["option"]["yAxis"]["data"] == [f"Won revenue · Acme Resellers · {month}"]
    assert series_of(body)["Attainment"] == [as_drawn(expected.attainment / 100, percent=True)]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/dashboards/export/targets.xlsx").content))
    row = next(book["Data"].iter_rows(min_row=2, values_only=True))
    assert row[:4] == ("Won revenue", "Acme Resellers", month, "4,000 USD")
    assert row[4] == float(expected.attainment / 100)
    partner = client.get(f"/dashboards/partners/{data.partner_a.public_id}/").content.decode()
    assert "Targets and pace" in partner and "4,000 USD" in partner
    # another partner's target is not shown to staff restricted to Globex
    owner = make_user(data.workspace, "own-b@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        data.partner_b.owner = owner
        data.partner_b.save(update_fields=["owner"])
    assert client_for(owner).get("/dashboards/data/targets/").json()["empty"]


def test_the_partner_scorecard_is_the_scorecards_one(data: Any, client_for: Any) -> None:
    from openprm.scorecards.selectors import scorecard

    actor = actor_for(data.admin)
    period = DashboardFilters().period_value
    with scope(actor.access_scope()):
        card = scorecard(actor=actor, partner=data.partner_a, period=period)
    client = client_for(data.admin)
    body = client.get(f"/dashboards/partners/{data.partner_a.public_id}/data/scorecard/").json()
    assert body["option"]["xAxis"]["data"] == [d.label for d in card.dimensions]
    assert series_of(body)["Score"] == [as_drawn(d.score) for d in card.dimensions]
    assert card.dimensions and body["option"]["title"]["text"].startswith("Scorecard: ")
    csv_text = client.get(f"/dashboards/partners/{data.partner_a.public_id}/export/scorecard.csv")
    rows = list(csv.reader(io.StringIO(csv_text.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [d.label for d in card.dimensions]
