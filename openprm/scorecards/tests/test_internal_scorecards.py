"""Scorecards and tier progress never show partner users an internal figure (partnership costs, the
company's revenue: ``figures.staff_only``), whoever calls the selectors: partner A's program scores it on
cost per partner dollar (against a target) and on partnership costs (against its peers), its current tier
(Silver) requires partnership costs of at most 99,999.99 and the next one (Gold) a cost per partner dollar
of at most 12.3457. A's users see those metrics' places in the scorecard without value, target, score or
points, and the criteria as met / not met only — on the scorecard page and API, the tier-progress API, the
portal's Performance and home pages; staff see every figure. Nothing answers 500."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.scoping import scope
from openprm.finance.services.records import COSTS, record_create
from openprm.partners.models import Program, Tier
from openprm.scorecards import selectors
from openprm.scorecards import services as scorecard_services
from openprm.scorecards.selectors.scorecards import INTERNAL_FIGURE, REQUIREMENT, REQUIREMENT_KEY
from openprm.scorecards.tests.conftest import this_month
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

INTERNAL = ("cost_per_partner_dollar", "partnership_costs")
COST = "86420.13"  # A's partnership costs this month: cost per partner dollar 86.42013 (won 1,000)
TARGET = "4321987"  # A's target on cost per partner dollar
# Strings any of which on a partner user's page or answer would be a leak: the costs, the ratio, the
# target, the criteria's minimums (99,999.99 and 12.3457) and the gap to Gold (86.42 − 12.35 ≈ 74.1).
LEAKS = (
    "86420",
    "86,420",
    "86.42",
    TARGET,
    "4,321,987",
    "99999",
    "99,999",
    "12.3457",
    "12.35",
    "74.1",
    "less cost per partner dollar",
    "partnership costs 86",
)


@pytest.fixture
def internal(data: Any) -> Any:
    admin = actor_for(data.admin)
    month = this_month().key
    with scope(admin.access_scope()):
        record_create(
            actor=admin,
            kind=COSTS,
            data={"partner_id": data.partner_a.pk, "period": month, "category": "mdf", "amount": COST},
        )
        record_create(
            actor=admin,
            kind=COSTS,
            data={"partner_id": data.partner_b.pk, "period": month, "category": "fees", "amount": "500"},
        )
        scorecard_services.target_create(
            actor=admin,
            data={
                "metric": "cost_per_partner_dollar",
                "period": month,
                "value": TARGET,
                "partner": data.partner_a,
            },
        )
        program = Program.objects.get(name="Partner Program")
        scorecard_services.scorecard_config_set(
            actor=admin,
            program=program,
            dimensions=[
                {
                    "key": "financial",
                    "weight": "60",
                    "metrics": [
                        {"key": "won_revenue", "weight": "50", "method": "auto"},
                        {"key": "cost_per_partner_dollar", "weight": "30", "method": "target"},
                        {"key": "partnership_costs", "weight": "20", "method": "percentile"},
                    ],
                },
                {"key": "engagement", "weight": "40", "metrics": [{"key": "logins", "weight": "100"}]},
            ],
        )
        silver, gold = Tier.objects.get(name="Silver"), Tier.objects.get(name="Gold")
        for tier, key, minimum in (
            (silver, "partnership_costs", "99999.99"),
            (gold, "won_revenue", "100"),
            (gold, "cost_per_partner_dollar", "12.3457"),
        ):
            scorecard_services.tier_criterion_create(
                actor=admin, tier=tier, data={"metric": key, "minimum": minimum, "grain": "month"}
            )
    return data


def _clean(body: str, where: str) -> None:
    for leak in LEAKS:
        assert leak not in body, (leak, where)


def _metrics(card: Any) -> dict[str, Any]:
    return {m.key: m for d in card.dimensions for m in d.metrics}


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_users_get_no_internal_figure_from_the_selectors(internal: Any, who: str) -> None:
    actor = actor_for(getattr(internal, who))
    with scope(actor.access_scope()):
        card = selectors.scorecard(actor=actor, partner=internal.partner_a, period=this_month())
        progress = selectors.tier_progress(actor=actor, partner=internal.partner_a, period=this_month())
    metrics = _metrics(card)
    assert card.withheld == frozenset(INTERNAL)
    for key in INTERNAL:
        m = metrics[key]
        assert (m.value, m.target, m.attainment, m.percentile, m.score, m.contribution) == (None,) * 6
        assert m.missing == m.note == INTERNAL_FIGURE
        assert m.share > 0  # it counted in the overall score, which stays the program's rule
    assert metrics["won_revenue"].value == Decimal("1000.00") and metrics["won_revenue"].score is not None
    assert card.overall is not None
    # tier progress: Silver kept (costs under its maximum), Gold needs the cost ratio: met / not met only
    assert (progress.current, progress.next_tier, progress.recommendation.action) == (
        "Silver",
        "Gold",
        "keep",
    )
    (kept,) = progress.current_checks
    assert (kept.metric, kept.label, kept.minimum, kept.value, kept.gap, kept.met, kept.text) == (
        REQUIREMENT_KEY,
        REQUIREMENT,
        None,
        None,
        None,
        True,
        "",
    )
    revenue, ratio = sorted(progress.next_checks, key=lambda c: c.metric != "won_revenue")
    assert revenue.metric == "won_revenue" and revenue.met and revenue.value == Decimal("1000.00")
    assert (ratio.metric, ratio.minimum, ratio.value, ratio.gap, ratio.met) == (
        REQUIREMENT_KEY,
        None,
        None,
        None,
        False,
    )
    words = " ".join([*progress.recommendation.reasons, *progress.recommendation.gaps, ratio.text])
    _clean(words, "recommendation")
    assert "requirement set by your partner manager" in words
    assert card.recommendation == progress.recommendation


def test_staff_get_every_internal_figure(internal: Any) -> None:
    for user in (internal.admin, internal.analyst):
        actor = actor_for(user)
        with scope(actor.access_scope()):
            card = selectors.scorecard(actor=actor, partner=internal.partner_a, period=this_month())
            progress = selectors.tier_progress(actor=actor, partner=internal.partner_a, period=this_month())
        metrics = _metrics(card)
        assert card.withheld == frozenset()
        assert metrics["partnership_costs"].value == Decimal(COST)
        assert metrics["partnership_costs"].percentile is not None
        assert metrics["cost_per_partner_dollar"].target == Decimal(TARGET)
        assert metrics["cost_per_partner_dollar"].score is not None
        ratio = next(c for c in progress.next_checks if c.metric == "cost_per_partner_dollar")
        assert ratio.minimum == Decimal("12.3457") and ratio.gap is not None and not ratio.met
        assert "74.1 less cost per partner dollar to reach Gold" in progress.recommendation.gaps
        assert any("partnership costs 86420.13" in r for r in progress.recommendation.reasons)


def test_the_score_does_not_depend_on_who_looks(internal: Any) -> None:
    scores = []
    for user in (internal.admin, internal.a_admin):
        actor = actor_for(user)
        with scope(actor.access_scope()):
            card = selectors.scorecard(actor=actor, partner=internal.partner_a, period=this_month())
        scores.append((card.overall, card.rank_band, [d.score for d in card.dimensions]))
    assert scores[0] == scores[1]


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_pages_and_api_show_no_internal_figure(
    internal: Any, client_for: Any, api_for: Any, who: str
) -> None:
    user = getattr(internal, who)
    a_id = internal.partner_a.public_id
    month = this_month().key
    client = client_for(user)
    for url in (
        f"/scorecards/partners/{a_id}/",
        f"/scorecards/partners/{a_id}/?period={month}",
        f"/portal/performance/?period={month}",
        "/portal/performance/",
        "/portal/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _clean(response.content.decode(), url)
    body = client.get(f"/scorecards/partners/{a_id}/").content.decode()
    assert 'data-metric="partnership_costs"' in body and INTERNAL_FIGURE in body  # keeps its place
    assert "not met yet</span> Requirement set by your partner manager" in body
    portal = client.get(f"/portal/performance/?period={month}").content.decode()
    assert "meet a requirement set by your partner manager" in portal  # the gap to Gold, in words
    assert f'data-metric="{REQUIREMENT_KEY}"' in portal and "not met yet" in portal
    assert 'data-metric="cost_per_partner_dollar"' in portal  # the scorecard row, without figures

    api = api_for(user)
    for url in (
        f"/api/v1/scorecards/partners/{a_id}",
        f"/api/v1/scorecards/partners/{a_id}?period={month}",
        f"/api/v1/scorecards/partners/{a_id}/tier-progress",
        f"/api/v1/scorecards/partners/{a_id}/tier-progress?period={month}",
        "/api/v1/scorecards",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        _clean(response.content.decode(), url)
    progress = api.get(f"/api/v1/scorecards/partners/{a_id}/tier-progress").json()
    checks = progress["current_checks"] + progress["next_checks"]
    assert {c["metric"] for c in checks} == {"won_revenue", REQUIREMENT_KEY}
    for check in checks:
        if check["metric"] == REQUIREMENT_KEY:
            assert (check["minimum"], check["value"], check["gap"]) == (None, None, None)
            assert check["label"] == REQUIREMENT
    text = str(progress)
    for label in ("Partnership costs", "partnership costs", "Cost per partner dollar", "cost per partner"):
        assert label not in text
    card = api.get(f"/api/v1/scorecards/partners/{a_id}").json()
    for m in (m for d in card["dimensions"] for m in d["metrics"] if m["key"] in INTERNAL):
        assert [m[k] for k in ("value", "target", "attainment", "percentile", "score", "contribution")] == [
            None
        ] * 6
        assert m["missing"] == INTERNAL_FIGURE


def test_staff_pages_and_api_show_the_internal_figures(internal: Any, client_for: Any, api_for: Any) -> None:
    a_id = internal.partner_a.public_id
    body = client_for(internal.admin).get(f"/scorecards/partners/{a_id}/").content.decode()
    assert "74.1 less cost per partner dollar" in body and "86420.13" in body
    api = api_for(internal.admin)
    progress = api.get(f"/api/v1/scorecards/partners/{a_id}/tier-progress").json()
    ratio = next(c for c in progress["next_checks"] if c["metric"] == "cost_per_partner_dollar")
    assert Decimal(ratio["minimum"]) == Decimal("12.3457") and ratio["gap"] is not None
    card = api.get(f"/api/v1/scorecards/partners/{a_id}").json()
    costs = next(m for d in card["dimensions"] for m in d["metrics"] if m["key"] == "partnership_costs")
    assert Decimal(costs["value"]) == Decimal(COST)


def test_hiding_costs_no_query(internal: Any) -> None:
    """The partner user's card is the staff card with figures blanked in Python: no query more."""
    counts = []
    for user in (internal.admin, internal.a_admin):
        actor = actor_for(user)
        with scope(actor.access_scope()):
            selectors.tier_progress(actor=actor, partner=internal.partner_a, period=this_month())  # warm
            with CaptureQueriesContext(connection) as captured:
                selectors.tier_progress(actor=actor, partner=internal.partner_a, period=this_month())
        counts.append(len(captured.captured_queries))
    assert counts[1] <= counts[0]
