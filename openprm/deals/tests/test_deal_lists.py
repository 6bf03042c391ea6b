"""Deal lists at scale: the queries' shape (no DISTINCT, plain counts, index-ordered pages), bad filter
values (a 4xx naming the field), metrics computed by the database, and day counts on calendar dates."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.core.scoping import scope, unscoped
from openprm.deals import metrics, selectors, services
from openprm.deals.models import Deal, PipelineStage
from openprm.deals.rollups import rollups_rebuild
from openprm.deals.selectors import DealFilters
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db
API = "/api/v1"


def register(user: Any, name: str, amount: str = "1000", **data: Any) -> Deal:
    actor = actor_for(user)
    payload = {"customer_name": name, "customer_domain": f"{name.lower()}.example", "amount": amount, **data}
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(actor=actor, data=payload)
    return deal


def deal_selects(queries: list[dict[str, str]]) -> list[str]:
    return [
        q["sql"] for q in queries if '"deals_deal"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")
    ]


# --- item 22: close_month outside any calendar ------------------------------------------------------


@pytest.mark.parametrize("value", ["0000-01", "0000-12", "9999-01", "1899-12"])
def test_api_refuses_a_close_month_outside_the_calendar_with_422(
    world: Any, api_for: Any, value: str
) -> None:
    for user in (world.manager, world.a_admin):
        response = api_for(user).get(f"{API}/deals", {"close_month": value})
        assert response.status_code == 422, response.content
        assert "close_month" in response.content.decode()


@pytest.mark.parametrize("value", ["0000-01", "2026-13", "abcd-ef", "2026-1"])
def test_deals_page_shows_a_form_error_for_a_bad_close_month(world: Any, client_for: Any, value: str) -> None:
    register(world.a_admin, "Initech")
    for mode in ("table", "board"):
        response = client_for(world.manager).get(reverse("deals:list"), {"close_month": value, "view": mode})
        assert response.status_code == 400
        assert "Close month: Use a month as YYYY-MM" in response.text


def test_close_month_filters_on_a_date_range(world: Any, api_for: Any) -> None:
    register(world.a_admin, "Jan", expected_close_date=datetime.date(2031, 1, 31))
    register(world.a_admin, "Feb", expected_close_date=datetime.date(2031, 2, 1))
    register(world.a_admin, "Dec", expected_close_date=datetime.date(2031, 12, 31))

    def names(month: str) -> list[str]:
        response = api_for(world.manager).get(f"{API}/deals", {"close_month": month})
        return [d["customer_name"] for d in response.json()["items"]]

    assert names("2031-01") == ["Jan"]
    assert names("2031-02") == ["Feb"]
    assert names("2031-12") == ["Dec"]


# --- item 21: the shape of the list queries ---------------------------------------------------------


def test_lists_need_no_distinct_and_count_without_joins(world: Any, api_for: Any, client_for: Any) -> None:
    for i in range(3):
        register(world.a_admin, f"Customer{i}")
    tier = None
    with unscoped():
        from openprm.partners.models import PartnerProgram

        enrolment = PartnerProgram.objects.filter(partner=world.partner_a).select_related("tier").first()
        tier = enrolment.tier if enrolment else None
    with CaptureQueriesContext(connection) as api_queries:
        body = api_for(world.manager).get(f"{API}/deals", {"limit": 100}).json()
    assert body["count"] == 3
    with CaptureQueriesContext(connection) as page_queries:
        assert client_for(world.manager).get(reverse("deals:list")).status_code == 200
    for sql in deal_selects(api_queries.captured_queries) + deal_selects(page_queries.captured_queries):
        assert "DISTINCT" not in sql.upper(), sql
    counts = [s for s in deal_selects(api_queries.captured_queries) if s.startswith("SELECT COUNT(")]
    assert counts and all("JOIN" not in s.upper() and "deals_dealconflict" not in s for s in counts), counts
    if tier is not None:
        response = api_for(world.manager).get(f"{API}/deals", {"tier": str(tier.public_id)})
        assert response.json()["count"] == 3


def test_tier_filter_matches_each_deal_once(world: Any, api_for: Any) -> None:
    """The tier filter is an EXISTS: a deal is listed once, and only with its program's enrolment."""
    register(world.a_admin, "Once")
    with unscoped():
        from openprm.partners.models import PartnerProgram

        enrolments = list(PartnerProgram.objects.filter(partner=world.partner_a).select_related("tier"))
    for enrolment in enrolments:
        if enrolment.tier is None:
            continue
        items = (
            api_for(world.manager)
            .get(f"{API}/deals", {"tier": str(enrolment.tier.public_id)})
            .json()["items"]
        )
        assert [d["customer_name"] for d in items].count("Once") == 1


def test_metrics_are_computed_by_the_database(world: Any, api_for: Any) -> None:
    """No query loads deals row by row: every deal query of the endpoint aggregates (GROUP BY / COUNT)."""
    for i in range(5):
        register(world.a_admin, f"M{i}", amount=f"{100 * (i + 1)}")
    with CaptureQueriesContext(connection) as queries:
        body = api_for(world.manager).get(f"{API}/metrics/deals").json()
    assert body["pipeline_value"] == "1500.00"
    assert body["counts"]["open"] == 5
    for sql in deal_selects(queries.captured_queries):
        upper = sql.upper()
        assert "GROUP BY" in upper or "COUNT(" in upper, sql


def test_metrics_from_the_database_equal_the_pure_summary(world: Any, settings: Any) -> None:
    """The SQL aggregates give exactly what summarizing the loaded deals gives (one currency)."""
    deals = [register(world.a_admin, f"S{i}", amount=f"{i * 37}.{i:02d}") for i in range(1, 9)]
    actor = actor_for(world.manager)
    now = timezone.now()
    with scope(actor.access_scope()):
        services.deal_approve(actor=actor, deal=deals[0], note="")
        for deal, key in ((deals[0], "closed_won"), (deals[1], "closed_won"), (deals[2], "closed_lost")):
            services.deal_move_stage(actor=actor, deal=deal, stage_key=key, lost_reason="price")
        Deal.objects.filter(pk=deals[0].pk).update(
            registered_at=now - datetime.timedelta(days=40, hours=5),
            closed_at=now - datetime.timedelta(days=3),
        )
        Deal.objects.filter(pk=deals[3].pk).update(registered_at=now - datetime.timedelta(days=12))
        rollups_rebuild(workspace_id=world.workspace.pk)  # backdated past the services
        result = selectors.deal_metrics(actor=actor)
        facts = [
            metrics.DealFact(
                partner_id=d.partner_id,
                amount=d.amount,
                outcome=metrics.Outcome(d.stage.outcome),
                source=d.source,
                registered_at=d.registered_at,
                closed_at=d.closed_at,
                win_probability=d.stage.win_probability,
            )
            for d in Deal.objects.select_related("stage")
        ]
    expected = metrics.summarize(facts, now=timezone.now(), tz=timezone.get_current_timezone())
    assert result.summary == expected
    assert result.summary.time_to_close.count == 2
    assert result.summary.won_count == 2 and result.summary.lost_count == 1


# --- item 13: day counts on calendar dates ------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_days_to_close_are_whole_calendar_days_across_dst(world: Any, settings: Any, zone: str) -> None:
    """Dates imported without a time are local midnight; 5 Jan → 30 Mar is 84 days, not 83.958."""
    settings.TIME_ZONE = zone
    tz = zoneinfo.ZoneInfo(zone)
    timezone.activate(tz)
    try:
        deal = register(world.a_admin, "Dst")
        actor = actor_for(world.manager)
        with scope(actor.access_scope()):
            services.deal_approve(actor=actor, deal=deal, note="")
            services.deal_move_stage(actor=actor, deal=deal, stage_key="closed_won", lost_reason="")
            Deal.objects.filter(pk=deal.pk).update(
                registered_at=datetime.datetime(2026, 1, 5, tzinfo=tz),
                closed_at=datetime.datetime(2026, 3, 30, tzinfo=tz),
                stage_changed_at=datetime.datetime(2026, 3, 30, tzinfo=tz),
            )
            rollups_rebuild(workspace_id=world.workspace.pk)  # backdated past the services
            summary = selectors.deal_metrics(actor=actor).summary
        assert summary.time_to_close.median == 84.0
        assert summary.time_to_close.mean == 84.0
    finally:
        timezone.deactivate()


def test_days_in_stage_and_stalled_count_calendar_days(world: Any, settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    timezone.activate(tz)
    try:
        deal = register(world.a_admin, "Stall")
        with unscoped():
            stage = PipelineStage.objects.get(pk=deal.stage_id)
            stage.stall_days = 84
            stage.save(update_fields=["stall_days"])
            entered = datetime.datetime(2026, 1, 5, tzinfo=tz)
            Deal.objects.filter(pk=deal.pk).update(stage_changed_at=entered)
            deal = Deal.objects.select_related("stage").get(pk=deal.pk)
        on_day_84 = datetime.datetime(2026, 3, 30, 0, 30, tzinfo=tz)  # 83.98 elapsed days (DST change)
        assert deal.calendar_days_in_stage(on_day_84) == 84
        assert deal.is_stalled(on_day_84)
        assert not deal.is_stalled(datetime.datetime(2026, 3, 29, 23, 30, tzinfo=tz))
        actor = actor_for(world.manager)
        with scope(actor.access_scope()):
            stalled = selectors.deal_list(actor=actor).filter(selectors.stalled_q(on_day_84))
            assert list(stalled) == [deal]
            day_before = datetime.datetime(2026, 3, 29, 23, 30, tzinfo=tz)
            assert not selectors.deal_list(actor=actor).filter(selectors.stalled_q(day_before)).exists()
    finally:
        timezone.deactivate()


def test_filters_report_only_their_own_errors() -> None:
    assert DealFilters(close_month="2026-02").errors() == {}
    assert set(DealFilters(close_month="0000-01").errors()) == {"close_month"}
    assert selectors.close_month_range("2026-12") == (datetime.date(2026, 12, 1), datetime.date(2027, 1, 1))


def test_review_lists_overdue_deals_of_every_open_stage_oldest_first(world: Any) -> None:
    """The overdue section merges the first rows of each open stage (UNION ALL on PostgreSQL)."""
    today = timezone.localdate()
    plan = [("Oldest", "negotiating", 40), ("Middle", "registered", 20), ("Newest", "qualified", 5)]
    actor = actor_for(world.manager)
    for name, key, days in plan:
        deal = register(world.a_admin, name)
        with scope(actor.access_scope()):
            if key != "registered":
                services.deal_move_stage(actor=actor, deal=deal, stage_key=key, lost_reason="")
            Deal.objects.filter(pk=deal.pk).update(expected_close_date=today - datetime.timedelta(days=days))
    closed = register(world.a_admin, "Closed")
    with scope(actor.access_scope()):
        services.deal_move_stage(actor=actor, deal=closed, stage_key="closed_lost", lost_reason="price")
        Deal.objects.filter(pk=closed.pk).update(expected_close_date=today - datetime.timedelta(days=90))
        sections = selectors.pipeline_review(actor=actor)
        rows = selectors.pipeline_review_rows(
            key="overdue_close", queryset=sections["overdue_close"], limit=2
        )
        assert [d.customer_name for d in rows] == ["Oldest", "Middle"]
        assert sections["overdue_close"].count() == 3


# --- rejected and expired registrations are not in the pipeline ---------------------------------------


def test_rejected_and_expired_registrations_are_never_stalled_overdue_or_on_the_board(
    world: Any, client_for: Any
) -> None:
    live = register(world.a_admin, "Initech")
    rejected = register(world.a_admin, "Umbrella")
    expired = register(world.b_admin, "Hooli")
    admin = actor_for(world.admin)
    with scope(admin.access_scope()):
        services.deal_approve(actor=admin, deal=live)
        services.deal_reject(actor=admin, deal=rejected, reason="Duplicate")
    long_ago = timezone.now() - datetime.timedelta(days=400)
    with unscoped():
        Deal.objects.filter(pk=expired.pk).update(approval_status="expired")
        Deal.objects.filter(pk__in=[live.pk, rejected.pk, expired.pk]).update(
            stage_changed_at=long_ago, expected_close_date=long_ago.date()
        )
    with scope(admin.access_scope()):
        review = selectors.pipeline_review(actor=admin)
        for key in ("stalled", "overdue_close"):
            assert list(review[key].values_list("pk", flat=True)) == [live.pk], key
        stalled = selectors.deal_list(actor=admin, filters=DealFilters(stalled="1"))
        assert list(stalled.values_list("pk", flat=True)) == [live.pk]
    client = client_for(world.manager)
    board = client.get(reverse("deals:list"), {"view": "board"}).text
    assert "Initech" in board and "Umbrella" not in board and "Hooli" not in board
    asked = client.get(reverse("deals:list"), {"view": "board", "approval": "rejected"}).text
    assert "Umbrella" in asked and "Initech" not in asked
