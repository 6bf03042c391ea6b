"""Jobs of the alerts app (on demand; the schedule in ``config/tasks.py`` runs ``alerts_evaluate`` every
minute for each workspace)."""

from __future__ import annotations

from django.utils import timezone

from openprm.alerts.evaluation import evaluate_rules
from openprm.core.tasks import workspace_task


@workspace_task
def alerts_evaluate(workspace_id: int) -> int:
    """Evaluate the workspace's due alert rules now; returns how many alerts changed state."""
    return evaluate_rules(workspace_id=workspace_id, now=timezone.now()).transitions
