"""Job runs: what the worker ran, when, how it ended — recorded by the job decorators of ``core.tasks``
and listed for admins (the Jobs page, ``/api/v1/jobs/schedule`` and ``/api/v1/jobs/runs``).

* **What is recorded.** Every periodic run, always: a ``running`` row when it starts (which is also its
  claim, below), finished as ``succeeded`` with the count the job returned, or ``failed``/``retrying``
  with the error. On-demand workspace jobs (the fold after each write, the outbox delivery, ...) run far
  more often, mostly to find that a concurrent run took their work: a row only when a run fails, does
  work (returns a non-zero count) or is a retry — not for the empty wake-ups, which would outnumber every
  other row and say nothing.
* **One run per scheduled minute, across workers.** Each worker's scheduler enqueues the periodic jobs
  (on a shared Redis queue, every worker's copy lands there), stamped with the minute they fired for
  (``core.jobqueue``). ``run_claim`` inserts the run's row under a unique constraint on (job, minute,
  attempt): the first worker's insert wins, the others get an IntegrityError, record a ``skipped`` row
  and do not run the job. The database, not Redis, holds the claim: it is the same on SQLite and
  PostgreSQL, works across machines that share the database whatever queue they use, and the claim is
  the record itself (no lock key to expire or leak).
* **Errors** are stored as the exception's type and message (never a traceback or local values),
  with credentials in URLs masked, and truncated to ``ERROR_CHARS``.
* **Retention.** ``run_prune`` (daily, from the schedule) deletes runs older than
  ``PRM_JOB_RUNS_KEEP_DAYS`` (30), and marks failed the runs a worker left ``running`` when it was
  stopped or killed mid-run (still running after ``INTERRUPTED_HOURS``).
"""

from __future__ import annotations

import datetime
import inspect
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from openprm.core.models import JobRun

ERROR_CHARS = 2000
INTERRUPTED_HOURS = 12  # a run still "running" this long lost its worker
INTERRUPTED = "Interrupted: the worker stopped before the run finished"
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@", re.IGNORECASE)
_SECRET_PARAMS = re.compile(
    r"(?P<key>(?:password|passwd|secret|token|api[_-]?key)=)[^&\s'\"]+", re.IGNORECASE
)


def _where() -> dict[str, Any]:
    return {"host": socket.gethostname()[:255], "pid": os.getpid()}


def error_text(exc: BaseException) -> str:
    """The error as it is stored: type and message, credentials masked, truncated."""
    text = f"{type(exc).__name__}: {exc}"
    text = _CREDENTIALS.sub(r"\g<scheme>***@", text)
    text = _SECRET_PARAMS.sub(r"\g<key>***", text)
    return text[:ERROR_CHARS]


def _count(result: Any) -> int | None:
    return int(result) if isinstance(result, int) and not isinstance(result, bool) else None


# --- recording (the decorators of core.tasks call these) ---------------------------------------------------


def run_claim(*, job: str, scheduled_for: datetime.datetime | None, attempt: int = 1) -> JobRun | None:
    """Start a periodic run: its ``running`` row, or None (and a ``skipped`` row) when another worker
    already claimed this job for this minute and attempt. A run by hand (``scheduled_for`` None) claims
    no minute: it always runs."""
    now = timezone.now()
    fields = {"job": job, "kind": JobRun.Kind.PERIODIC, "scheduled_for": scheduled_for, "attempt": attempt}
    try:
        with transaction.atomic():
            return JobRun.objects.create(**fields, status=JobRun.Status.RUNNING, started_at=now, **_where())
    except IntegrityError:
        JobRun.objects.create(
            **fields, status=JobRun.Status.SKIPPED, started_at=now, finished_at=now, **_where()
        )
        return None


def run_finish(
    run: JobRun, *, result: Any = None, error: BaseException | None = None, retrying: bool = False
) -> None:
    """End a run started by ``run_claim``: succeeded with its count, or failed/retrying with its error."""
    run.finished_at = timezone.now()
    if error is None:
        run.status, run.result_count = JobRun.Status.SUCCEEDED, _count(result)
    else:
        run.status = JobRun.Status.RETRYING if retrying else JobRun.Status.FAILED
        run.error = error_text(error)
    run.save(update_fields=["finished_at", "status", "result_count", "error"])


def run_record(
    *,
    job: str,
    workspace_id: int,
    started_at: datetime.datetime,
    attempt: int = 1,
    result: Any = None,
    error: BaseException | None = None,
    retrying: bool = False,
) -> JobRun | None:
    """Record a finished on-demand workspace job — only if it failed, did work, or was a retry."""
    count = _count(result)
    if error is None and count == 0 and attempt == 1:
        return None  # an empty wake-up (see the module docstring)
    if error is None:
        status, text = JobRun.Status.SUCCEEDED, ""
    else:
        status, text = (JobRun.Status.RETRYING if retrying else JobRun.Status.FAILED), error_text(error)
    return JobRun.objects.create(
        job=job,
        kind=JobRun.Kind.WORKSPACE,
        workspace_id=workspace_id,
        started_at=started_at,
        finished_at=timezone.now(),
        status=status,
        attempt=attempt,
        error=text,
        result_count=count if error is None else None,
        **_where(),
    )


def run_prune(*, now: datetime.datetime | None = None, keep_days: int | None = None) -> int:
    """Delete runs older than ``keep_days`` (``PRM_JOB_RUNS_KEEP_DAYS``); returns how many. Runs still
    ``running`` after ``INTERRUPTED_HOURS`` lost their worker (stopped or killed mid-run): marked failed."""
    now = now or timezone.now()
    JobRun.objects.filter(
        status=JobRun.Status.RUNNING, started_at__lt=now - datetime.timedelta(hours=INTERRUPTED_HOURS)
    ).update(status=JobRun.Status.FAILED, finished_at=now, error=INTERRUPTED)
    days = settings.PRM_JOB_RUNS_KEEP_DAYS if keep_days is None else keep_days
    cutoff = now - datetime.timedelta(days=days)
    deleted, _ = JobRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted


# --- reading (admins: the Jobs page and the API) ----------------------------------------------------------


def run_list(*, workspace_id: int, job: str = "", status: str = "") -> QuerySet[JobRun]:
    """Runs an admin of the workspace may see — the workspace's and the installation's periodic runs,
    never another workspace's — newest first. No ``status``: every run but the ``skipped`` ones."""
    runs = JobRun.objects.filter(Q(workspace_id=workspace_id) | Q(workspace__isnull=True))
    if job:
        runs = runs.filter(job=job)
    runs = runs.filter(status=status) if status else runs.exclude(status=JobRun.Status.SKIPPED)
    return runs.order_by("-started_at", "-pk")


@dataclass(frozen=True)
class Cron:
    """A huey crontab's matching values, read back from the function ``huey.crontab`` returns."""

    months: list[int]
    days: list[int]
    weekdays: list[int]  # 0 = Sunday
    hours: list[int]
    minutes: list[int]

    @classmethod
    def of(cls, validate: Callable[..., bool]) -> Cron | None:
        settings_ = inspect.getclosurevars(validate).nonlocals.get("cron_settings")
        if not isinstance(settings_, list) or len(settings_) != 5:
            return None
        months, days, weekdays, hours, minutes = (sorted(set(values)) for values in settings_)
        return cls(months, days, sorted({w % 7 for w in weekdays}), hours, minutes)  # "*" lists 0-7

    @property
    def every_minute(self) -> bool:
        return len(self.minutes) == 60 and len(self.hours) == 24 and self.describe() == "Every minute"

    def describe(self) -> str:
        every = {"months": range(1, 13), "days": range(1, 32), "weekdays": range(7), "hours": range(24)}
        all_months, all_days = self.months == list(every["months"]), self.days == list(every["days"])
        all_weekdays, all_hours = self.weekdays == list(every["weekdays"]), self.hours == list(every["hours"])
        if len(self.minutes) == 60 and all_hours and all_days and all_weekdays and all_months:
            return "Every minute"
        at_minutes = ", ".join(f":{m:02d}" for m in self.minutes)
        if all_hours and all_days and all_weekdays and all_months:
            return f"Hourly at {at_minutes}"
        times = (
            ", ".join(f"{h:02d}:{m:02d}" for h in self.hours for m in self.minutes)
            if len(self.hours) * len(self.minutes) <= 6
            else f"minutes {at_minutes} of hours {', '.join(map(str, self.hours))}"
        )
        names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        when = "Daily"
        if not all_weekdays:
            when = "On " + ", ".join(names[w] for w in self.weekdays)
        if not all_days:
            when = ("Monthly on day " if all_months else "On day ") + ", ".join(map(str, self.days))
        if not all_months:
            month_names = [datetime.date(2000, m, 1).strftime("%b") for m in self.months]
            when += " in " + ", ".join(month_names)
        return f"{when} at {times} UTC"

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first minute after ``moment`` (UTC) the crontab matches, within about a year."""
        start = moment.astimezone(datetime.UTC).replace(second=0, microsecond=0) + datetime.timedelta(
            minutes=1
        )
        for offset in range(400):
            day = (start + datetime.timedelta(days=offset)).date()
            weekday = (day.weekday() + 1) % 7
            if day.month not in self.months or day.day not in self.days or weekday not in self.weekdays:
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    candidate = datetime.datetime(
                        day.year, day.month, day.day, hour, minute, tzinfo=datetime.UTC
                    )
                    if candidate >= start:
                        return candidate
        return None


@dataclass(frozen=True)
class PeriodicJob:
    """A periodic job as ``core.tasks.periodic_job`` declared it."""

    name: str
    fn: Callable[[], Any]
    cron: Callable[..., bool]  # a huey.crontab
    retries: int

    @property
    def description(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())


@dataclass(frozen=True)
class ScheduledJob:
    """One periodic job of the schedule, with its last run (if any) and its next."""

    job: PeriodicJob
    schedule: str
    next_run: datetime.datetime | None
    last_run: JobRun | None


def schedule_list(*, jobs: Iterable[PeriodicJob], now: datetime.datetime | None = None) -> list[ScheduledJob]:
    """The schedule (``core.tasks.periodic_jobs()``) with each job's last run, in one query, and next."""
    now = now or timezone.now()
    jobs = list(jobs)
    periodic = JobRun.objects.filter(kind=JobRun.Kind.PERIODIC, job__in=[j.name for j in jobs]).exclude(
        status=JobRun.Status.SKIPPED
    )
    newest = periodic.values("job").annotate(newest=Max("pk")).values("newest")
    last = {run.job: run for run in periodic.filter(pk__in=newest)}
    listed = []
    for job in jobs:
        cron = Cron.of(job.cron)
        listed.append(
            ScheduledJob(
                job=job,
                schedule=cron.describe() if cron else "Custom schedule",
                next_run=cron.next_after(now) if cron else None,
                last_run=last.get(job.name),
            )
        )
    return listed
