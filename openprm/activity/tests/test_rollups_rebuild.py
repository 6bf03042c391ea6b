"""The rebuild (``rollups_rebuild``) writes each ``PartnerDay`` row once, with every column — the paired
figures go through a temporary table (``COPY`` on PostgreSQL), not through updates of rows already written
— and gives the table the increments built; the database tells a ticket's or deliverable's ref where it
can, exactly as Python reads it from the properties."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import Event, PartnerDay, RollupState
from openprm.activity.rollups import (
    months,
    rollup_cells,
    rollups_fold,
    rollups_rebuild,
    rollups_refresh_pairs,
    workspace_kinds,
)
from openprm.activity.rollups import pairs as pairs_module
from openprm.activity.rollups import rebuild as rebuild_module
from openprm.activity.tests.test_rollups_fold import (
    add_custom_types,
    assert_months_match_days,
    ev,
    mixed_events,
    post,
)
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db

PROPERTIES: list[dict[str, Any]] = [
    {"ticket_id": "T-1"},
    {"ticket_id": "T-2", "deliverable_id": "D-1"},
    {"ticket_id": ""},
    {"ticket_id": "", "deliverable_id": "D-2"},
    {"ticket_id": None, "deliverable_id": "D-3"},
    {"ticket_id": 0, "deliverable_id": "D-4"},
    {"ticket_id": False, "deliverable_id": 5},
    {"ticket_id": 7},
    {"ticket_id": 1.5},
    {"ticket_id": True},
    {"ticket_id": ["a"]},
    {"ticket_id": {"k": 1}},
    {"deliverable_id": "D-5"},
    {"deliverable_id": ""},
    {"deliverable_id": 12},
    {"deliverable_id": None},
    {"other": "x"},
    {},
]


def test_the_database_reads_a_ref_as_python_reads_the_properties(world: Any, api_for: Any) -> None:
    types = ("support_ticket_opened", "support_ticket_resolved", "campaign_deliverable_due")
    post(
        api_for(world.manager),
        [ev(i, types[i % len(types)], properties=p) for i, p in enumerate(PROPERTIES)],
    )
    workspace_id = world.workspace.pk
    with unscoped():
        stored = {e.event_id: e.properties for e in Event.objects.filter(workspace_id=workspace_id)}
    expected = {
        event_id: str(p.get("ticket_id") or p.get("deliverable_id") or "") for event_id, p in stored.items()
    }
    assert len(expected) == len(PROPERTIES)
    kinds = workspace_kinds(workspace_id)
    for partner_ids in (None, [world.partner_a.pk]):  # the rebuild's stream, the pair refresh's read
        found = {i.event_id: i.ref for _, i in pairs_module._items(workspace_id, kinds, partner_ids)}
        assert found == expected


def test_a_rebuild_writes_each_row_once_and_equals_the_increments(world: Any, api_for: Any) -> None:
    add_custom_types(api_for(world.admin))
    post(api_for(world.manager), mixed_events())
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    incremental = rollup_cells(workspace_id=workspace_id)
    assert any(metric.startswith(("reply.", "ticket.", "deliverable.")) for _, _, metric in incremental)
    incremental_months = assert_months_match_days(workspace_id)

    with CaptureQueriesContext(connection) as queries:
        rows = rollups_rebuild(workspace_id=workspace_id)
    table = connection.ops.quote_name(PartnerDay._meta.db_table)
    writes = [  # of PartnerDay rows (the months are inserted from them afterwards)
        q["sql"]
        for q in queries.captured_queries
        if any(f"{verb} {table}" in q["sql"] for verb in ("INSERT INTO", "UPDATE", "DELETE FROM"))
    ]
    if connection.vendor == "postgresql":
        # one statement comparing the rows with the stored ones and writing only the difference: none here
        assert len(writes) == 1 and writes[0].startswith("WITH others"), writes
        assert "ON CONFLICT" not in writes[0]
    else:  # SQLite: the rows deleted, then one INSERT … SELECT (no upsert or update afterwards)
        assert [w.split(" ")[0] for w in writes] == ["DELETE", "INSERT"], writes
        assert "ON CONFLICT" not in writes[1]
    assert rollup_cells(workspace_id=workspace_id) == incremental
    with unscoped():
        assert rows == PartnerDay.objects.filter(workspace_id=workspace_id).count()

    assert months.month_cells(workspace_id=workspace_id) == incremental_months

    rollups_rebuild(workspace_id=workspace_id)  # again, in the same transaction: its temporary table anew
    assert rollup_cells(workspace_id=workspace_id) == incremental
    assert months.month_cells(workspace_id=workspace_id) == incremental_months


def test_a_rebuild_mends_rows_that_drifted_from_the_raw_rows(world: Any, api_for: Any) -> None:
    """A row changed, a row missing and a row too many (of another partner, on a day without events):
    the rebuild gives the table of the increments again, and the months of those days."""
    add_custom_types(api_for(world.admin))
    post(api_for(world.manager), mixed_events())
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    incremental = rollup_cells(workspace_id=workspace_id)
    incremental_months = assert_months_match_days(workspace_id)
    with unscoped():
        stored = list(PartnerDay.objects.filter(workspace_id=workspace_id).order_by("partner_id", "day"))
        assert len(stored) >= 2
        changed, missing = stored[0], stored[-1]
        PartnerDay.objects.filter(partner_id=changed.partner_id, day=changed.day).update(
            events_total=F("events_total") + 5, extra={"events.bogus": 2}
        )
        PartnerDay.objects.filter(partner_id=missing.partner_id, day=missing.day).delete()
        PartnerDay.objects.create(
            workspace_id=workspace_id,
            partner_id=world.partner_b.pk,
            day=datetime.date(2001, 2, 3),
            events_total=7,
            clicks=1,
        )
    assert rollup_cells(workspace_id=workspace_id) != incremental

    rows = rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == incremental
    with unscoped():
        assert rows == PartnerDay.objects.filter(workspace_id=workspace_id).count() == len(stored)
    assert assert_months_match_days(workspace_id) == incremental_months


def test_a_failed_rebuild_leaves_the_rollups_as_they_were_and_says_so(
    world: Any, api_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_custom_types(api_for(world.admin))
    post(api_for(world.manager), mixed_events())
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    before = rollup_cells(workspace_id=workspace_id)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("stopped")

    monkeypatch.setattr(rebuild_module, "rebuild_pairs", fail)
    with pytest.raises(RuntimeError, match="stopped"):
        rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == before
    with unscoped():
        state = RollupState.objects.get(workspace_id=workspace_id)
    assert state.status == RollupState.Status.READY and state.rebuilt_at is None
