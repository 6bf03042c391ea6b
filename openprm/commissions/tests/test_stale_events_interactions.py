"""Activity events that earn commissions (rules on custom event types), edited or deleted after the accrual
paid them: the catch-up sees the change. A deleted event keeps nothing (reversals linked to the rows they
correct, a clawback once paid, the parent's override following); a changed type is not paid twice (the old
type's evaluation is closed, the new type evaluated; the old type restored is a new generation); a changed
date moves the commission to its new period; changed properties re-evaluate the rules' conditions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.activity.models import Event
from openprm.activity.services import interactions
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import T0, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import link
from openprm.commissions.tests.test_corrections_stale import pay
from openprm.core.scoping import scope, unscoped

pytestmark = pytest.mark.django_db
D = Decimal

RULES = {
    "rules": [
        {
            "key": "meet",
            "event": ["custom"],
            "custom_event": "meeting",
            "reward": {"type": "flat", "amount": 50},
        },
        {
            "key": "call",
            "event": ["custom"],
            "custom_event": "call",
            "reward": {"type": "flat", "amount": 30},
        },
        {
            "key": "demo",
            "event": ["custom"],
            "custom_event": "meeting",
            "conditions": {"all": [{"field": "metadata.subject", "op": "eq", "value": "Demo"}]},
            "reward": {"type": "flat", "amount": 20},
            "bonus": True,
        },
    ],
    "overrides": {"levels": [10]},
}


def log(
    world: Any,
    kind: str = "meeting",
    *,
    at: datetime.datetime = T0,
    subject: str = "Demo",
    partner: Any = None,
) -> Event:
    """An interaction logged long before the catch-ups that follow (out of their overlap window)."""
    with scope(world.system.access_scope()):
        event = interactions.interaction_create(
            actor=world.system,
            partner=partner or world.partner_a,
            data={"kind": kind, "occurred_at": at, "subject": subject},
        )
    with unscoped():
        Event.objects.filter(pk=event.pk).update(received_at=at)
    return event


def change(world: Any, event: Event, **data: Any) -> None:
    with scope(world.system.access_scope()):
        interactions.interaction_update(actor=world.system, event=Event.objects.get(pk=event.pk), data=data)


def catch_up(world: Any) -> None:
    accrual.accrue_catch_up(workspace_id=world.workspace.pk)


def test_a_deleted_event_keeps_no_commission_paid_rows_are_clawed_back(world):
    publish(world, RULES)
    link(world)  # partner_b is partner_a's parent: a 10% override
    event = log(world)
    catch_up(world)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("70.00"), D("7.00"))
    [meet] = entries(kind="accrual", rule_key="meet")
    [demo] = entries(kind="bonus", rule_key="demo")
    pay(world, meet)

    with scope(world.system.access_scope()):
        interactions.interaction_delete(actor=world.system, event=Event.objects.get(pk=event.pk))
    catch_up(world)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("0.00"), D("0.00"))
    [clawback] = entries(kind="clawback")
    assert (clawback.reverses_id, clawback.amount, clawback.state) == (meet.pk, D("-50.00"), "approved")
    assert clawback.source_kind == "event" and clawback.source_id == event.pk
    reversals = {e.reverses_id: e.amount for e in entries(kind="reversal")}
    overrides = {e.pk: e.amount for e in entries(kind="override")}
    assert reversals == {demo.pk: D("-20.00"), **{pk: -amount for pk, amount in overrides.items()}}
    rows = len(entries())
    catch_up(world)
    accrual.accrue(workspace_id=world.workspace.pk)  # a full run: the same
    assert len(entries()) == rows


def test_a_changed_type_is_not_paid_twice_and_the_old_type_restored_is_a_new_generation(world):
    publish(world, RULES)
    event = log(world)
    catch_up(world)
    assert total() == D("70.00")
    change(world, event, kind="call")
    catch_up(world)
    assert total() == D("30.00")  # the meeting's 50 + 20 reversed, the call's 30
    [call] = entries(kind="accrual", rule_key="call")
    assert call.source_event == "custom:call" and call.idempotency_key == f"e{event.pk}:custom:call:call"
    accrual.accrue(workspace_id=world.workspace.pk)
    catch_up(world)
    assert total() == D("30.00")

    change(world, event, kind="meeting")
    catch_up(world)
    assert total() == D("70.00")
    keys = [e.idempotency_key for e in entries(kind="accrual", rule_key="meet")]
    assert keys == [f"e{event.pk}:custom:meeting:meet", f"e{event.pk}:custom:meeting#2:meet"]


def test_a_changed_date_moves_the_commission_and_changed_properties_reevaluate_conditions(world):
    publish(world, RULES)
    event = log(world)
    catch_up(world)
    change(world, event, occurred_at=T0 + datetime.timedelta(days=40))  # March → April
    catch_up(world)
    assert total() == D("70.00")
    assert total(period=datetime.date(2026, 3, 1)) == D("0.00")
    assert total(period=datetime.date(2026, 4, 1)) == D("70.00")

    change(world, event, subject="Intro call")  # the demo bonus's condition fails now
    catch_up(world)
    assert total() == D("50.00")
    change(world, event, subject="Demo")
    catch_up(world)
    assert total() == D("70.00")
    rows = len(entries())
    catch_up(world)
    accrual.accrue(workspace_id=world.workspace.pk)
    assert len(entries()) == rows


def test_another_partners_event_edit_leaves_this_partners_commissions(world):
    publish(world, RULES)
    mine = log(world)
    theirs = log(world, partner=world.partner_b)
    catch_up(world)
    with scope(world.system.access_scope()):
        interactions.interaction_delete(actor=world.system, event=Event.objects.get(pk=theirs.pk))
    catch_up(world)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("70.00"), D("0.00"))
    assert {e.source_id for e in entries(partner=world.partner_a)} == {mine.pk}


def test_the_api_edit_and_delete_reach_the_accrual(world, client_for):
    """The interactions API (PATCH, DELETE) goes through the same services: a meeting corrected to a call
    is paid as a call, then deleted it keeps nothing."""
    publish(world, RULES)
    event = log(world)
    catch_up(world)
    api = client_for(world.manager)
    url = f"/api/v1/interactions/{interactions.public_id_of(event)}"
    response = api.patch(url, data={"kind": "call"}, content_type="application/json")
    assert response.status_code == 200, response.content
    catch_up(world)
    assert total() == D("30.00")
    assert api.delete(url).status_code == 204
    catch_up(world)
    assert total() == D("0.00")
    assert {e.note for e in entries(kind="reversal")} == {
        "event type custom:meeting → custom:call",
        "event deleted",
    }


def test_a_deleted_event_leaves_its_period_a_threshold_reached_with_it_is_taken_back(world):
    """A 100 bonus at 2 meetings a month: the second meeting reaches it; the first deleted, the month is
    re-evaluated (1 meeting) and the bonus taken back; a third meeting reaches it again."""
    bonus = {"type": "threshold", "metric": "count", "threshold": 2, "period": "month", "amount": 100}
    publish(
        world, {"rules": [{"key": "two", "event": ["custom"], "custom_event": "meeting", "reward": bonus}]}
    )
    first = log(world)
    log(world, at=T0 + datetime.timedelta(hours=1))
    catch_up(world)
    assert total() == D("100.00")
    with scope(world.system.access_scope()):
        interactions.interaction_delete(actor=world.system, event=Event.objects.get(pk=first.pk))
    catch_up(world)
    assert total() == D("0.00")
    with scope(world.system.access_scope()):  # logged now
        interactions.interaction_create(
            actor=world.system,
            partner=world.partner_a,
            data={"kind": "meeting", "occurred_at": T0 + datetime.timedelta(hours=2), "subject": "Demo"},
        )
    catch_up(world)
    assert total() == D("100.00")
