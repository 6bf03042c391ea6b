"""Health of the installation: the job worker's heartbeat, the queue probes apps register, and
``GET /health/`` for load balancers and monitors.

* **Heartbeat.** `prm worker` runs :class:`Heartbeat`, a thread that updates its ``WorkerHeartbeat`` row
  every ``HEARTBEAT_SECONDS``; any process reads its age.
* **Probes.** An app whose work waits for the worker registers a probe (``register_probe``): one cheap
  query answering how much waits and how old the oldest item is (``activity`` registers the rollup
  queue, ``core.outbox`` the messages due).
* **``GET /health/``** (no login, no session, JSON, one small query per probe and one for the heartbeat)::

      {"status": "ok" | "degraded" | "down", "database": "ok" | "error",
       "worker": {"status": "ok" | "stale" | "missing" | "immediate", "heartbeat_age_seconds": 3.2},
       "queue": {"outbox": {"pending": 0, "oldest_age_seconds": null},
                 "rollups": {"pending": 2, "oldest_age_seconds": 4.1}}}

  HTTP 503 and ``down`` when the database does not answer or no worker has beaten within
  ``WORKER_STALE_SECONDS`` (120 s: eight missed beats); ``degraded`` (HTTP 200) when the worker lives
  but something has waited in a queue longer than ``QUEUE_STALE_SECONDS`` (it is falling behind). With
  ``PRM_QUEUE_IMMEDIATE`` jobs run inline, no worker is needed: ``worker.status`` is ``immediate``.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from openprm.core.models import WorkerHeartbeat
from openprm.core.tasks import load_jobs

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
WORKER_STALE_SECONDS = 120.0
QUEUE_STALE_SECONDS = 300.0
WORKER = "worker"


# --- heartbeat -------------------------------------------------------------------------------------------


def heartbeat_beat(*, name: str = WORKER, started_at: datetime.datetime | None = None) -> None:
    """Record that the worker ``name`` is alive now (one row per name, updated in place)."""
    now = timezone.now()
    fields: dict[str, Any] = {"beat_at": now, "pid": os.getpid(), "host": socket.gethostname()[:255]}
    if started_at is not None:
        fields["started_at"] = started_at
    updated = WorkerHeartbeat.objects.filter(name=name).update(**fields)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            name=name,
            defaults={
                "beat_at": now,
                "started_at": started_at or now,
                "pid": os.getpid(),
                "host": socket.gethostname()[:255],
            },
        )


def heartbeat_age(*, name: str = WORKER, now: datetime.datetime | None = None) -> float | None:
    """Seconds since the worker ``name`` last beat; None if it never did."""
    beat = WorkerHeartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    if beat is None:
        return None
    return max(((now or timezone.now()) - beat).total_seconds(), 0.0)


class Heartbeat:
    """A daemon thread beating every ``interval`` seconds until ``stop()`` (its own DB connection)."""

    def __init__(self, *, name: str = WORKER, interval: float = HEARTBEAT_SECONDS) -> None:
        self.name, self.interval = name, interval
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        first = True
        while True:
            try:
                close_old_connections()
                heartbeat_beat(name=self.name, started_at=self.started_at if first else None)
                first = False
            except DatabaseError:  # the database is away: try again next time, never die
                logger.warning("Worker heartbeat could not be written", exc_info=True)
                connection.close()
            if self._stop.wait(self.interval):
                break
        connection.close()


# --- probes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueState:
    pending: int  # items waiting
    oldest_age_seconds: float | None  # how long the oldest has waited (None: nothing waits)
    detail: dict[str, Any] | None = None  # anything else worth showing (e.g. events in the batches)


_PROBES: dict[str, Callable[[], QueueState]] = {}


def register_probe(name: str, probe: Callable[[], QueueState]) -> None:
    """Register a queue probe: one cheap query, any workspace (health is installation-wide). Apps
    register theirs in their ``tasks`` module, which the worker and the health check both load."""
    _PROBES[name] = probe


def probes() -> dict[str, Callable[[], QueueState]]:
    load_jobs()  # what the worker loads too: every app's jobs and probes, and the schedule
    return dict(sorted(_PROBES.items()))


# --- the endpoint ----------------------------------------------------------------------------------------


def health_report() -> tuple[int, dict[str, Any]]:
    """(HTTP status, report) of the installation now."""
    from huey.contrib.djhuey import HUEY

    immediate = bool(HUEY.immediate)
    report: dict[str, Any] = {"status": "ok", "database": "ok", "worker": {}, "queue": {}}
    try:
        age = heartbeat_age()
        queues = {name: probe() for name, probe in probes().items()}
    except DatabaseError:
        logger.warning("Health check: the database did not answer", exc_info=True)
        report.update(status="down", database="error")
        return 503, report
    if immediate:
        worker = "immediate"
    elif age is None:
        worker = "missing"
    else:
        worker = "ok" if age <= WORKER_STALE_SECONDS else "stale"
    report["worker"] = {
        "status": worker,
        "heartbeat_age_seconds": None if age is None else round(age, 1),
        "stale_after_seconds": WORKER_STALE_SECONDS,
    }
    report["queue"] = {
        name: {
            "pending": state.pending,
            "oldest_age_seconds": None
            if state.oldest_age_seconds is None
            else round(state.oldest_age_seconds, 1),
        }
        for name, state in queues.items()
    }
    if worker in ("missing", "stale"):
        report["status"] = "down"
        return 503, report
    if any((s.oldest_age_seconds or 0) > QUEUE_STALE_SECONDS for s in queues.values()):
        report["status"] = "degraded"
    return 200, report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """``GET /health/``: database, queues and the worker's heartbeat; 503 when down."""
    status, report = health_report()
    return JsonResponse(report, status=status)
