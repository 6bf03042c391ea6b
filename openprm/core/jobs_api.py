"""The job worker over HTTP (admins): the schedule and the recent job runs (``core.jobruns``).

``GET /jobs/schedule`` lists each periodic job with its schedule in words, its last run and its next;
``GET /jobs/runs`` the runs an admin may see — their workspace's and the installation's periodic runs,
never another workspace's — newest first, filtered by ``job`` and ``status`` (without ``status``: all
but the ``skipped`` duplicates). Other roles get 403.
"""

# No ``from __future__ import annotations``: Ninja reads the parameter annotations at import time.
import datetime
import uuid
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict, Field, StringConstraints

from openprm.core import jobruns
from openprm.core.api import ERRORS, request_actor
from openprm.core.models import JobRun
from openprm.core.permissions import Perm
from openprm.core.schemas import NoNul, Pagination
from openprm.core.tasks import load_jobs, periodic_jobs

router = Router(tags=["jobs"])

RunStatus = Literal["running", "succeeded", "failed", "retrying", "skipped"]


class JobRunOut(Schema):
    id: uuid.UUID
    job: str
    kind: Literal["periodic", "workspace"]
    status: RunStatus
    attempt: int
    scheduled_for: datetime.datetime | None
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    duration_seconds: float | None
    result_count: int | None
    error: str
    host: str
    pid: int | None

    @staticmethod
    def resolve_id(run: JobRun) -> uuid.UUID:
        return run.public_id


class ScheduledJobOut(Schema):
    job: str
    description: str
    schedule: str = Field(description="The crontab in words (UTC)")
    retries: int = Field(description="Retries after a failed run (with backoff: 30 s, 2 min, 8 min)")
    next_run: datetime.datetime | None
    last_run: JobRunOut | None


class RunQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    job: Annotated[str, StringConstraints(max_length=200), NoNul] = Field(
        "", description="A job's full name, e.g. config.tasks.outbox_catch_up"
    )
    status: RunStatus | None = Field(None, description="Without it: every status but skipped")


def _admin_workspace(request: HttpRequest) -> int:
    actor = request_actor(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    return actor.workspace_id


@router.get("/jobs/schedule", response={200: list[ScheduledJobOut], **ERRORS})
def job_schedule(request: HttpRequest) -> list[dict[str, Any]]:
    """Admins: every periodic job of the schedule, with its crontab in words, last run and next run."""
    _admin_workspace(request)
    load_jobs()
    return [
        {
            "job": item.job.name,
            "description": item.job.description,
            "schedule": item.schedule,
            "retries": item.job.retries,
            "next_run": item.next_run,
            "last_run": item.last_run,  # read through JobRunOut
        }
        for item in jobruns.schedule_list(jobs=periodic_jobs().values())
    ]


@router.get("/jobs/runs", response={200: list[JobRunOut], **ERRORS})
@paginate(Pagination)
def job_run_list(request: HttpRequest, filters: Query[RunQuery]) -> QuerySet[JobRun]:
    """Admins: recent job runs, newest first: periodic runs of the installation and this workspace's
    on-demand jobs (those that failed, did work or were retried)."""
    return jobruns.run_list(
        workspace_id=_admin_workspace(request), job=filters.job, status=filters.status or ""
    )
