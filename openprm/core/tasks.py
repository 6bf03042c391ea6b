"""The task base: how every background job is declared, scoped and enqueued (pretix's pattern).

* **Workspace jobs** (``@workspace_task``): a job about one workspace takes the workspace id as its first
  argument and runs inside that workspace's access scope as the system actor, so job code reads through
  the scoped managers like a request does. ``unscoped()`` stays for the few jobs that truly span
  workspaces — the schedule's catch-ups, which list the workspaces that have work and then run the
  workspace job for each.
* **Enqueued after commit**: ``task.delay_on_commit(workspace_id)`` enqueues once the surrounding
  transaction commits, so a job never runs for a change that was rolled back, nor before its rows are
  visible to the worker. Code below the task layer that must not import the job (the rollups, which
  the activity jobs import) names it instead: ``enqueue_after_commit(name, workspace_id=...)``.
* **Immediate mode**: with ``PRM_QUEUE_IMMEDIATE`` (tests, ``make run`` without a worker) huey runs a job
  inline when it is enqueued — still after the commit.
* **One schedule**: periodic jobs are declared with ``@periodic_job`` in ``config/tasks.py`` only
  (``SCHEDULE_MODULE``); apps' ``tasks`` modules hold on-demand jobs. ``load_jobs()`` imports both, as
  the worker must before it starts: huey's autodiscovery finds apps' ``tasks`` modules, not ``config``.
* **Runs recorded, once per minute across workers** (``core.jobruns``): ``@periodic_job`` claims each
  (job, scheduled minute) before running it — several workers sharing a Redis queue each enqueue the
  schedule, one runs it, the others record ``skipped`` — and records every run (start, end, status,
  error, the count the job returned). ``@workspace_task`` records a run when it fails, does work or is
  a retry; not the empty wake-ups. ``call_local`` (a job run inside another, e.g. a catch-up's loop over
  workspaces) records nothing of its own: the run around it does.
* **Retries with backoff**: a failed workspace job is retried ``RETRIES`` times, ``RETRY_DELAY`` seconds
  after the first failure and ``RETRY_BACKOFF`` times longer after each next one (30 s, 2 min, 8 min),
  each attempt recorded. A periodic job retries likewise, except one that runs every minute: its next
  run a minute later is its retry.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any, Generic, TypeVar, cast

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from openprm.core import jobruns
from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.scoping import AccessScope, scope

SCHEDULE_MODULE = "config.tasks"  # the one schedule: every periodic job, with its crontab

logger = logging.getLogger(__name__)

RETRIES = 3  # attempts after the first, for a job that fails
RETRY_DELAY = 30  # seconds before the first retry...
RETRY_BACKOFF = 4  # ...and this many times longer before each next one: 30 s, 2 min, 8 min

R = TypeVar("R")

_TASKS: dict[str, WorkspaceTask[Any]] = {}
_PERIODIC: dict[str, jobruns.PeriodicJob] = {}
_loaded = threading.Event()


@contextmanager
def workspace_scope(workspace_id: int) -> Iterator[AccessScope]:
    """The access scope of the workspace's system actor: every row of that workspace, no other's."""
    with scope(Actor.system(workspace_id).access_scope()) as access:
        yield access


class WorkspacesFailed(RuntimeError):
    """A periodic loop's workspace job failed in some workspaces (each failure is recorded as its own)."""


class WorkspaceTask(Generic[R]):
    """A job about one workspace (see the module docstring); made by ``@workspace_task``.

    Its huey name stays ``<module>.<function>`` (jobs already queued under that name keep running)."""

    def __init__(self, fn: Callable[..., R]) -> None:
        self.fn = fn
        self.name = f"{fn.__module__}.{fn.__name__}"
        self.__doc__ = fn.__doc__

        @functools.wraps(fn)
        def run(workspace_id: int, *args: Any, **kwargs: Any) -> R:
            with workspace_scope(workspace_id):
                return fn(workspace_id, *args, **kwargs)

        @functools.wraps(fn)
        def recorded(workspace_id: int, *args: Any, task: Any = None, **kwargs: Any) -> R:
            attempt, started = _attempt(task, RETRIES), timezone.now()
            try:
                result = run(workspace_id, *args, **kwargs)
            except Exception as exc:
                jobruns.run_record(
                    job=self.name,
                    workspace_id=workspace_id,
                    started_at=started,
                    attempt=attempt,
                    error=exc,
                    retrying=_will_retry(task),
                )
                raise
            jobruns.run_record(
                job=self.name, workspace_id=workspace_id, started_at=started, attempt=attempt, result=result
            )
            return result

        self._run = run
        self.huey_task = db_task(
            retries=RETRIES, retry_delay=RETRY_DELAY, retry_backoff=RETRY_BACKOFF, context=True
        )(recorded)
        self._scheduled: dict[int, float] = {}  # workspace → when this process last scheduled a delayed run

    def call_local(self, workspace_id: int, *args: Any, **kwargs: Any) -> R:
        """Run now, in this process, inside the workspace's scope (the schedule's catch-ups, commands)."""
        return self._run(workspace_id, *args, **kwargs)

    def run_each(self, workspace_ids: Iterable[int]) -> int:
        """Run now for each workspace (the schedule's loops) and return the sum of the counts. One
        workspace's failure does not stop the others: it is recorded as that workspace's failed run (its
        admins read the error on their Jobs page) and, once every workspace had its turn,
        :class:`WorkspacesFailed` says how many failed — without any workspace's detail, since the
        periodic run is shown to every workspace's admins."""
        total = failed = seen = 0
        for workspace_id in workspace_ids:
            seen += 1
            started = timezone.now()
            try:
                result = self._run(workspace_id)
            except Exception as exc:
                failed += 1
                logger.exception("%s failed in workspace %s", self.name, workspace_id)
                jobruns.run_record(job=self.name, workspace_id=workspace_id, started_at=started, error=exc)
                continue
            total += int(cast(Any, result) or 0)
        if failed:
            raise WorkspacesFailed(f"{self.name} failed in {failed} of {seen} workspaces (see their runs)")
        return total

    def delay(self, workspace_id: int, *args: Any, **kwargs: Any) -> None:
        """Enqueue now: only from code that runs after the commit (an ``on_commit`` callback)."""
        self.huey_task(workspace_id, *args, **kwargs)

    __call__ = delay

    def delay_on_commit(self, workspace_id: int, *args: Any, once: bool = False, **kwargs: Any) -> None:
        """Enqueue once the surrounding transaction commits (never, if it rolls back); right away when
        no transaction is open.

        ``once``: skip when the callback registered last already enqueues this job for the workspace in
        a transaction this one is part of — a loop writing many rows wakes the job once (a job that
        takes whatever is waiting, such as the outbox delivery)."""
        callback = _Delay(self, workspace_id, args, kwargs)
        if once and _registered_last(callback):
            return
        transaction.on_commit(callback)

    def delay_coalesced(self, workspace_id: int, *, delay: float) -> None:
        """Run ``delay`` seconds from now unless this process already scheduled a run for the workspace
        within the last ``delay`` seconds (that run takes this work too): one job for many small writes,
        e.g. clicks. Inline in immediate mode. Call it after the commit."""
        if HUEY.immediate:
            self.delay(workspace_id)
            return
        now = time.monotonic()
        if now - self._scheduled.get(workspace_id, -delay) < delay:
            return
        self._scheduled[workspace_id] = now
        self.huey_task.schedule(args=(workspace_id,), delay=delay)


class _Delay:
    """An ``on_commit`` callback enqueueing a job (comparable, for ``delay_on_commit(once=True)``)."""

    def __init__(self, task: WorkspaceTask[Any], workspace_id: int, args: Any, kwargs: Any) -> None:
        self.key = (task.name, workspace_id, args, tuple(sorted(kwargs.items())))
        self.task, self.workspace_id, self.args, self.kwargs = task, workspace_id, args, kwargs

    def __call__(self) -> None:
        self.task.delay(self.workspace_id, *self.args, **self.kwargs)


def _registered_last(callback: _Delay) -> bool:
    """Whether the last commit callback is the same job, registered in this transaction or one
    enclosing it (so it runs if and only if this transaction commits)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block or not connection.run_on_commit:
        return False
    savepoints, last, _ = connection.run_on_commit[-1]
    return (
        isinstance(last, _Delay) and last.key == callback.key and savepoints <= set(connection.savepoint_ids)
    )


def workspace_task(fn: Callable[..., R]) -> WorkspaceTask[R]:
    """Declare an on-demand job about one workspace (in an app's ``tasks`` module)."""
    task = WorkspaceTask(fn)
    _TASKS[task.name] = task
    return task


def _attempt(task: Any, retries: int) -> int:
    """Which attempt this is (1 = the first run): huey counts the retries left down from ``retries``."""
    return 1 if task is None else max(retries - int(task.retries), 0) + 1


def _will_retry(task: Any) -> bool:
    """Whether huey retries the task after this failure (retries left; never when run inline by hand)."""
    return task is not None and int(task.retries) > 0


def periodic_job(
    cron: Callable[..., bool], *, retries: int | None = None
) -> Callable[[Callable[[], R]], Any]:
    """Declare a periodic job (in ``config/tasks.py`` only): ``cron`` is a ``huey.crontab``.

    Each run is claimed for its scheduled minute (once across every worker) and recorded; a failed run is
    retried ``retries`` times with backoff — by default ``RETRIES``, or none for a job that runs every
    minute (its next run is its retry)."""
    parsed = jobruns.Cron.of(cron)
    if retries is None:
        retries = 0 if parsed is not None and parsed.every_minute else RETRIES

    def decorate(fn: Callable[[], R]) -> Any:
        name = f"{fn.__module__}.{fn.__name__}"
        total = retries

        @functools.wraps(fn)
        def claimed(*, scheduled_for: str | None = None, task: Any = None) -> R | None:
            # run by hand (a direct call: commands, tests): recorded, never refused (no minute to claim)
            slot = datetime.datetime.fromisoformat(scheduled_for) if scheduled_for else None
            run = jobruns.run_claim(job=name, scheduled_for=slot, attempt=_attempt(task, total))
            if run is None:
                return None  # another worker has this minute
            try:
                result = fn()
            except Exception as exc:
                jobruns.run_finish(run, error=exc, retrying=_will_retry(task))
                raise
            jobruns.run_finish(run, result=result)
            return result

        _PERIODIC[name] = jobruns.PeriodicJob(name=name, fn=fn, cron=cron, retries=total)
        kwargs: dict[str, Any] = {
            "retries": total,
            "retry_delay": RETRY_DELAY,
            "retry_backoff": RETRY_BACKOFF,
        }
        return db_periodic_task(cron, context=True, **kwargs)(claimed)

    return decorate


def load_jobs() -> None:
    """Import every app's ``tasks`` module and the schedule, once per process (what the worker runs)."""
    if not _loaded.is_set():
        autodiscover_modules("tasks")
        import_module(SCHEDULE_MODULE)
        _loaded.set()


def job(name: str) -> WorkspaceTask[Any]:
    """The workspace job registered under ``name`` (``<module>.<function>``), loading the jobs first if
    this process has not yet; a LookupError names a job that does not exist."""
    if name not in _TASKS:
        load_jobs()
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"No workspace job named {name!r}") from None


def enqueue_after_commit(name: str, *, workspace_id: int, coalesce: float | None = None) -> None:
    """Enqueue the job ``name`` for the workspace once the transaction commits, for code that must not
    import the task layer (it imports that code). With ``coalesce`` (seconds), many writes in a row
    make one run (``WorkspaceTask.delay_coalesced``): for jobs that take all changes since their last."""
    if coalesce is None:
        transaction.on_commit(lambda: job(name).delay(workspace_id))
    else:
        transaction.on_commit(lambda: job(name).delay_coalesced(workspace_id, delay=coalesce))


def periodic_jobs() -> dict[str, jobruns.PeriodicJob]:
    """Every periodic job declared (after ``load_jobs``), by ``<module>.<function>``."""
    return dict(sorted(_PERIODIC.items()))


def job_names() -> list[str]:
    """Every job's name, periodic and on-demand (after ``load_jobs``): the Jobs page's filter."""
    return sorted({*_PERIODIC, *_TASKS})


def workspace_ids() -> list[int]:
    """Every workspace, for periodic jobs that visit each (the workspace table is not tenant data)."""
    return list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
