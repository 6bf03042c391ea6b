"""Job runs: every periodic run recorded and claimed once per scheduled minute, workspace jobs recorded when
they fail or do work, retries with backoff (each attempt recorded), and old runs pruned."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from openprm.core import jobruns
from openprm.core.jobqueue import SCHEDULED_FOR, RedisQueue, SqliteQueue, slot_start
from openprm.core.models import JobRun, Workspace
from openprm.core.tasks import load_jobs, workspace_task

PRUNE = "config.tasks.jobs_prune_runs"
outcomes: list[str] = []  # what `flaky` does on each call: "fail" or a count


@workspace_task
def flaky(workspace_id: int) -> int:
    """Fails while ``outcomes`` says so, else returns the count it names."""
    outcome = outcomes.pop(0) if outcomes else "0"
    if outcome == "fail":
        raise ConnectionError("could not reach postgres://prm:s3cret@db.internal/prm (token=abc123)")
    return int(outcome)


@pytest.fixture(autouse=True)
def _clean_queue() -> Iterator[None]:
    outcomes.clear()
    HUEY.flush()
    yield
    HUEY.flush()
    outcomes.clear()


def schedule_module() -> Any:
    load_jobs()
    from config import tasks

    return tasks


def run_periodic(wrapper: Any, slot: datetime.datetime) -> Any:
    """Execute a periodic job the way a worker does: the task the scheduler enqueued for ``slot``."""
    return HUEY.execute(wrapper.task_class(kwargs={SCHEDULED_FOR: slot.isoformat()}))


def retries_waiting() -> list[Any]:
    return sorted(HUEY.scheduled(), key=lambda task: task.eta)


def run_retry(task: Any) -> Any:
    """Run a retry when it is due (its ``eta``), as the worker's scheduler would."""
    HUEY.flush()
    return HUEY.execute(task, timestamp=task.eta)


# --- periodic runs -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_periodic_run_is_recorded_with_its_minute_and_count(workspace: Workspace) -> None:
    old = JobRun.objects.create(
        job=PRUNE,
        kind=JobRun.Kind.PERIODIC,
        started_at=timezone.now() - datetime.timedelta(days=45),
        status=JobRun.Status.SUCCEEDED,
    )
    slot = datetime.datetime(2026, 12, 5, 3, 41, tzinfo=datetime.UTC)
    assert run_periodic(schedule_module().jobs_prune_runs, slot) == 1  # it pruned the 45-day-old run

    [run] = JobRun.objects.all()
    assert run.pk != old.pk
    assert (run.job, run.kind, run.status, run.scheduled_for) == (PRUNE, "periodic", "succeeded", slot)
    assert (run.result_count, run.attempt, run.error, run.workspace_id) == (1, 1, "", None)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.host and run.pid


@pytest.mark.django_db
def test_a_scheduled_minute_runs_once_however_many_workers_enqueued_it(workspace: Workspace) -> None:
    tasks = schedule_module()
    slot = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=datetime.UTC)
    results = [run_periodic(tasks.outbox_catch_up, slot) for _ in range(3)]  # three workers' copies
    assert results == [0, None, None]  # the first ran (nothing due), the others did not
    runs = JobRun.objects.filter(job="config.tasks.outbox_catch_up", scheduled_for=slot)
    assert sorted(runs.values_list("status", flat=True)) == ["skipped", "skipped", "succeeded"]

    run_periodic(tasks.outbox_catch_up, slot + datetime.timedelta(minutes=1))  # the next minute runs
    assert JobRun.objects.filter(status="succeeded").count() == 2


def test_the_queue_stamps_each_periodic_run_with_the_minute_it_fired_for() -> None:
    load_jobs()
    queue = SqliteQueue("stamp-test", filename=":memory:", immediate=False)
    queue._registry = HUEY._registry  # the schedule's periodic jobs
    due = queue.read_periodic(datetime.datetime(2026, 12, 5, 10, 7, 42, 12345))
    stamps = {type(task).__name__: task.kwargs[SCHEDULED_FOR] for task in due}
    assert {"rollups_catch_up", "outbox_catch_up", "deals_expire_protection"} <= set(stamps)
    assert "jobs_prune_runs" not in stamps and "metrics_monthly_close" not in stamps  # not due at 10:07
    assert set(stamps.values()) == {"2026-12-05T10:07:00+00:00"}
    assert issubclass(RedisQueue, type(queue).__mro__[1])  # Redis stamps the same way
    assert slot_start(datetime.datetime(2026, 12, 5, 10, 7, 42), 5) == datetime.datetime(
        2026, 12, 5, 10, 7, 40
    )


@pytest.mark.django_db
def test_a_failed_periodic_job_is_retried_with_backoff_and_each_attempt_recorded(
    workspace: Workspace, settings: Any
) -> None:
    tasks = schedule_module()
    slot = datetime.datetime(2026, 12, 5, 3, 41, tzinfo=datetime.UTC)
    settings.PRM_JOB_RUNS_KEEP_DAYS = "thirty"  # a misconfiguration: the prune fails
    run_periodic(tasks.jobs_prune_runs, slot)
    [first] = JobRun.objects.all()
    assert (first.status, first.attempt) == ("retrying", 1)
    assert first.error.startswith("TypeError: ")

    [retry] = retries_waiting()
    assert 25 <= (retry.eta - datetime.datetime.now()).total_seconds() <= 31
    settings.PRM_JOB_RUNS_KEEP_DAYS = 30  # fixed before the retry
    assert run_retry(retry) == 0
    second = JobRun.objects.latest("pk")
    assert (second.status, second.attempt, second.scheduled_for) == ("succeeded", 2, slot)
    assert list(JobRun.objects.order_by("pk").values_list("status", flat=True)) == ["retrying", "succeeded"]


@pytest.mark.django_db
def test_an_every_minute_job_is_not_retried(workspace: Workspace) -> None:
    from openprm.core.tasks import periodic_jobs

    load_jobs()
    retries = {name: job.retries for name, job in periodic_jobs().items()}
    assert retries["config.tasks.outbox_catch_up"] == retries["config.tasks.rollups_catch_up"] == 0
    assert retries["config.tasks.deals_expire_protection"] == retries[PRUNE] == 3


# --- workspace jobs ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_workspace_job_is_recorded_when_it_does_work_not_when_it_finds_none(workspace: Workspace) -> None:
    outcomes.extend(["0", "7"])
    flaky.delay(workspace.pk)  # immediate mode: huey runs it now, through the recording wrapper
    assert not JobRun.objects.exists()
    flaky.delay(workspace.pk)
    [run] = JobRun.objects.all()
    assert (run.kind, run.workspace_id, run.status, run.result_count) == (
        "workspace",
        workspace.pk,
        "succeeded",
        7,
    )
    assert run.job == f"{__name__}.flaky" and run.scheduled_for is None
    flaky.call_local(workspace.pk)  # inside another run (a catch-up's loop): that run records
    assert JobRun.objects.count() == 1


@pytest.mark.django_db
def test_a_failing_workspace_job_retries_after_30_s_2_min_8_min_then_fails(workspace: Workspace) -> None:
    outcomes.extend(["fail"] * 4)
    flaky.delay(workspace.pk)
    delays = []
    for _ in range(3):
        [retry] = retries_waiting()
        delays.append(round((retry.eta - datetime.datetime.now()).total_seconds() / 10) * 10)
        run_retry(retry)
    assert delays == [30, 120, 480]
    assert retries_waiting() == []  # the fourth failure was the last
    runs = list(JobRun.objects.order_by("pk").values_list("attempt", "status"))
    assert runs == [(1, "retrying"), (2, "retrying"), (3, "retrying"), (4, "failed")]
    error = JobRun.objects.latest("pk").error
    assert error.startswith("ConnectionError: could not reach postgres://***@db.internal/prm")
    assert "s3cret" not in error and "abc123" not in error


@pytest.mark.django_db
def test_a_retry_that_succeeds_is_recorded_even_without_work(workspace: Workspace) -> None:
    outcomes.extend(["fail", "0"])
    flaky.delay(workspace.pk)
    [retry] = retries_waiting()
    run_retry(retry)
    assert list(JobRun.objects.order_by("pk").values_list("attempt", "status")) == [
        (1, "retrying"),
        (2, "succeeded"),
    ]


# --- errors, retention, the schedule in words -----------------------------------------------------------


def test_errors_are_stored_without_credentials_and_truncated() -> None:
    text = jobruns.error_text(ValueError("redis://:hunter2@cache:6379/0 password=pw " + "x" * 5000))
    assert text.startswith("ValueError: redis://***@cache:6379/0 password=***")
    assert "hunter2" not in text and len(text) == jobruns.ERROR_CHARS


@pytest.mark.django_db
def test_runs_older_than_the_retention_are_pruned(workspace: Workspace, settings: Any) -> None:
    now = timezone.now()
    for days in (1, 29, 31, 90):
        JobRun.objects.create(
            job="x", kind="periodic", status="succeeded", started_at=now - datetime.timedelta(days=days)
        )
    lost = JobRun.objects.create(
        job="y", kind="periodic", status="running", started_at=now - datetime.timedelta(hours=13)
    )
    busy = JobRun.objects.create(job="z", kind="periodic", status="running", started_at=now)
    assert jobruns.run_prune(now=now) == 2
    lost.refresh_from_db()
    busy.refresh_from_db()
    assert (lost.status, lost.error, busy.status) == ("failed", jobruns.INTERRUPTED, "running")
    settings.PRM_JOB_RUNS_KEEP_DAYS = 7
    assert jobruns.run_prune(now=now) == 1
    assert JobRun.objects.count() == 3


def test_the_schedule_in_words_and_its_next_run() -> None:
    from huey import crontab

    def cron(**spec: str) -> jobruns.Cron:
        parsed = jobruns.Cron.of(crontab(**spec))
        assert parsed is not None
        return parsed

    now = datetime.datetime(2026, 12, 5, 10, 7, 30, tzinfo=datetime.UTC)
    cases = [
        ({"minute": "*"}, "Every minute", datetime.datetime(2026, 12, 5, 10, 8)),
        ({"minute": "7"}, "Hourly at :07", datetime.datetime(2026, 12, 5, 11, 7)),
        ({"hour": "3", "minute": "41"}, "Daily at 03:41 UTC", datetime.datetime(2026, 12, 6, 3, 41)),
        (
            {"day": "1", "hour": "2", "minute": "17"},
            "Monthly on day 1 at 02:17 UTC",
            datetime.datetime(2027, 1, 1, 2, 17),
        ),
        (
            {"day_of_week": "1-5", "hour": "9", "minute": "0"},
            "On Mon, Tue, Wed, Thu, Fri at 09:00 UTC",
            datetime.datetime(2026, 12, 7, 9, 0),
        ),
    ]
    for spec, words, next_run in cases:
        parsed = cron(**spec)
        assert parsed.describe() == words
        assert parsed.next_after(now) == next_run.replace(tzinfo=datetime.UTC)
