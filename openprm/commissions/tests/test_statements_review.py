"""The review's statement findings: a past statement never changes (an entry rejected later keeps its
line there; the rejection is a line of the period it happened in — M6), an entry booked on a pay day after
the run's statements were made is in the next statement (periods end at the payment's moment), and the
figures of every partner come from one grouped aggregate (M5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openprm.commissions.models import LedgerEntry, PayoutRun, Statement
from openprm.commissions.selectors import statements as selectors
from openprm.commissions.services import payouts
from openprm.commissions.services import statements as services
from openprm.commissions.tests.payout_fixtures import bank_details, entry, make_plan
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for, make_partner

pytestmark = pytest.mark.django_db


def _month_ago() -> datetime.date:
    return (timezone.now() - datetime.timedelta(days=40)).date()


def _sum_lines(statement: Statement) -> Decimal:
    with unscoped():
        return sum((line.amount for line in selectors.statement_lines(statement)), Decimal("0.00"))


def test_a_late_rejection_changes_no_past_statement_and_is_booked_when_it_happens(world: World) -> None:
    plan = make_plan(world, min_payout="0")
    kept = entry(world, world.partner_a, "60.00", plan=plan)
    fraud = entry(world, world.partner_a, "100.00", plan=plan)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        (past,) = services.statements_generate(actor=actor, month=_month_ago())
    assert (past.earned, past.closing) == (Decimal("160.00"), Decimal("160.00"))
    with unscoped():  # finance rejects it weeks later (as services.ledger.entries_reject writes it)
        LedgerEntry.objects.filter(pk=fraud.pk).update(
            state="rejected", rejected_at=timezone.now(), rejected_reason="Fraud"
        )
    assert _sum_lines(past) == past.earned  # the lines still add up to the frozen totals
    with unscoped():
        states = [line.state for line in selectors.statement_lines(past)]
    assert states[1].startswith("Approved (rejected")
    with scope(actor.access_scope()):
        services.statements_generate(actor=actor, month=_month_ago())  # made again: the same figures
        (now,) = services.statements_generate(actor=actor, month=timezone.now().date())
    with unscoped():
        past.refresh_from_db()
        lines = selectors.statement_lines(now)
    assert (past.earned, past.closing) == (Decimal("160.00"), Decimal("160.00"))
    assert (now.opening, now.earned, now.closing) == (Decimal("160.00"), Decimal("-100.00"), Decimal("60.00"))
    assert [(line.kind, line.amount, line.why) for line in lines] == [
        ("Rejection", Decimal("-100.00"), "rejected: Fraud")
    ]
    assert kept.pk  # untouched


def _pay(world: World) -> PayoutRun:
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(
            actor=actor, data={"currency": "USD", "cutoff": timezone.now().date()}
        )
        run = payouts.payout_run_export(actor=actor, run=run)
        return payouts.payout_run_mark_paid(actor=actor, run=run, reference=f"R-{run.pk}")


def test_an_entry_booked_on_the_pay_day_after_the_run_is_in_the_next_statement(world: World) -> None:
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=plan)
    _pay(world)
    late = entry(world, world.partner_a, "30.00", plan=plan, days_ago=0)  # the same day, after the run
    _pay(world)
    with unscoped():
        first, second = Statement.objects.filter(partner=world.partner_a).order_by("created_at", "id")
    assert (first.earned, first.paid, first.closing) == (Decimal("70.00"), Decimal("70.00"), Decimal("0.00"))
    assert (second.opening, second.earned, second.paid, second.closing) == (
        Decimal("0.00"),
        Decimal("30.00"),
        Decimal("30.00"),
        Decimal("0.00"),
    )
    assert second.period_start == first.period_end == timezone.now().date()
    assert _sum_lines(first) == first.earned - first.paid
    assert _sum_lines(second) == second.earned - second.paid
    with unscoped():
        assert late.pk in {e.pk for e in LedgerEntry.objects.filter(state="paid", amount=Decimal("30.00"))}


def _ledger_queries(context: CaptureQueriesContext) -> int:
    return sum(1 for q in context.captured_queries if "commissions_ledgerentry" in q["sql"])


@pytest.mark.parametrize("extra_partners", [0, 6])
def test_statement_figures_take_one_grouped_query_whatever_the_partners(
    world: World, extra_partners: int
) -> None:
    plan = make_plan(world, min_payout="0")
    partners = [world.partner_a, world.partner_b]
    partners += [make_partner(world.system, f"Extra {n}") for n in range(extra_partners)]
    for partner in partners:
        bank_details(world, partner)
        entry(world, partner, "20.00", plan=plan)
        entry(world, partner, "5.00", plan=plan, days_ago=400)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()), CaptureQueriesContext(connection) as generating:
        made = services.statements_generate(actor=actor, month=_month_ago())
    assert len(made) == len(partners) and _ledger_queries(generating) == 1
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(
            actor=actor, data={"currency": "USD", "cutoff": timezone.now().date()}
        )
        run = payouts.payout_run_export(actor=actor, run=run)
    with scope(actor.access_scope()), CaptureQueriesContext(connection) as paying:
        payouts.payout_run_mark_paid(actor=actor, run=run, reference="R-1")
    statement_queries = [q["sql"] for q in paying.captured_queries if "SUM(" in q["sql"].upper()]
    assert len(statement_queries) == 1  # the run's statements: one grouped aggregate
    with unscoped():
        assert Statement.objects.filter(payout_item__run=run).count() == len(partners)
