"""The metric engine end to end: deals and events written through the real services, figures read back for
each partner and for the whole set, "no data" for inputs the workspace never provided, and scoping."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.services.events import events_ingest
from openprm.core.scoping import scope
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage
from openprm.metrics import figures
from openprm.metrics.engine import TOTAL
from openprm.metrics.periods import Period
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def register(world: Any, partner: Any, amount: str, stage: str | None = None) -> None:
    with scope(world.system.access_scope()):
        deal, _ = deal_register(
            actor=world.system,
            data={"partner_id": partner.pk, "customer_name": f"Customer {amount} {stage}", "amount": amount},
        )
        if stage:
            deal_move_stage(actor=world.system, deal=deal, stage_key=stage, lost_reason="price")


@pytest.fixture
def data(world: Any, django_capture_on_commit_callbacks: Any) -> Any:
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_a, "500.00", "closed_lost")
    register(world, world.partner_a, "300.00")
    register(world, world.partner_b, "200.00", "closed_won")
    now = timezone.now().replace(microsecond=0)
    items = [
        {
            "event_id": f"e{i}",
            "partner_external_id": p,
            "type": "portal_login",
            "occurred_at": now.isoformat(),
        }
        for i, p in enumerate(["A-1", "A-1", "B-1"])
    ]
    with django_capture_on_commit_callbacks(execute=True), scope(world.system.access_scope()):
        assert events_ingest(actor=world.system, items=items).stored == 3
    return world


def this_month() -> Period:
    return Period.month_of(timezone.now().astimezone(datetime.UTC).date())


def test_figures_per_partner_and_for_the_set(data: Any) -> None:
    actor = actor_for(data.admin)
    keys = ["won_revenue", "win_rate", "pipeline_value", "logins", "revenue_per_partner", "active_partners"]
    with scope(actor.access_scope()):
        table = figures.metric_table(actor=actor, keys=keys, period=this_month())
    a, b = data.partner_a.pk, data.partner_b.pk
    assert table.value(a, "won_revenue").value == Decimal("1000.00")
    assert table.value(a, "win_rate").value == Decimal("0.5000")
    assert table.value(a, "pipeline_value").value == Decimal("300.00")
    assert table.value(a, "logins").value == 2
    assert table.value(b, "win_rate").value == Decimal("1.0000")
    assert table.total("won_revenue").value == Decimal("1200.00")
    assert table.total("win_rate").value == Decimal("0.6667")  # 2 won of 3 closed: not a mean of rates
    assert table.total("revenue_per_partner").value == Decimal("600.00")
    assert table.total("logins").value == 3
    assert table.total("active_partners").value == 2


def test_inputs_never_provided_read_no_data_not_zero(data: Any) -> None:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        table = figures.metric_table(actor=actor, keys=["downloads", "logins"], period=this_month())
    downloads = table.value(data.partner_a.pk, "downloads")
    assert downloads.value is None and downloads.missing == "no data: needs resource downloads"
    assert table.total("downloads").missing
    assert table.value(data.partner_b.pk, "logins").value == 1


def test_a_partner_user_gets_only_their_partner(data: Any) -> None:
    actor = actor_for(data.b_admin)
    with scope(actor.access_scope()):
        table = figures.metric_table(actor=actor, keys=["won_revenue"], period=this_month())
    assert table.partner_ids == (data.partner_b.pk,)
    assert table.total("won_revenue").value == Decimal("200.00")
    assert TOTAL in table.rows and data.partner_a.pk not in table.rows


def test_a_metric_requiring_data_it_does_not_read_has_its_value_when_asked_alone(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The on-time delivery rate reads the paired deliverable figures but requires deliverables with due
    dates: asked alone (not beside a metric reading the due events), it must still see them."""
    now = timezone.now().replace(microsecond=0)
    due, submitted = now - datetime.timedelta(hours=2), now - datetime.timedelta(hours=3)
    items: list[dict[str, Any]] = [
        {"event_id": "d1", "type": "campaign_deliverable_due", "occurred_at": due.isoformat()},
        {"event_id": "d2", "type": "campaign_deliverable_submitted", "occurred_at": submitted.isoformat()},
    ]
    for item in items:
        item.update(partner_external_id="A-1", properties={"deliverable_id": "x"})
    with django_capture_on_commit_callbacks(execute=True), scope(world.system.access_scope()):
        assert events_ingest(actor=world.system, items=items).stored == 2
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        alone = figures.metric_table(actor=actor, keys=["on_time_delivery_rate"], period=this_month())
    assert alone.value(world.partner_a.pk, "on_time_delivery_rate").value == 1
    assert alone.total("on_time_delivery_rate").missing == ""
