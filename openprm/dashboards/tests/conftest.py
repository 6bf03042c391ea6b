"""Data for the dashboards' tests: deals and events written through the real services for two partners
(Acme in Silver, Globex in Gold), so every figure the dashboards show can be compared with what the
metric engine gives for the same filters."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.services.events import events_ingest
from openprm.core.scoping import scope
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage


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
    register(world, world.partner_b, "700.00")
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
