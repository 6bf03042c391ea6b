"""Worker supervision and health: `prm serve`'s supervisor restarts a worker that dies, the worker's
heartbeat, `GET /health/` and an honest `prm rollups status`."""

from __future__ import annotations

import datetime
import io
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openprm.activity.models import RollupPending
from openprm.core.health import WORKER_STALE_SECONDS, heartbeat_beat
from openprm.core.management.commands.serve import WorkerSupervisor
from openprm.core.models import WorkerHeartbeat
from openprm.core.scoping import unscoped

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
def worker_mode() -> Iterator[None]:
    """Jobs go to a worker (not inline), as in production."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    try:
        yield
    finally:
        HUEY.immediate = True


# --- the supervisor ----------------------------------------------------------------------------------------


def test_the_supervisor_restarts_a_killed_child_and_stops_it_on_exit() -> None:
    logged: list[str] = []
    supervisor = WorkerSupervisor(SLEEPER, poll=0.05, backoff=0.05, log=logged.append).start()
    try:
        first = supervisor.child
        assert first is not None and first.poll() is None
        os.kill(first.pid, signal.SIGKILL)
        second = wait_for(lambda: supervisor.child if supervisor.child is not first else None)
        assert second.poll() is None and supervisor.restarts == 1
        assert f"pid {first.pid}) exited with code -9" in logged[0] and "restarting" in logged[0]
    finally:
        supervisor.stop()
    assert second.poll() is not None  # stopped with the server
    time.sleep(0.3)
    assert supervisor.child is second  # and never restarted after stop()


def test_a_child_that_keeps_failing_is_restarted_with_backoff() -> None:
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    logged: list[str] = []
    supervisor = WorkerSupervisor(failing, poll=0.02, backoff=0.1, max_backoff=0.4, log=logged.append)
    supervisor.start()
    try:
        wait_for(lambda: len(logged) >= 4)
    finally:
        supervisor.stop()
    assert all("exited with code 3" in line for line in logged)
    delays = [float(line.rsplit("restarting it in ", 1)[1].split(" s")[0]) for line in logged[:4]]
    assert delays == [0.1, 0.2, 0.4, 0.4]


def test_stop_in_a_forked_child_leaves_the_worker_alone() -> None:
    supervisor = WorkerSupervisor(SLEEPER, poll=0.05).start()
    try:
        pid = os.fork()
        if pid == 0:  # what a gunicorn worker inherits and runs at exit
            supervisor.stop()
            os._exit(0)
        os.waitpid(pid, 0)
        assert supervisor.child is not None and supervisor.child.poll() is None
    finally:
        supervisor.stop()


# --- GET /health/ ------------------------------------------------------------------------------------


def health(client: Any) -> tuple[int, dict[str, Any]]:
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    assert "Set-Cookie" not in response and not response.cookies
    return response.status_code, response.json()


def beat(seconds_ago: float) -> None:
    heartbeat_beat()
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - datetime.timedelta(seconds=seconds_ago))


@pytest.mark.django_db
def test_health_needs_no_login_and_reports_a_live_worker(client: Any, worker_mode: None) -> None:
    beat(3)
    with CaptureQueriesContext(connection) as queries:
        status, report = health(client)
    assert len(queries) <= 3
    assert status == 200 and report["status"] == "ok" and report["database"] == "ok"
    assert report["worker"]["status"] == "ok" and 2 <= report["worker"]["heartbeat_age_seconds"] < 60
    assert report["queue"]["rollups"] == {"pending": 0, "oldest_age_seconds": None}


@pytest.mark.django_db
def test_a_missing_or_stale_worker_is_503(client: Any, worker_mode: None) -> None:
    status, report = health(client)
    assert (status, report["status"], report["worker"]["status"]) == (503, "down", "missing")
    beat(WORKER_STALE_SECONDS + 5)
    status, report = health(client)
    assert (status, report["status"], report["worker"]["status"]) == (503, "down", "stale")


@pytest.mark.django_db
def test_a_queue_waiting_too_long_is_degraded(client: Any, world: Any, worker_mode: None) -> None:
    beat(1)
    with unscoped():
        old = RollupPending.objects.create(workspace=world.workspace, event_ranges=[[1, 5]])
        RollupPending.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - datetime.timedelta(minutes=10)
        )
        RollupPending.objects.create(workspace=world.workspace, event_ranges=[[6, 6]])
    status, report = health(client)
    assert (status, report["status"]) == (200, "degraded")
    assert (
        report["queue"]["rollups"]["pending"] == 2 and report["queue"]["rollups"]["oldest_age_seconds"] >= 600
    )


@pytest.mark.django_db
def test_with_inline_jobs_no_worker_is_needed(client: Any) -> None:
    status, report = health(client)
    assert (status, report["status"], report["worker"]["status"]) == (200, "ok", "immediate")


@pytest.mark.django_db
def test_a_database_that_does_not_answer_is_503(client: Any) -> None:
    def refuse(*args: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        status, report = health(client)
    assert (status, report["status"], report["database"]) == (503, "down", "error")


# --- prm rollups status ----------------------------------------------------------------------------------


def status_text() -> str:
    out = io.StringIO()
    call_command("rollups", "status", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_rollups_status_reports_the_queue_and_the_worker_honestly(world: Any, worker_mode: None) -> None:
    call_command("rollups", "rebuild", stdout=io.StringIO())
    text = status_text()
    assert "Up to date" in text and "Queued: 0 batch(es)" in text and "Worker: never seen" in text
    with unscoped():
        RollupPending.objects.create(
            workspace=world.workspace, event_ranges=[[1, 40], [50, 59]], click_ids=[3]
        )
        RollupPending.objects.create(workspace=world.workspace, event_ranges=[[60, 60]])
        RollupPending.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=7))
    beat(WORKER_STALE_SECONDS * 3)
    text = status_text()
    assert "Up to date" not in text and "Behind" in text
    assert "Queued: 2 batch(es) (51 events, 1 clicks), oldest 7 min ago" in text
    assert "Worker: NOT RUNNING — last heartbeat 6 min ago" in text
    beat(2)
    assert "Worker: running, last heartbeat 2 s ago" in status_text()


# --- a real worker, killed and restarted ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_real_worker_is_restarted_and_its_heartbeat_shows_in_health(
    client: Any, tmp_path: Path, worker_mode: None
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be opened by a second process")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PRM_QUEUE_FILE": str(tmp_path / "queue.sqlite3"),
        "PRM_QUEUE_IMMEDIATE": "false",
    }
    command = [
        sys.executable,
        "-m",
        "openprm.cli",
        "worker",
        "--workers",
        "1",
        "--quiet",
        "--heartbeat",
        "0.5",
    ]
    logged: list[str] = []
    supervisor = WorkerSupervisor(command, poll=0.2, backoff=0.2, log=logged.append, env=env).start()
    try:
        first = supervisor.child
        assert first is not None
        row = wait_for(lambda: WorkerHeartbeat.objects.filter(pid=first.pid).first(), timeout=60, step=0.2)
        status, report = health(client)
        assert (status, report["worker"]["status"]) == (200, "ok"), json.dumps(report)
        os.kill(first.pid, signal.SIGKILL)
        restarted = wait_for(
            lambda: WorkerHeartbeat.objects.exclude(pid=first.pid).filter(beat_at__gt=row.beat_at).first(),
            timeout=60,
            step=0.2,
        )
        assert supervisor.child is not None and restarted.pid == supervisor.child.pid
        assert supervisor.restarts == 1 and "exited with code -9" in logged[0]
        status, report = health(client)
        assert (status, report["worker"]["status"]) == (200, "ok") and report["worker"][
            "heartbeat_age_seconds"
        ] < 5
    finally:
        supervisor.stop()
