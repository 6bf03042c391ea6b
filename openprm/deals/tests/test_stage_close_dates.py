"""A deal's close date (``closed_at``) across stage moves: set when it closes (open → won, lost → won),
kept when it moves between two stages of the same outcome (won → won: the win, its commission and its
month stay where they were), cleared when it opens again."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import Deal, Outcome, PipelineStage
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db
CLOSED = datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC)


def approved_deal(world) -> Deal:
    manager = actor_for(world.manager)
    payload = {"customer_name": "Initech", "customer_domain": "initech.example", "amount": "12000"}
    with scope(manager.access_scope()):
        deal, _ = services.deal_register(actor=manager, data={"partner_id": world.partner_a.pk, **payload})
        services.deal_approve(actor=manager, deal=deal)
    return deal


def move(world, deal: Deal, key: str, lost_reason: str = "") -> Deal:
    manager = actor_for(world.manager)
    with scope(manager.access_scope()):
        fresh = Deal.objects.get(pk=deal.pk)
        services.deal_move_stage(actor=manager, deal=fresh, stage_key=key, lost_reason=lost_reason)
    with unscoped():
        return Deal.objects.get(pk=deal.pk)


def backdate(deal: Deal) -> None:
    with unscoped():
        Deal.objects.filter(pk=deal.pk).update(closed_at=CLOSED)


def add_stage(deal: Deal, key: str, outcome: str) -> None:
    with unscoped():
        last = PipelineStage.objects.filter(program_id=deal.program_id).order_by("-order").first()
        assert last is not None
        PipelineStage.objects.create(
            workspace_id=deal.workspace_id,
            program_id=deal.program_id,
            key=key,
            name=key.replace("_", " ").capitalize(),
            order=last.order + 1,
            win_probability=Decimal("1") if outcome == Outcome.WON else Decimal("0"),
            outcome=outcome,
        )


def test_a_move_between_two_won_stages_keeps_the_close_date(world):
    deal = approved_deal(world)
    add_stage(deal, "won_signed", Outcome.WON)
    assert move(world, deal, "closed_won").closed_at is not None  # open → won: closed now
    backdate(deal)
    moved = move(world, deal, "won_signed")
    assert moved.stage.key == "won_signed"
    assert moved.closed_at == CLOSED  # it was the moment of the move
    assert move(world, deal, "closed_won").closed_at == CLOSED  # and back


def test_a_move_between_two_lost_stages_keeps_the_close_date(world):
    deal = approved_deal(world)
    add_stage(deal, "lost_no_budget", Outcome.LOST)
    move(world, deal, "closed_lost", lost_reason="price")
    backdate(deal)
    moved = move(world, deal, "lost_no_budget", lost_reason="budget")
    assert moved.closed_at == CLOSED and moved.lost_reason == "budget"


def test_a_deal_closed_from_open_or_from_lost_is_closed_at_the_move(world):
    deal = approved_deal(world)
    assert move(world, deal, "qualified").closed_at is None
    before = datetime.datetime.now(datetime.UTC)
    won = move(world, deal, "closed_won")
    assert won.closed_at is not None and won.closed_at >= before
    backdate(deal)
    lost = move(world, deal, "closed_lost", lost_reason="price")  # won → lost: a new close
    assert lost.closed_at is not None and lost.closed_at >= before
    backdate(deal)
    won_again = move(world, deal, "closed_won")  # lost → won: the win is now
    assert won_again.closed_at is not None and won_again.closed_at >= before
    assert move(world, deal, "negotiating").closed_at is None  # open again: no close
