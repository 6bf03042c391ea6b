"""Jobs of the reports app: the outbox handler that renders and e-mails a delivery, and the due-report
job (scheduled in ``config/tasks.py``)."""

from __future__ import annotations

from django.utils import timezone

from openprm.core.outbox import outbox_handler
from openprm.core.tasks import workspace_task
from openprm.reports.delivery import deliver
from openprm.reports.services import TOPIC, send_due

outbox_handler(TOPIC)(deliver)


@workspace_task
def reports_send_due(workspace_id: int) -> int:
    """Start the runs of the workspace's reports whose time came; returns how many started."""
    return send_due(workspace_id=workspace_id, now=timezone.now())
