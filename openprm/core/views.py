"""The installation's own pages (admins): the Jobs page — the schedule and the recent job runs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from openprm.core import jobruns
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.models import JobRun
from openprm.core.permissions import Perm
from openprm.core.tasks import job_names, load_jobs, periodic_jobs


@staff_view
def jobs(request: HttpRequest) -> HttpResponse:
    """Admins: each periodic job with its schedule, last and next run; the recent runs, filtered by job
    and status, newest first (the workspace's and the installation's, never another workspace's)."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    load_jobs()
    names = job_names()
    job, status = request.GET.get("job", ""), request.GET.get("status", "")
    job = job if job in names else ""  # an unknown name (or a NUL byte) filters nothing
    status = status if status in JobRun.Status.values else ""
    runs = jobruns.run_list(workspace_id=actor.workspace_id, job=job, status=status)
    schedule = jobruns.schedule_list(jobs=periodic_jobs().values())
    return render(
        request,
        "core/jobs.html",
        {
            "schedule": schedule,
            "page": paginate(request, runs),
            "filters": {"job": job, "status": status},
            "job_names": names,
            "statuses": JobRun.Status.choices,
        },
    )
