"""The rebuild as the outermost transaction on PostgreSQL: a second session compares the events' columns
with the stored rows on the rebuild's snapshot while the rebuild pairs (``core.snapshot``). It mends the
same drift as the rebuild inside a transaction — in the events' columns, in the other columns, rows
missing, rows too many, rows of nothing but NULLs — and a failure of the second session rolls the whole
rebuild back."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import Event, PartnerDay, RollupState
from openprm.activity.rollups import (
    months,
    rebuild_pg,
    rollup_cells,
    rollups_add,
    rollups_fold,
    rollups_rebuild,
    rollups_refresh_pairs,
)
from openprm.activity.tests.test_rollups_fold import (
    add_custom_types,
    assert_months_match_days,
    mixed_events,
    post,
)
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the second session shares a snapshot: a feature of the other database backend")


def _built(world: Any, api_for: Any) -> tuple[int, Any, Any]:
    add_custom_types(api_for(world.admin))
    post(api_for(world.manager), mixed_events())
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    return workspace_id, rollup_cells(workspace_id=workspace_id), assert_months_match_days(workspace_id)


def _drift(workspace_id: int, world: Any) -> int:
    """Drift in every way a stored row can; returns how many rows the raw rows give."""
    with unscoped():
        stored = list(PartnerDay.objects.filter(workspace_id=workspace_id).order_by("partner_id", "day"))
        paired = [r for r in stored if r.ticket_resolved_count]
        assert len(stored) >= 4 and paired
        events_column, other_column, missing = stored[0], stored[1], stored[-1]
        rows = PartnerDay.objects.filter(workspace_id=workspace_id)
        rows.filter(partner_id=events_column.partner_id, day=events_column.day).update(
            events_total=F("events_total") + 5, extra={"events.bogus": 2}
        )
        rows.filter(partner_id=other_column.partner_id, day=other_column.day).update(clicks=3)
        both = stored[2]  # drift in the events' columns and in the others on one row
        rows.filter(partner_id=both.partner_id, day=both.day).update(events_total=0, reply_vendor_count=4)
        rows.filter(partner_id=paired[0].partner_id, day=paired[0].day).update(ticket_resolved_count=9)
        rows.filter(partner_id=missing.partner_id, day=missing.day).delete()
        for day, figures in (  # too many: with events and clicks, with a paired figure, all NULLs
            (datetime.date(2001, 2, 3), {"events_total": 7, "clicks": 1}),
            (datetime.date(2001, 2, 4), {"reply_partner_count": 2}),
            (datetime.date(2001, 2, 5), {}),
        ):
            PartnerDay.objects.create(
                workspace_id=workspace_id, partner_id=world.partner_b.pk, day=day, **figures
            )
    return len(stored)


def _rows(workspace_id: int) -> list[tuple[Any, ...]]:
    """Every stored row, whole (NULLs and ``events_total`` included, unlike ``rollup_cells``)."""
    with unscoped():
        fields = [f.attname for f in PartnerDay._meta.concrete_fields if f.attname != "workspace_id"]
        return list(
            PartnerDay.objects.filter(workspace_id=workspace_id)
            .order_by("partner_id", "day")
            .values_list(*fields)
        )


def _versions(workspace_id: int) -> list[str]:
    """The row versions (``xmin``) of the stored rows: they change when a row is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmin::text FROM {connection.ops.quote_name(PartnerDay._meta.db_table)} "
            "WHERE workspace_id = %s ORDER BY partner_id, day",
            [workspace_id],
        )
        return [version for (version,) in cursor.fetchall()]


def test_the_concurrent_rebuild_mends_every_drift(world: Any, api_for: Any) -> None:
    workspace_id, incremental, incremental_months = _built(world, api_for)
    expected_rows = _drift(workspace_id, world)
    assert rollup_cells(workspace_id=workspace_id) != incremental

    assert not connection.in_atomic_block
    with CaptureQueriesContext(connection) as queries:
        rows = rollups_rebuild(workspace_id=workspace_id)
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("pg_export_snapshot" in q for q in sql)  # the second session compared the events' columns
    assert not any(q.startswith(f"INSERT INTO {rebuild_pg.EVENTS_TABLE}") for q in sql)

    assert rollup_cells(workspace_id=workspace_id) == incremental
    with unscoped():
        assert rows == PartnerDay.objects.filter(workspace_id=workspace_id).count() == expected_rows
    assert assert_months_match_days(workspace_id) == incremental_months
    assert months.month_cells(workspace_id=workspace_id) == incremental_months

    mended, versions = _rows(workspace_id), _versions(workspace_id)
    assert rollups_rebuild(workspace_id=workspace_id) == expected_rows  # nothing left to write
    assert _versions(workspace_id) == versions and _rows(workspace_id) == mended

    with transaction.atomic():  # from nothing, in this session alone: the same rows, column for column
        with unscoped():
            PartnerDay.objects.filter(workspace_id=workspace_id).delete()
        assert rollups_rebuild(workspace_id=workspace_id) == expected_rows
    assert _rows(workspace_id) == mended


def test_a_failure_of_the_second_session_rolls_the_rebuild_back(
    world: Any, api_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id, incremental, _ = _built(world, api_for)
    _drift(workspace_id, world)
    drifted = rollup_cells(workspace_id=workspace_id)
    events_diff_sql = rebuild_pg.events_diff_sql

    def failing(workspace_id: int, kinds: Any) -> tuple[str, list[Any], list[str]]:
        query, params, names = events_diff_sql(workspace_id, kinds)
        return f"SELECT * FROM ({query}) AS q WHERE 1 / (partner_id - partner_id) = 1", params, names

    monkeypatch.setattr(rebuild_pg, "events_diff_sql", failing)
    with pytest.raises(Exception, match="division by zero"):
        rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == drifted != incremental
    with unscoped():  # rolled back: the rollups stand as they were, not "rebuilding" for ever
        assert RollupState.objects.get(workspace_id=workspace_id).status == RollupState.Status.READY

    monkeypatch.undo()
    rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == incremental


def test_a_rebuild_that_waits_for_a_running_fold_sees_what_it_wrote(world: Any, api_for: Any) -> None:
    """A writer holds the rollups' lock (a fold adding an event's delta to a row that drifted) when the
    rebuild starts: the rebuild waits for it and then reads after it — it mends the row with the
    writer's delta counted, where a snapshot taken before the wait collided with the writer's update."""
    workspace_id, _, _ = _built(world, api_for)
    with unscoped():
        row = PartnerDay.objects.filter(workspace_id=workspace_id).order_by("partner_id", "day").first()
        assert row is not None
        PartnerDay.objects.filter(partner_id=row.partner_id, day=row.day).update(
            events_total=F("events_total") + 5
        )
    holding, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def fold() -> None:  # as a fold does: the shared lock, then the rows, committed a moment later
        try:
            with transaction.atomic(), unscoped():
                at = datetime.datetime.combine(row.day, datetime.time(12), tzinfo=datetime.UTC)
                Event.objects.create(
                    workspace_id=workspace_id,
                    partner_id=row.partner_id,
                    event_id="late-1",
                    type="portal_login",
                    occurred_at=at,
                    received_at=at,
                )
                rollups_add(
                    workspace_id=workspace_id, sums={(row.partner_id, row.day, "events.portal_login"): 1}
                )
                holding.set()
                done.wait(1.5)
        except BaseException as error:  # reported below
            errors.append(error)
            holding.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=fold)
    writer.start()
    assert holding.wait(30)
    rollups_rebuild(workspace_id=workspace_id)  # waits for the writer's lock
    done.set()
    writer.join()
    assert not errors
    with unscoped():
        mended = PartnerDay.objects.get(workspace_id=workspace_id, partner_id=row.partner_id, day=row.day)
        events = Event.objects.filter(workspace_id=workspace_id, partner_id=row.partner_id).count()
    assert mended.events_total == row.events_total + 1  # the drift gone, the late event counted once
    assert events > 0
    versions = _versions(workspace_id)
    rollups_rebuild(workspace_id=workspace_id)
    assert _versions(workspace_id) == versions  # nothing left to mend
