"""The task base and the one schedule: jobs run in their workspace's scope, only after a commit, and every
periodic job is in ``config/tasks.py``."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY

from openprm.activity.rollups import FOLD_JOB
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import ScopeError, unscoped
from openprm.core.tasks import SCHEDULE_MODULE, job, load_jobs, periodic_jobs, workspace_task

ran: list[tuple[int, list[str]]] = []  # what `rows_seen` saw, run by run


@workspace_task
def rows_seen(workspace_id: int) -> int:
    """A job reading a tenant model through its scoped manager, as job code does (no ``unscoped``)."""
    reprs = sorted(AuditEntry.objects.values_list("object_repr", flat=True))
    ran.append((workspace_id, reprs))
    return len(reprs)


@pytest.fixture(autouse=True)
def _clear_runs() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


def entry(workspace: Workspace, text: str) -> None:
    with unscoped():
        AuditEntry.objects.create(
            workspace=workspace,
            action=AuditEntry.Action.CREATE,
            object_type="test",
            object_id=uuid.uuid4(),
            object_repr=text,
        )


# --- the schedule ----------------------------------------------------------------------------------------


def minutes_run(task_class: Any, hours: int = 2) -> list[int]:
    start = datetime.datetime(2026, 12, 5, 10, 0)
    [task] = [t for t in HUEY._registry.periodic_tasks if type(t) is task_class]
    moments = [start + datetime.timedelta(minutes=m) for m in range(60 * hours)]
    return [m.minute for m in moments if task.validate_datetime(m)]


def test_the_schedule_lists_exactly_the_periodic_jobs() -> None:
    load_jobs()
    from config import tasks as schedule

    expected = {
        "config.tasks.rollups_catch_up",
        "config.tasks.deals_expire_protection",
        "config.tasks.outbox_catch_up",
        "config.tasks.metrics_monthly_close",
        "config.tasks.jobs_prune_runs",
        "config.tasks.notifications_daily_digest",
        "config.tasks.alerts_evaluate_all",
        "config.tasks.reports_send_due_all",
        "config.tasks.commissions_catch_up",
        "config.tasks.commissions_release_holds",
    }
    assert schedule.__name__ == SCHEDULE_MODULE
    assert set(periodic_jobs()) == expected
    # every periodic task huey knows after loading every app's tasks comes from the schedule
    registered = {f"{t.__module__}.{type(t).__name__}" for t in HUEY._registry.periodic_tasks}
    assert registered == expected
    assert minutes_run(schedule.rollups_catch_up.task_class) == list(range(60)) * 2
    assert minutes_run(schedule.outbox_catch_up.task_class) == list(range(60)) * 2
    assert minutes_run(schedule.deals_expire_protection.task_class) == [7, 7]
    assert minutes_run(schedule.jobs_prune_runs.task_class, hours=24) == [41]
    assert minutes_run(schedule.reports_send_due_all.task_class, hours=1) == list(range(0, 60, 5))
    for name in expected:
        doc = getattr(schedule, name.rsplit(".", 1)[1]).__doc__
        assert doc and doc.strip(), name


def test_the_rollups_name_the_fold_job_the_activity_app_defines() -> None:
    from openprm.activity.tasks import fold_rollups

    assert job(FOLD_JOB) is fold_rollups
    with pytest.raises(LookupError):
        job("openprm.activity.tasks.no_such_job")


# --- scope -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_workspace_job_sees_only_its_workspace(workspace: Workspace) -> None:
    other = Workspace.objects.create(name="Other", slug="other")
    entry(workspace, "ours")
    entry(other, "theirs")
    with pytest.raises(ScopeError):
        AuditEntry.objects.count()  # outside any scope the scoped manager refuses

    assert rows_seen.call_local(workspace.pk) >= 1
    assert rows_seen.call_local(other.pk) == 1
    (first, ours), (second, theirs) = ran
    assert (first, second) == (workspace.pk, other.pk)
    assert "ours" in ours and "theirs" not in ours
    assert theirs == ["theirs"]
    with pytest.raises(ScopeError):
        AuditEntry.objects.count()  # the job's scope ended with it


@pytest.mark.django_db
def test_a_job_enqueued_through_huey_runs_in_its_workspace_scope(workspace: Workspace) -> None:
    other = Workspace.objects.create(name="Other", slug="other")
    entry(other, "theirs")
    rows_seen.delay(other.pk)  # immediate mode: huey runs it on enqueue, through the real task wrapper
    assert ran == [(other.pk, ["theirs"])]


# --- after commit ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_runs_after_the_commit_and_never_for_a_rolled_back_transaction(workspace: Workspace) -> None:
    with transaction.atomic():
        entry(workspace, "committed")
        rows_seen.delay_on_commit(workspace.pk)
        assert ran == []  # not before the commit
    assert ran == [(workspace.pk, ["committed"])]  # and it sees what was committed

    ran.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        entry(workspace, "rolled back")
        rows_seen.delay_on_commit(workspace.pk)
        raise RuntimeError("the change fails")
    assert ran == []
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back
            rows_seen.delay_on_commit(workspace.pk)
            raise RuntimeError("the inner change fails")
        assert not connection.run_on_commit
    assert ran == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_once_per_transaction_wakes_a_job_once_and_again_in_the_next(workspace: Workspace) -> None:
    with transaction.atomic():
        for _ in range(3):
            rows_seen.delay_on_commit(workspace.pk, once=True)
        assert len(connection.run_on_commit) == 1
    assert len(ran) == 1
    with transaction.atomic():
        rows_seen.delay_on_commit(workspace.pk, once=True)
    assert len(ran) == 2


@pytest.mark.django_db
def test_coalesced_runs_schedule_one_job_per_workspace_and_interval(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled: list[tuple[Any, float]] = []
    monkeypatch.setattr(HUEY, "_immediate", False)  # as with a worker (the storage is never touched)
    monkeypatch.setattr(rows_seen, "_scheduled", {})
    monkeypatch.setattr(rows_seen.huey_task, "schedule", lambda args, delay: scheduled.append((args, delay)))
    for _ in range(5):
        rows_seen.delay_coalesced(workspace.pk, delay=60)
    rows_seen.delay_coalesced(workspace.pk + 1, delay=60)
    assert scheduled == [((workspace.pk,), 60), ((workspace.pk + 1,), 60)]
    assert ran == []
    monkeypatch.setattr(HUEY, "_immediate", True)
    rows_seen.delay_coalesced(workspace.pk, delay=60)  # no worker: run now
    assert [w for w, _ in ran] == [workspace.pk]
