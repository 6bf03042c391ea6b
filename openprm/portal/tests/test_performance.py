"""The portal's Performance page: a partner user sees their own scorecard, targets and pace, tier progress,
trends and rank band, and the monthly charts' data — never another partner's name, figure or id, whatever
the URL says; staff get 404 (the portal is the partners' area). Internal metrics (partnership costs) show
no figure, and a target set on one does not break the page."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.services.events import events_ingest
from openprm.core.scoping import scope
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage
from openprm.metrics.periods import Period
from openprm.partners.models import Tier
from openprm.partners.services import partner_update
from openprm.portal.selectors import step_percent
from openprm.scorecards import services as scorecard_services
from openprm.scorecards.tiers import check_criterion
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

B_NAME = "Zanzibar Quokka Holdings"  # partner B's name, distinctive so that any leak is found
B_AMOUNT = "987654.00"  # partner B's won revenue, likewise
B_TARGET = "7777777"


def _today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def _deal(world: Any, partner: Any, amount: str, stage: str | None) -> None:
    with scope(world.system.access_scope()):
        deal, _ = deal_register(
            actor=world.system,
            data={"partner_id": partner.pk, "customer_name": f"Customer {amount}", "amount": amount},
        )
        if stage:
            deal_move_stage(actor=world.system, deal=deal, stage_key=stage, lost_reason="price")


@pytest.fixture
def perf(world: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A (Silver): won 1,000, lost 500, 2 logins, a won-revenue target of 4,000 this month. B (Gold,
    renamed to something unmistakable): won 987,654, 1 login, its own target. Gold needs won revenue of
    1,200 a month and 2 logins."""
    with scope(world.system.access_scope()):
        partner_update(actor=world.system, partner=world.partner_b, data={"name": B_NAME})
    _deal(world, world.partner_a, "1000.00", "closed_won")
    _deal(world, world.partner_a, "500.00", "closed_lost")
    _deal(world, world.partner_b, B_AMOUNT, "closed_won")
    now = timezone.now().replace(microsecond=0).isoformat()
    items = [
        {"event_id": f"e{i}", "partner_external_id": p, "type": "portal_login", "occurred_at": now}
        for i, p in enumerate(["A-1", "A-1", "B-1"])
    ]
    with django_capture_on_commit_callbacks(execute=True), scope(world.system.access_scope()):
        assert events_ingest(actor=world.system, items=items).stored == 3
    admin = actor_for(world.admin)
    month = Period.month_of(_today()).key
    with scope(admin.access_scope()):
        gold, silver = Tier.objects.get(name="Gold"), Tier.objects.get(name="Silver")
        scorecard_services.tier_criterion_create(
            actor=admin, tier=silver, data={"metric": "won_revenue", "minimum": "100", "grain": "month"}
        )
        scorecard_services.tier_criterion_create(
            actor=admin, tier=gold, data={"metric": "won_revenue", "minimum": "1200", "grain": "month"}
        )
        scorecard_services.tier_criterion_create(
            actor=admin, tier=gold, data={"metric": "logins", "minimum": "2", "grain": "month"}
        )
        for partner, value in ((world.partner_a, "4000"), (world.partner_b, B_TARGET)):
            scorecard_services.target_create(
                actor=admin,
                data={
                    "metric": "won_revenue",
                    "period": month,
                    "partner": partner,
                    "value": value,
                    "notes": f"SECRET-NOTE-{partner.name}",
                },
            )
    return world


def _month() -> str:
    return Period.month_of(_today()).key


def test_partner_sees_own_scorecard_targets_tier_progress_and_rank_band(perf: Any, client_for: Any) -> None:
    response = client_for(perf.a_admin).get(f"/portal/performance/?period={_month()}")
    assert response.status_code == 200
    body = response.content.decode()
    # the scorecard: overall score, dimensions, each metric's value and points
    assert 'id="overall"' in body and 'id="dimension-financial"' in body
    assert 'data-metric="won_revenue"' in body and "1,000.00" in body and "Money is in USD" in body
    card = response.context["perf"].card
    assert card.overall is not None and card.partner_id == perf.partner_a.pk
    # rank band only: A's overall beats nobody's or somebody's, but it is a band, never a rank or a name
    assert card.rank_band in body and card.rank_band.startswith(("top", "bottom"))
    # targets and pace: 1,000 of 4,000 this month, with what is expected by today
    progress = next(p for p in response.context["perf"].targets if p.target.period == _month())
    assert progress.target.value == Decimal("4000") and progress.attainment == Decimal("25.0")
    assert 'id="targets-table"' in body and progress.pace.text in body
    assert "4,000.00" in body
    # tier progress: Silver now, Gold next, the won-revenue gap in words and a progress bar
    assert 'id="next-tier">Gold<' in body
    assert "$200 more won revenue" in body
    assert '<progress max="100" value="83"' in body  # 1,000 of 1,200
    assert '<progress max="100" value="100"' in body  # 2 logins of 2: met
    # trends: MoM and YoY columns, and the monthly charts' slots
    assert 'id="trends-table"' in body and "vs " in body
    assert "/portal/performance/data/revenue/?period=" in body
    # internal fields never reach the page
    assert "SECRET-NOTE" not in body


def test_no_other_partner_name_figure_or_id_anywhere(perf: Any, client_for: Any) -> None:
    client = client_for(perf.a_admin)
    month = _month()
    pages = [
        client.get("/portal/performance/").content.decode(),
        client.get(f"/portal/performance/?period={month}").content.decode(),
        client.get("/portal/").content.decode(),
    ]
    for key in ("revenue", "win_rate", "engagement"):
        data = client.get(f"/portal/performance/data/{key}/?period={month}")
        assert data.status_code == 200
        pages.append(json.dumps(data.json()))
        pages.append(client.get(f"/portal/performance/export/{key}.csv?period={month}").content.decode())
    for text in pages:
        assert B_NAME not in text and "Zanzibar" not in text
        assert str(perf.partner_b.public_id) not in text
        assert "987654" not in text and "987,654" not in text
        assert B_TARGET not in text and "7,777,777" not in text
        assert "SECRET-NOTE" not in text
    revenue = client.get(f"/portal/performance/data/revenue/?period={month}").json()
    values = [v for s in revenue["option"]["series"] for v in s["data"] if v]
    assert sum(values) == 1000.0  # A's own won revenue only (sourced), not A + B


def test_other_partners_data_is_unreachable_by_any_id_or_parameter(perf: Any, client_for: Any) -> None:
    client = client_for(perf.a_admin)
    b_id = perf.partner_b.public_id
    for query in (f"partner={b_id}", f"partner_id={b_id}", "program=x", f"tier={b_id}", "q=Zanzibar"):
        text = client.get(f"/portal/performance/?{query}").content.decode()
        assert B_NAME not in text
        data = client.get(f"/portal/performance/data/revenue/?period={_month()}&{query}").json()
        assert sum(v for s in data["option"]["series"] for v in s["data"] if v) == 1000.0
    # ids in the path: no such route in the portal, and the scorecard of B is 404 for A's users
    assert client.get(f"/portal/performance/{b_id}/").status_code == 404
    assert client.get(f"/portal/performance/data/{b_id}/").status_code == 404
    assert client.get(f"/scorecards/partners/{b_id}/").status_code == 404
    # a panel the portal does not offer (staff dashboards' partner lists, deals) is 404
    for key in ("top_partners", "deals", "figures", "pipeline", "by_tier"):
        assert client.get(f"/portal/performance/data/{key}/").status_code == 404, key
    assert client.get("/portal/performance/export/revenue.pdf").status_code == 404
    bad = client.get("/portal/performance/data/revenue/?period=2026-13")
    assert bad.status_code == 422 and bad.json()["field"] == "period"
    # B's own users see B's figures on the same URLs (the page follows the user, not the URL)
    b_page = client_for(perf.b_admin).get(f"/portal/performance/?period={_month()}").content.decode()
    assert B_NAME in b_page and "Acme" not in b_page
    # a partner rep sees their partner's page too (the partner's scorecard, not a leaderboard)
    rep_page = client_for(perf.a_rep).get(f"/portal/performance/?period={_month()}").content.decode()
    assert 'id="overall"' in rep_page and B_NAME not in rep_page


def test_staff_are_refused_and_anonymous_users_sent_to_log_in(perf: Any, client_for: Any) -> None:
    for user in (perf.admin, perf.manager, perf.analyst):
        client = client_for(user)
        assert client.get("/portal/performance/").status_code == 404
        assert client.get("/portal/performance/data/revenue/").status_code == 404
        assert client.get("/portal/performance/export/revenue.csv").status_code == 404
    from django.test import Client

    anonymous = Client().get("/portal/performance/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_period_selector_empty_states_and_unreadable_period(world: Any, client_for: Any) -> None:
    client = client_for(world.a_admin)
    body = client.get("/portal/performance/").content.decode()
    quarter = Period.quarter_of(_today())
    assert f'Performance <span class="muted">· {quarter.label}' in body
    assert 'id="targets-empty"' in body and "your partner manager sets them" in body
    assert "has no tier criteria yet" in body
    assert f'<option value="{_today().year}"' in body  # this year among the choices
    year = client.get(f"/portal/performance/?period={_today().year}").content.decode()
    assert f'Performance <span class="muted">· {_today().year}' in year
    odd = client.get("/portal/performance/?period=nonsense", follow=True).content.decode()
    assert "cannot be read" in odd and quarter.label in odd


def test_exports_open(perf: Any, client_for: Any) -> None:
    from openpyxl import load_workbook

    client = client_for(perf.a_admin)
    response = client.get(f"/portal/performance/export/revenue.xlsx?period={_month()}")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content))["Data"]
    assert sheet.cell(row=1, column=1).value == "Month"
    assert sum(float(str(row[1] or 0)) for row in sheet.iter_rows(min_row=2, values_only=True)) == 1000.0


def test_internal_metric_targets_and_figures_stay_hidden(perf: Any, client_for: Any) -> None:
    """Targets on internal figures — the partner's own, its tier's and its program's — are left out (the
    targets selector never lists them to a partner user); the others are still chosen partner over tier
    over program, and the page renders."""
    admin = actor_for(perf.admin)
    month = _month()
    with scope(admin.access_scope()):
        silver = Tier.objects.get(name="Silver")
        for metric, value, where in (
            ("partnership_costs", "5150", {"partner": perf.partner_a}),
            ("cac_per_partner", "5151", {"tier": silver}),
            ("cost_per_partner_dollar", "5152", {"program": silver.program}),
            ("won_revenue", "5153", {"tier": silver}),  # overridden by A's own won-revenue target
            ("logins", "12", {"program": silver.program}),
        ):
            payload: Any = {"metric": metric, "period": month, "value": value, **where}
            scorecard_services.target_create(actor=admin, data=payload)
    response = client_for(perf.a_admin).get(f"/portal/performance/?period={month}")
    assert response.status_code == 200
    body = response.content.decode()
    for leak in ("5,150", "5150", "5,151", "5151", "5,152", "5152", "partnership_costs", "cac_per_partner"):
        assert leak not in body
    assert 'data-metric="cost_per_partner_dollar"' not in body
    shown = {(p.target.metric, p.target.scope, p.target.value) for p in response.context["perf"].targets}
    assert shown == {("won_revenue", "partner", Decimal("4000")), ("logins", "program", Decimal("12"))}


def test_tier_criteria_on_internal_figures_read_met_or_not_only(perf: Any, client_for: Any) -> None:
    """Silver (A's tier) caps partnership costs, Gold the cost per partner dollar: A's users read each as
    a requirement set by their partner manager, met or not met yet, with no figure, minimum or gap; the
    overall score and the other criteria are as before; staff (on the scorecard page) see the figures."""
    from openprm.finance.services.records import COSTS, record_create

    admin = actor_for(perf.admin)
    with scope(admin.access_scope()):
        record_create(
            actor=admin,
            kind=COSTS,
            data={
                "partner_id": perf.partner_a.pk,
                "period": _month(),
                "category": "mdf",
                "amount": "7531.09",
            },
        )
        gold, silver = Tier.objects.get(name="Gold"), Tier.objects.get(name="Silver")
        scorecard_services.tier_criterion_create(
            actor=admin,
            tier=silver,
            data={"metric": "partnership_costs", "minimum": "24680.11", "grain": "month"},
        )
        scorecard_services.tier_criterion_create(
            actor=admin,
            tier=gold,
            data={"metric": "cost_per_partner_dollar", "minimum": "3.1415", "grain": "month"},
        )
    for user in (perf.a_admin, perf.a_rep):
        response = client_for(user).get(f"/portal/performance/?period={_month()}")
        assert response.status_code == 200
        body = response.content.decode()
        # costs 7,531.09; ratio 7.53; minimums 24,680.11 and 3.1415; gap 4.39
        for leak in ("7531", "7,531", "7.53", "24680", "24,680", "3.1415", "3.14", "4.39", "4.4 less"):
            assert leak not in body, leak
        for label in (
            "Partnership costs",
            "Cost per partner dollar",
            "partnership costs",
            "cost per partner",
        ):
            assert label not in body, label
        assert body.count('data-metric="program_requirement"') == 2  # Gold's step and Silver's kept one
        assert "To reach Gold:" in body and "$200 more won revenue" in body
        assert "meet a requirement set by your partner manager" in body
        assert "Requirement set by your partner manager" in body and "not met yet" in body
        assert body.count("<progress ") == 3  # won revenue, logins, Silver's won revenue: not the hidden ones
        assert "2 steps to Gold" in body
    staff = client_for(perf.admin).get(f"/scorecards/partners/{perf.partner_a.public_id}/").content.decode()
    assert "less cost per partner dollar to reach Gold" in staff and "7531.09" in staff


def test_home_links_to_performance_with_a_summary(perf: Any, client_for: Any) -> None:
    body = client_for(perf.a_admin).get("/portal/").content.decode()
    assert 'id="performance-card"' in body and 'href="/portal/performance/"' in body
    assert "tier <strong>Silver</strong>" in body and "to Gold" in body


def test_step_percent() -> None:
    def check(key: str, minimum: str, value: Any) -> Any:
        return check_criterion(key, Decimal(minimum), value, grain="month", period="2026-01", currency="USD")

    assert step_percent(check("won_revenue", "1200", Decimal(1000))) == 83
    assert step_percent(check("won_revenue", "1200", Decimal(1300))) == 100
    assert step_percent(check("won_revenue", "1200", None)) == 0
    assert step_percent(check("won_revenue", "1200", Decimal("1199.99"))) == 99  # not met: never a full bar
    assert step_percent(check("time_to_close_days", "30", Decimal(60))) == 50  # lower is better
