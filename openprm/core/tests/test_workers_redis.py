"""Two real `prm worker` processes on one Redis queue run each scheduled slot of a periodic job exactly once.

Both workers' schedulers enqueue the schedule's jobs for every slot; the runs' claims (``core.jobruns``)
let one run and make the other record ``skipped``. The workers tick every 5 s (``--tick 5``) instead of
every minute, so the every-minute jobs come due once per 5-second slot: six slots take about 30 s.
Redis is the one at 127.0.0.1:6379 (``PRM_TEST_REDIS_URL``), under a queue name of this test's own; the
database is the test database (PostgreSQL), or a file copy of it the workers open (SQLite).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from openprm.core.models import JobRun

REDIS_URL = os.environ.get("PRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
EVERY_MINUTE = ("config.tasks.outbox_catch_up", "config.tasks.rollups_catch_up")
TICK, SLOTS, DEADLINE_SECONDS = 5, 6, 120  # run until each job ran SLOTS slots (about 30 s after start-up)


def _redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the two-worker test must run)")
        pytest.skip(message)
    return client


@pytest.fixture
def queue_name() -> Iterator[str]:
    client = _redis_or_skip()
    name = f"openprm-test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(client.scan_iter(match=f"*{name}*"))
    if keys:
        client.delete(*keys)


def _database_url(tmp_path: Path) -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # the in-memory test database (migrated) copied to a file the workers can open
    target = sqlite3.connect(tmp_path / "db.sqlite3")
    connection.ensure_connection()
    connection.connection.backup(target)
    target.close()
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


def _runs(tmp_path: Path) -> list[tuple[str, str, str, int]]:
    """(job, scheduled_for, status, pid) of every run the workers recorded."""
    if connection.vendor == "postgresql":
        rows = JobRun.objects.values_list("job", "scheduled_for", "status", "pid")
        return [(job, slot.isoformat(), status, pid) for job, slot, status, pid in rows]
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return list(db.execute("SELECT job, scheduled_for, status, pid FROM core_jobrun"))


def _fewest_slots_run(tmp_path: Path) -> int:
    succeeded = [(job, slot) for job, slot, status, _ in _runs(tmp_path) if status == "succeeded"]
    return min(sum(1 for name, _ in succeeded if name == job) for job in EVERY_MINUTE)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_on_redis_run_each_scheduled_slot_once(queue_name: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(tmp_path),
        "PRM_REDIS_URL": REDIS_URL,
        "PRM_QUEUE_NAME": queue_name,
        "PRM_QUEUE_IMMEDIATE": "false",
        "PRM_VAR_DIR": str(tmp_path / "var"),
    }
    command = [
        sys.executable,
        "-m",
        "openprm.cli",
        "worker",
        "--workers",
        "2",
        "--tick",
        str(TICK),
        "--quiet",
    ]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline and _fewest_slots_run(tmp_path) < SLOTS:
            for worker in workers:
                assert worker.poll() is None, worker.stderr.read().decode()[-3000:] if worker.stderr else ""
            time.sleep(1)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    time.sleep(0.5)

    runs = [run for run in _runs(tmp_path) if run[0] in EVERY_MINUTE]
    by_slot: dict[tuple[str, str], list[str]] = defaultdict(list)
    for job, slot, status, _ in runs:
        by_slot[(job, slot)].append(status)
    for job in EVERY_MINUTE:
        slots = sorted(slot for (name, slot) in by_slot if name == job)
        assert len(slots) >= SLOTS, (job, slots)
    for (job, slot), statuses in by_slot.items():
        # exactly one run per slot, whichever worker took it; the other copy was skipped, never run
        assert sorted(status for status in statuses if status != "skipped") == ["succeeded"], (
            job,
            slot,
            statuses,
        )
    contested = [statuses for statuses in by_slot.values() if "skipped" in statuses]
    assert len(contested) >= len(by_slot) - 4  # both schedulers enqueued (almost) every slot
    assert {pid for *_, pid in runs} == {worker.pid for worker in workers}  # both workers ran jobs
