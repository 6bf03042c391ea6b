"""A partner's tier is read as it was on the event's day (its ``TierChange`` history), for the plan of a
tier and for ``partner.tier`` conditions: a sale from before a promotion that is accrued after it earns
the old tier's rate, and the replay agrees. Before the history's first record the first tier known
applies (tiers set up after the sales were imported)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.commissions.services import accrual
from openprm.commissions.services.replay import replay
from openprm.commissions.services.sources import partner_facts
from openprm.commissions.tests.test_accrual import convert, publish, total
from openprm.core.scoping import unscoped
from openprm.partners.models import PartnerProgram, Program, Tier, TierChange
from openprm.partners.services.tier_history import tier_changes_record
from openprm.testing import World

pytestmark = pytest.mark.django_db
D = Decimal
JOINED, PROMOTED = datetime.date(2026, 2, 1), datetime.date(2026, 6, 1)


def _at(month: int, day: int, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, 12, tzinfo=datetime.UTC)


def promote(world: World) -> tuple[Tier, Tier]:
    """Partner A: Silver since 1 February (its enrolment's record), Gold since 1 June."""
    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
        silver, gold = (Tier.objects.get(program=program, name=n) for n in ("Silver", "Gold"))
        TierChange.objects.filter(partner=world.partner_a, program=program).update(changed_on=JOINED)
        PartnerProgram.objects.filter(partner=world.partner_a, program=program).update(tier=gold)
        tier_changes_record(
            workspace_id=world.workspace.pk,
            moves=[(world.partner_a.pk, program.pk, silver.pk, gold.pk)],
            actor_label="test",
            on=PROMOTED,
        )
    return silver, gold


def agrees(world: World) -> None:
    found = replay(workspace_id=world.workspace.pk, start=_at(1, 1, 2025), end=_at(12, 1))
    assert found.differences == [] and found.compared == 3


def test_the_tier_on_the_events_day_picks_the_tier_plan(world: World) -> None:
    publish(
        world, {"rules": [{"key": "base", "event": "purchase", "reward": {"type": "percent", "rate": 10}}]}
    )
    _, gold = promote(world)
    publish(
        world,
        {"rules": [{"key": "gold", "event": "purchase", "reward": {"type": "percent", "rate": 30}}]},
        name="Gold plan",
        level="tier",
        target=gold.pk,
    )
    before = convert(world, "100", at=_at(5, 15))
    after = convert(world, "100", at=_at(6, 10))
    early = convert(world, "100", at=_at(1, 15))  # before the history began: Silver, as it began
    accrual.accrue(workspace_id=world.workspace.pk)  # all three accrued after the promotion
    assert total(source_id=before.pk) == D("10.00")  # Silver in May: the program's plan
    assert total(source_id=after.pk) == D("30.00")  # Gold since June: the Gold plan
    assert total(source_id=early.pk) == D("10.00")
    agrees(world)


def test_partner_tier_conditions_read_the_tier_of_the_events_day(world: World) -> None:
    promote(world)
    rules: dict[str, Any] = {
        "rules": [
            {"key": "base", "event": "purchase", "reward": {"type": "percent", "rate": 10}},
            {
                "key": "gold",
                "event": "purchase",
                "reward": {"type": "percent", "rate": 25},
                "conditions": {"all": [{"field": "partner.tier", "op": "eq", "value": "Gold"}]},
            },
        ]
    }
    publish(world, rules)
    before = convert(world, "200", at=_at(5, 31))
    after = convert(world, "200", at=_at(6, 1))
    early = convert(world, "200", at=_at(1, 10))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=before.pk) == D("20.00")
    assert total(source_id=after.pk) == D("50.00")
    assert total(source_id=early.pk) == D("20.00")
    agrees(world)


def test_tier_days_follow_the_history(world: World) -> None:
    silver, gold = promote(world)
    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
        PartnerProgram.objects.filter(partner=world.partner_a, program=program).update(tier=None)
        tier_changes_record(
            workspace_id=world.workspace.pk,
            moves=[(world.partner_a.pk, program.pk, gold.pk, None)],
            actor_label="test",
            on=datetime.date(2026, 9, 1),
        )
        facts = partner_facts(world.workspace.pk, [world.partner_a.pk, world.partner_b.pk])[
            world.partner_a.pk
        ]
    assert facts.tier_on(program.pk, datetime.date(2025, 5, 1)) == (silver.pk, "Silver")  # as it began
    assert facts.tier_on(program.pk, datetime.date(2026, 5, 31)) == (silver.pk, "Silver")
    assert facts.tier_on(program.pk, PROMOTED) == (gold.pk, "Gold")
    assert facts.tier_on(program.pk, datetime.date(2026, 9, 1)) == (None, "")  # its tier removed
    assert facts.tiers_on(datetime.date(2026, 7, 1)) == ({program.pk: "Gold"}, (gold.pk,))
