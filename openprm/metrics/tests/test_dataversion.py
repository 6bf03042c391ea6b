"""The data version (PostgreSQL): it moves with every committed change to a tracked table and with nothing
else, and figures kept under it are reused until the data behind them changes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, transaction

from openprm.core.models import WorkerHeartbeat
from openprm.core.scoping import scope, unscoped
from openprm.metrics import dataversion
from openprm.metrics.models import DataChange
from openprm.scorecards import selectors, services
from openprm.scorecards.models import Target
from openprm.scorecards.tests.conftest import register, this_month
from openprm.testing import actor_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has no statement triggers: no cache"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_every_tracked_table_has_the_trigger_and_raw_tables_do_not() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'openprm_data_change'"
        )
        triggered = {row[0] for row in cursor.fetchall()}
    tracked = set(dataversion.tracked_tables())
    assert triggered == tracked
    assert {"activity_partnerday", "activity_partnermonth", "deals_deal", "deals_dealdayrollup"} <= tracked
    assert {"scorecards_target", "scorecards_scorecardconfig", "partners_partnerprogram"} <= tracked
    assert not {"activity_event", "activity_click", "activity_rolluppending", "core_auditentry"} & tracked


def _target(world: Any, value: str) -> Target:
    with unscoped():
        return Target.objects.create(
            workspace_id=world.workspace.pk,
            partner=world.partner_a,
            metric="won_revenue",
            period=f"2026-{int(value):02d}",
            value=value,
        )


def test_the_version_counts_committed_changes_only(world: Any) -> None:
    start = dataversion.data_version()
    assert start is not None
    with transaction.atomic():
        _target(world, "1")
        _target(world, "2")  # a second statement of the same transaction: one change
        assert dataversion.data_version() is None  # uncommitted own writes: nothing cached or read
    assert dataversion.data_version() == start + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        _target(world, "3")
        raise RuntimeError("rolled back")
    assert dataversion.data_version() == start + 1
    WorkerHeartbeat.objects.create(
        name="w",
        beat_at=datetime.datetime.now(datetime.UTC),
        started_at=datetime.datetime.now(datetime.UTC),
        pid=1,
    )  # an untracked table
    assert dataversion.data_version() == start + 1
    with unscoped():
        Target.objects.filter(value="1").update(value="4")  # an update in autocommit
        Target.objects.filter(value="2").delete()
    assert dataversion.data_version() == start + 3
    assert dataversion.compact() >= 3
    assert not DataChange.objects.exists()
    assert dataversion.data_version() == start + 3  # compaction keeps the version


def test_cached_returns_the_kept_value_until_a_commit(world: Any) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert dataversion.cached(world.workspace.pk, "k", compute) == 1
    assert dataversion.cached(world.workspace.pk, "k", compute) == 1  # kept
    assert dataversion.cached(world.workspace.pk + 1, "k", compute) == 2  # another workspace
    _target(world, "1")
    assert dataversion.cached(world.workspace.pk, "k", compute) == 3  # the data changed


def test_a_scorecard_is_scored_once_and_follows_every_change(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    actor = actor_for(world.admin)
    period = this_month()
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "200.00", "closed_won")
    with scope(actor.access_scope()):
        first = selectors.scorecard(actor=actor, partner=world.partner_a, period=period)
        with django_assert_max_num_queries(40) as counted:
            again = selectors.scorecard(actor=actor, partner=world.partner_a, period=period)
        table = selectors.scorecard_table(actor=actor, period=period)
    assert again == first
    assert not any("deals_deal" in q["sql"] for q in counted.captured_queries)  # the program's figures kept
    assert first.figures["won_revenue"].value == 1000
    assert {r.name: r.rank for r in table} == {world.partner_a.name: 1, world.partner_b.name: 2}

    register(world, world.partner_b, "5000.00", "closed_won")  # committed: the version moves
    with scope(actor.access_scope()):
        after = selectors.scorecard(actor=actor, partner=world.partner_a, period=period)
        table = selectors.scorecard_table(actor=actor, period=period)
        program = selectors.scorecard(actor=actor, partner=world.partner_b, period=period).program
        services.target_create(
            actor=actor,
            data={"metric": "won_revenue", "period": period.key, "partner": world.partner_a, "value": "500"},
        )
        targeted = selectors.scorecard(actor=actor, partner=world.partner_a, period=period)
    assert program is not None
    assert {r.name: r.rank for r in table} == {world.partner_a.name: 2, world.partner_b.name: 1}
    assert after.figures["won_revenue"].value == 1000 and after.overall != first.overall
    won = next(m for d in targeted.dimensions for m in d.metrics if m.key == "won_revenue")
    assert won.target == 500
