"""Scorecards, targets, tiers and rankings read back from deals and events written through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.core.scoping import scope
from openprm.metrics.periods import Period
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner, Tier
from openprm.scorecards import selectors, services
from openprm.scorecards.tests.conftest import register, this_month
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db
D = Decimal

ONE_DIMENSION = [
    {
        "key": "financial",
        "weight": 1,
        "metrics": [
            {"key": "won_revenue", "weight": 1, "method": "target"},
            {"key": "logins", "weight": 1, "method": "percentile"},
        ],
    }
]


def program_of(world: Any) -> Any:
    with scope(world.system.access_scope()):
        return Tier.objects.select_related("program").get(name="Gold").program


def test_scorecard_scores_against_targets_and_peers(data: Any) -> None:
    actor = actor_for(data.admin)
    period = this_month()
    with scope(actor.access_scope()):
        program = program_of(data)
        services.scorecard_config_set(actor=actor, program=program, dimensions=ONE_DIMENSION, cap=150)
        services.target_create(
            actor=actor,
            data={"metric": "won_revenue", "period": period.key, "partner": data.partner_a, "value": "800"},
        )
        card = selectors.scorecard(actor=actor, partner=data.partner_a, period=period)
    won, logins = card.dimensions[0].metrics
    assert (won.value, won.target, won.attainment, won.score) == (
        D("1000.00"),
        D(800),
        D("125.0"),
        D("125.0"),
    )
    assert (logins.method, logins.percentile) == ("percentile", D(100))  # 2 logins against B's 1
    assert card.overall == D("100.0")  # (125 + 100) / 2, capped at 100
    assert (won.contribution, logins.contribution) == (D("62.5"), D("50.0"))
    assert card.rank_band == "top 50%" and card.peers == 2
    assert card.program == "Partner Program" and card.tier == "Silver"


def test_default_config_drops_metrics_without_data(data: Any) -> None:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        card = selectors.scorecard(actor=actor, partner=data.partner_b, period=this_month())
    notes = {m.key: m.note for d in card.dimensions for m in d.metrics}
    assert notes["trainings_completed"].startswith("no data: needs")
    assert notes["won_revenue"] == ""
    assert card.overall is not None and D(0) <= card.overall <= D(100)
    engagement = next(d for d in card.dimensions if d.key == "engagement")
    assert engagement.share > 0  # logins has data


def test_scorecard_table_rows_sort_and_filters(data: Any) -> None:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        rows = selectors.scorecard_table(actor=actor, period=this_month())
        by_name = selectors.scorecard_table(actor=actor, period=this_month(), sort="name")
        gold = Tier.objects.get(name="Gold")
        only_b = selectors.scorecard_table(
            actor=actor, period=this_month(), filters=PartnerFilters(tier=str(gold.public_id))
        )
    assert [r.name for r in by_name] == ["Acme Resellers", "Globex Referrals"]
    assert rows[0].overall is not None and rows[0].overall >= (rows[1].overall or 0)
    assert {r.rank for r in rows} == {1, 2}
    assert rows[0].figures["won_revenue"].value in (D("1000.00"), D("200.00"))
    assert [r.name for r in only_b] == ["Globex Referrals"]
    assert only_b[0].rank in (1, 2)  # ranked among the whole program, not the filtered rows


def test_a_partner_user_gets_only_their_own_scorecard(data: Any) -> None:
    actor = actor_for(data.b_admin)
    with scope(actor.access_scope()):
        own = selectors.scorecard(actor=actor, partner=data.partner_b, period=this_month())
        rows = selectors.scorecard_table(actor=actor, period=this_month())
        with pytest.raises(Partner.DoesNotExist):
            selectors.scorecard(actor=actor, partner=data.partner_a, period=this_month())
    assert own.partner_name == "Globex Referrals" and own.rank_band
    assert [r.name for r in rows] == ["Globex Referrals"]


def test_restricted_staff_see_only_their_partners(data: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.partners.services import partner_update
    from openprm.testing import make_user

    owner = make_user(data.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with scope(data.system.access_scope()):
        partner_update(actor=data.system, partner=data.partner_a, data={"owner_email": owner.email})
    actor = actor_for(owner)
    with scope(actor.access_scope()):
        rows = selectors.scorecard_table(actor=actor, period=this_month())
        with pytest.raises(Partner.DoesNotExist):
            selectors.scorecard(actor=actor, partner=data.partner_b, period=this_month())
    assert [r.name for r in rows] == ["Acme Resellers"]


def test_tier_progress_and_recommendation_with_gaps(data: Any) -> None:
    actor = actor_for(data.admin)
    period = this_month()
    with scope(actor.access_scope()):
        gold = Tier.objects.get(name="Gold")
        silver = Tier.objects.get(name="Silver")
        services.tier_criterion_create(
            actor=actor, tier=silver, data={"metric": "won_revenue", "minimum": "100", "grain": "month"}
        )
        services.tier_criterion_create(
            actor=actor, tier=gold, data={"metric": "won_revenue", "minimum": "1200", "grain": "month"}
        )
        services.tier_criterion_create(
            actor=actor, tier=gold, data={"metric": "logins", "minimum": "2", "grain": "month"}
        )
        a = selectors.tier_progress(actor=actor, partner=data.partner_a, period=period)
        b = selectors.tier_progress(actor=actor, partner=data.partner_b, period=period)
    assert (a.current, a.next_tier, a.recommendation.action) == ("Silver", "Gold", "keep")
    assert a.recommendation.gaps == ("$200 more won revenue to reach Gold",)
    assert [(c.metric, c.met) for c in a.next_checks] == [("logins", True), ("won_revenue", False)]
    assert (b.current, b.recommendation.action, b.recommendation.recommended) == ("Gold", "demote", "Silver")
    assert any("Below Gold's criteria" in r for r in b.recommendation.reasons)


def test_a_criterion_on_a_metric_the_scorecard_does_not_score_reads_its_value(data: Any) -> None:
    """Lost deals are not on the (default) scorecard: Gold's monthly criterion on them is still judged on
    the month's figure (it used to read "no lost deals yet"), as is Silver's quarterly one."""
    actor = actor_for(data.admin)
    period = this_month()
    with scope(actor.access_scope()):
        gold, silver = Tier.objects.get(name="Gold"), Tier.objects.get(name="Silver")
        services.tier_criterion_create(
            actor=actor, tier=gold, data={"metric": "lost_count", "minimum": "0", "grain": "month"}
        )
        services.tier_criterion_create(
            actor=actor, tier=silver, data={"metric": "lost_count", "minimum": "1", "grain": "quarter"}
        )
        a = selectors.tier_progress(actor=actor, partner=data.partner_a, period=period)
    (monthly,), (quarterly,) = a.next_checks, a.current_checks
    assert (monthly.grain, monthly.value, monthly.met, monthly.gap) == ("month", 1, False, D(1))
    assert monthly.text == "1 less lost deals"  # at most 0 lost deals a month (lower is better)
    assert (quarterly.grain, quarterly.value, quarterly.met) == ("quarter", 1, True)


def test_leaderboard_and_pareto(data: Any, world: Any) -> None:
    from openprm.testing import make_partner

    third = make_partner(world.system, "Initech", external_id="C-1")
    register(world, third, "50.00", "closed_won")
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        board = selectors.leaderboard(actor=actor, period=this_month(), metric="won_revenue")
        cut = selectors.pareto(actor=actor, period=this_month(), metric="won_revenue")
        cycle = selectors.leaderboard(actor=actor, period=this_month(), metric="time_to_close_days")
    assert [(r.rank, r.name, r.value) for r in board.rows] == [
        (1, "Acme Resellers", D("1000.00")),
        (2, "Globex Referrals", D("200.00")),
        (3, "Initech", D("50.00")),
    ]
    assert board.rows[0].share == D("0.8000") and board.rows[-1].cumulative == D("1.0000")
    assert [m.name for m in cut.makers] == ["Acme Resellers"]  # 1,000 of 1,250 = 80%
    assert cut.share_of_partners == D("0.3333") and cut.share_of_total == D("0.8000")
    assert cycle.metric == "time_to_close_days"


def test_trends_month_over_month(data: Any) -> None:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        rows = selectors.trends(
            actor=actor, partner=data.partner_a, period=this_month(), keys=["won_revenue", "logins"]
        )
        total = selectors.trends(actor=actor, partner=None, period=this_month(), keys=["won_revenue"])
    won = rows[0]
    assert won.current.value == D("1000.00") and won.previous.value == D("0.00")
    assert won.change is None  # from nothing: no percentage
    assert total[0].current.value == D("1200.00")


def test_baseline_is_the_previous_period_of_the_same_grain(data: Any) -> None:
    actor = actor_for(data.admin)
    following = this_month().end + datetime.timedelta(days=1)
    next_month = Period.month_of(following)
    with scope(actor.access_scope()):
        gold, silver = Tier.objects.get(name="Gold"), Tier.objects.get(name="Silver")
        own = services.target_create(
            actor=actor,
            data={"metric": "won_revenue", "period": next_month.key, "partner": data.partner_a, "value": "9"},
        )
        tier = services.target_create(
            actor=actor, data={"metric": "logins", "period": next_month.key, "tier": gold, "value": "9"}
        )
        program = services.target_create(
            actor=actor,
            data={"metric": "won_revenue", "period": next_month.key, "program": silver.program, "value": "9"},
        )
        year = services.target_create(
            actor=actor,
            data={
                "metric": "won_revenue",
                "period": str(following.year),
                "partner": data.partner_b,
                "value": "9",
            },
        )
    assert own.baseline == D("1000.0000")  # this month's won revenue: the month before next month
    assert tier.baseline == D("1.0000")  # B, the only Gold partner, logged in once
    assert program.baseline == D("600.0000")  # the mean of A's 1,000 and B's 200
    assert year.baseline == (D("200.0000") if following.year == this_month().start.year + 1 else D("0.0000"))
