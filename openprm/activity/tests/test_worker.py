"""The real job worker (`prm worker`, a separate process) brings ingested events into the rollups
within the 60-second freshness target, replies paired included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from openprm.activity.models import RollupPending
from openprm.activity.rollups import rollup_cells
from openprm.core.scoping import unscoped

FRESHNESS_SECONDS = 60


def _metrics(workspace_id: int) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (_, _, metric), value in rollup_cells(workspace_id=workspace_id).items():
        totals[metric] = totals.get(metric, 0) + float(value)
    return totals


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_process_folds_ingested_events_within_a_minute(world, api_for, tmp_path: Path):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be opened by a second process")
    from huey.contrib.djhuey import HUEY

    queue = tmp_path / "queue.sqlite3"
    saved = dict(HUEY.storage_kwargs)
    HUEY.immediate = False
    HUEY.storage_kwargs = {**saved, "filename": str(queue)}
    HUEY.storage = HUEY.create_storage()
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "PRM_QUEUE_FILE": str(queue), "PRM_QUEUE_IMMEDIATE": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "openprm.cli", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        events = [
            {
                "event_id": f"w-{i}",
                "partner_external_id": "A-1",
                "type": "portal_login",
                "occurred_at": "2026-11-02T10:00:00Z",
            }
            for i in range(25)
        ] + [
            {
                "event_id": "w-out",
                "partner_external_id": "A-1",
                "type": "email_sent",
                "occurred_at": "2026-11-03T09:00:00Z",
            },
            {
                "event_id": "w-in",
                "partner_external_id": "A-1",
                "type": "email_received",
                "occurred_at": "2026-11-03T11:00:00Z",
            },
        ]
        sent = time.monotonic()
        response = api_for(world.manager).post(
            "/api/v1/events", data=json.dumps(events), content_type="application/json"
        )
        assert response.status_code == 200 and response.json()["stored"] == 27
        metrics: dict[str, float] = {}
        while time.monotonic() - sent < FRESHNESS_SECONDS:
            metrics = _metrics(world.workspace.pk)
            if metrics.get("events.portal_login") == 25 and metrics.get("reply.partner.count") == 1:
                break
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            time.sleep(0.5)
        elapsed = time.monotonic() - sent
        assert metrics.get("events.portal_login") == 25, metrics
        assert metrics.get("reply.partner.seconds") == 2 * 3600 and metrics.get("contact") == 2
        assert elapsed < FRESHNESS_SECONDS
        with unscoped():
            assert not RollupPending.objects.exists()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        HUEY.storage_kwargs = saved
        HUEY.immediate = True
