"""Shared pieces of the alerts tests: rules made through the service, events through the real ingestion,
evaluation at controlled moments."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from openprm.activity.services.events import events_ingest
from openprm.alerts.models import AlertRule
from openprm.alerts.services import rule_create
from openprm.core.scoping import scope

NOW = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)


def at(minutes: int = 0, days: int = 0) -> datetime.datetime:
    return NOW + datetime.timedelta(minutes=minutes, days=days)


def make_rule(world: Any, items: list[dict[str, Any]], **data: Any) -> AlertRule:
    payload = {
        "name": data.pop("name", "Test rule"),
        "conditions": {"combine": data.pop("combine", "and"), "items": items},
        "interval_minutes": data.pop("interval_minutes", 1),
        **data,
    }
    with scope(world.system.access_scope()):
        return rule_create(actor=world.system, data=payload)


def events(world: Any, rows: list[tuple[str, str, datetime.datetime]], capture: Any) -> None:
    """(partner external id, event type, when) rows, ingested and folded into the rollups."""
    items = [
        {
            "event_id": f"ev-{i}-{p}-{when:%Y%m%d%H%M}",
            "partner_external_id": p,
            "type": t,
            "occurred_at": when.isoformat(),
        }
        for i, (p, t, when) in enumerate(rows)
    ]
    with capture(execute=True), scope(world.system.access_scope()):
        events_ingest(actor=world.system, items=items)


@pytest.fixture
def quiet(world: Any) -> Any:
    """The world with the starter rules disabled (each test judges its own rule)."""
    with scope(world.system.access_scope()):
        AlertRule.objects.filter(builtin=True).update(enabled=False)
    return world
