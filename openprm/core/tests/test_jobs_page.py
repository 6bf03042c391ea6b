"""The Jobs page and ``/api/v1/jobs/*``: admins only; an admin sees their workspace's runs and the
installation's periodic runs, never another workspace's."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.core.models import JobRun, Workspace
from openprm.core.permissions import Role
from openprm.testing import make_user

pytestmark = pytest.mark.django_db


def run(
    job: str,
    *,
    workspace: Workspace | None = None,
    status: str = "succeeded",
    minutes_ago: int = 1,
    **fields: Any,
) -> JobRun:
    return JobRun.objects.create(
        job=job,
        kind="workspace" if workspace else "periodic",
        workspace=workspace,
        status=status,
        started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        finished_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def runs(world: Any) -> dict[str, JobRun]:
    other = Workspace.objects.create(name="Other", slug="other")
    return {
        "ours": run(
            "openprm.activity.tasks.fold_rollups", workspace=world.workspace, result_count=12, minutes_ago=3
        ),
        "theirs": run(
            "openprm.activity.tasks.fold_rollups", workspace=other, status="failed", error="SECRET-B"
        ),
        "periodic": run(
            "config.tasks.outbox_catch_up", scheduled_for=timezone.now(), result_count=0, minutes_ago=2
        ),
        "failed": run("config.tasks.deals_expire_protection", status="failed", error="ValueError: boom"),
        "skipped": run("config.tasks.outbox_catch_up", status="skipped"),
    }


def test_an_admin_sees_the_workspace_and_installation_runs_never_another_workspaces(
    world: Any, runs: dict[str, JobRun], api_for: Any, client_for: Any
) -> None:
    body = api_for(world.admin).get("/api/v1/jobs/runs").json()
    ids = [item["id"] for item in body["items"]]
    assert ids == [str(runs[k].public_id) for k in ("failed", "periodic", "ours")]  # newest first, no skipped
    assert body["count"] == 3
    ours = body["items"][2]
    assert (ours["job"], ours["kind"], ours["result_count"], ours["status"]) == (
        "openprm.activity.tasks.fold_rollups",
        "workspace",
        12,
        "succeeded",
    )
    assert body["items"][0]["error"] == "ValueError: boom"

    page = client_for(world.admin).get(reverse("core:jobs")).content.decode()
    assert f"run-{runs['ours'].public_id}" in page and "ValueError: boom" in page
    assert f"run-{runs['theirs'].public_id}" not in page and "SECRET-B" not in page
    failed = client_for(world.admin).get(reverse("core:jobs"), {"status": "failed"}).content.decode()
    assert f"run-{runs['theirs'].public_id}" not in failed and "SECRET-B" not in failed

    # the other workspace's admin sees their run, not ours
    other_admin = make_user(runs["theirs"].workspace, "admin@other.test", Role.ADMIN)
    theirs = [item["id"] for item in api_for(other_admin).get("/api/v1/jobs/runs").json()["items"]]
    assert str(runs["theirs"].public_id) in theirs and str(runs["ours"].public_id) not in theirs


def test_runs_filter_by_job_and_status(
    world: Any, runs: dict[str, JobRun], api_for: Any, client_for: Any
) -> None:
    api = api_for(world.admin)
    by_job = api.get("/api/v1/jobs/runs", {"job": "config.tasks.outbox_catch_up"}).json()["items"]
    assert [item["id"] for item in by_job] == [str(runs["periodic"].public_id)]
    skipped = api.get("/api/v1/jobs/runs", {"status": "skipped"}).json()["items"]
    assert [item["id"] for item in skipped] == [str(runs["skipped"].public_id)]
    assert api.get("/api/v1/jobs/runs", {"status": "exploded"}).status_code == 422
    assert api.get("/api/v1/jobs/runs", {"job": "config\x00"}).status_code == 422  # never a 500 on PostgreSQL
    assert client_for(world.admin).get(reverse("core:jobs"), {"job": "x\x00"}).status_code == 200
    page = client_for(world.admin).get(reverse("core:jobs"), {"job": "config.tasks.deals_expire_protection"})
    html = page.content.decode()
    assert f"run-{runs['failed'].public_id}" in html and f"run-{runs['ours'].public_id}" not in html


def test_the_schedule_lists_each_periodic_job_with_its_last_and_next_run(
    world: Any, runs: dict[str, JobRun], api_for: Any, client_for: Any
) -> None:
    body = api_for(world.admin).get("/api/v1/jobs/schedule").json()
    jobs = {item["job"]: item for item in body}
    assert set(jobs) >= {"config.tasks.outbox_catch_up", "config.tasks.jobs_prune_runs"}
    outbox = jobs["config.tasks.outbox_catch_up"]
    assert (outbox["schedule"], outbox["retries"]) == ("Every minute", 0)
    assert outbox["last_run"]["id"] == str(runs["periodic"].public_id)  # the newest not skipped
    assert jobs["config.tasks.deals_expire_protection"]["last_run"]["status"] == "failed"
    assert jobs["config.tasks.jobs_prune_runs"]["last_run"] is None
    assert jobs["config.tasks.jobs_prune_runs"]["schedule"] == "Daily at 03:41 UTC"
    next_run = datetime.datetime.fromisoformat(jobs["config.tasks.jobs_prune_runs"]["next_run"])
    assert (next_run.hour, next_run.minute) == (3, 41) and next_run > timezone.now()

    html = client_for(world.admin).get(reverse("core:jobs")).content.decode()
    assert "Hourly at :07" in html and "Monthly on day 1 at 02:17 UTC" in html and ">Jobs</a>" in html


@pytest.mark.parametrize("who", ["manager", "finance", "analyst", "a_admin", "a_rep"])
def test_only_admins_may_see_jobs(
    world: Any, runs: dict[str, JobRun], api_for: Any, client_for: Any, who: str
) -> None:
    user = getattr(world, who)
    api = api_for(user)
    assert api.get("/api/v1/jobs/runs").status_code == 403
    assert api.get("/api/v1/jobs/schedule").status_code == 403
    assert client_for(user).get(reverse("core:jobs")).status_code in (403, 404)
    assert ">Jobs</a>" not in client_for(user).get("/", follow=True).content.decode()


def test_the_runs_page_costs_the_same_queries_for_many_runs(world: Any, client_for: Any) -> None:
    client = client_for(world.admin)
    run("config.tasks.outbox_catch_up")
    client.get(reverse("core:jobs"))  # warm: sessions, jobs loaded
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("core:jobs")).status_code == 200
    for minute in range(60):
        run("config.tasks.outbox_catch_up", minutes_ago=minute, scheduled_for=timezone.now())
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("core:jobs")).content.decode()
    assert len(many) == len(few)
    assert "Page 1 of 2" in page
