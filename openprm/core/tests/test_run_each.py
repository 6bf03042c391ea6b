"""The schedule's loops over workspaces: one workspace's failure is recorded as its own and never stops
the others; the periodic run says how many failed, without any workspace's detail."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.core.models import JobRun, Workspace
from openprm.core.tasks import WorkspacesFailed, workspace_task

pytestmark = pytest.mark.django_db

seen: list[int] = []


@workspace_task
def _count_or_fail(workspace_id: int) -> int:
    seen.append(workspace_id)
    workspace = Workspace.objects.get(pk=workspace_id)
    if workspace.slug == "broken":
        raise ValueError(f"secret detail of {workspace.slug}")
    return 2


def test_a_failing_workspace_is_recorded_and_the_others_still_run(workspace: Any) -> None:
    broken = Workspace.objects.create(name="Broken", slug="broken")
    later = Workspace.objects.create(name="Later", slug="later")
    seen.clear()
    with pytest.raises(WorkspacesFailed) as failed:
        _count_or_fail.run_each([broken.pk, workspace.pk, later.pk])
    assert seen == [broken.pk, workspace.pk, later.pk]  # the failure stopped nobody
    assert "1 of 3 workspaces" in str(failed.value) and "secret" not in str(failed.value)
    run = JobRun.objects.get(job=_count_or_fail.name)
    assert (run.workspace_id, run.status) == (broken.pk, JobRun.Status.FAILED)
    assert "secret detail of broken" in run.error  # for the broken workspace's own admins only
    assert _count_or_fail.run_each([workspace.pk, later.pk]) == 4
