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


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


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
    assert facts.tier_on(program.pk, _midnight(datetime.date(2025, 5, 1))) == (
        silver.pk,
        "Silver",
    )  # as it began
    assert facts.tier_on(program.pk, _at(5, 31)) == (silver.pk, "Silver")
    assert facts.tier_on(program.pk, _midnight(PROMOTED)) == (gold.pk, "Gold")  # dated back: from its day
    assert facts.tier_on(program.pk, _at(9, 1)) == (None, "")  # its tier removed
    assert facts.tiers_on(_at(7, 1)) == ({program.pk: "Gold"}, (gold.pk,))


def _tiers(world: World) -> tuple[Program, Tier, Tier]:
    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
        silver, gold = (Tier.objects.get(program=program, name=n) for n in ("Silver", "Gold"))
    return program, silver, gold


def _move(world: World, program: Program, before: Tier | None, after: Tier, at: datetime.datetime) -> None:
    """The partner moved at ``at``, recorded as the tier services record it (dated that day, at then)."""
    with unscoped():
        PartnerProgram.objects.filter(partner=world.partner_a, program=program).update(tier=after)
        changes = tier_changes_record(
            workspace_id=world.workspace.pk,
            moves=[(world.partner_a.pk, program.pk, before.pk if before else None, after.pk)],
            actor_label="test",
            on=at.date(),
        )
        TierChange.objects.filter(pk__in=[c.pk for c in changes]).update(changed_at=at)


def _gold_plan(world: World, gold: Tier) -> None:
    publish(
        world, {"rules": [{"key": "base", "event": "purchase", "reward": {"type": "percent", "rate": 10}}]}
    )
    rules = {"rules": [{"key": "gold", "event": "purchase", "reward": {"type": "percent", "rate": 30}}]}
    publish(world, rules, name="Gold plan", level="tier", target=gold.pk)


def _replay_agrees(world: World, compared: int) -> None:
    found = replay(workspace_id=world.workspace.pk, start=_at(1, 1, 2025), end=_at(12, 1))
    assert found.differences == [] and found.compared == compared


def test_a_promotion_later_the_same_day_leaves_that_mornings_sale_as_it_was(world: World) -> None:
    program, silver, gold = _tiers(world)
    with unscoped():
        TierChange.objects.filter(partner=world.partner_a, program=program).update(changed_on=JOINED)
    _gold_plan(world, gold)
    morning = convert(world, "100", at=datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=morning.pk) == D("10.00")
    _move(world, program, silver, gold, datetime.datetime(2026, 6, 1, 15, tzinfo=datetime.UTC))
    evening = convert(world, "100", at=datetime.datetime(2026, 6, 1, 16, tzinfo=datetime.UTC))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=evening.pk) == D("30.00")
    _replay_agrees(world, 2)  # the morning's sale stays Silver's


def test_a_first_tier_given_later_is_not_read_back_before_it(world: World) -> None:
    program, _, gold = _tiers(world)
    with unscoped():  # enrolled without a tier in January (no record: nothing moved)
        TierChange.objects.filter(partner=world.partner_a, program=program).delete()
        PartnerProgram.objects.filter(partner=world.partner_a, program=program).update(
            tier=None, joined_on=datetime.date(2026, 1, 10)
        )
    _gold_plan(world, gold)
    may = convert(world, "100", at=_at(5, 15))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=may.pk) == D("10.00")  # no tier in May: the program's plan
    _move(world, program, None, gold, _at(6, 1))
    june = convert(world, "100", at=_at(6, 2))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=june.pk) == D("30.00")
    _replay_agrees(world, 2)


def test_a_tier_renamed_reads_its_name_now_on_every_day(world: World) -> None:
    program, silver, gold = _tiers(world)
    with unscoped():
        TierChange.objects.filter(partner=world.partner_a, program=program).update(changed_on=JOINED)
    condition = {"all": [{"field": "partner.tier", "op": "eq", "value": "Silver"}]}
    rules: dict[str, Any] = {
        "rules": [
            {"key": "base", "event": "purchase", "reward": {"type": "percent", "rate": 10}},
            {
                "key": "silver",
                "event": "purchase",
                "reward": {"type": "percent", "rate": 25},
                "conditions": condition,
            },
        ]
    }
    publish(world, rules)
    with unscoped():
        Tier.objects.filter(pk=silver.pk).update(name="Silver Plus")
    april = convert(world, "100", at=_at(4, 10))
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(source_id=april.pk) == D("10.00")  # "Silver Plus" is not "Silver"
    _move(world, program, silver, gold, _at(6, 1))
    _replay_agrees(world, 1)  # April still reads "Silver Plus", not the name recorded at joining
