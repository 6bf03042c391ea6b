"""Jobs of the notifications app: the outbox handler that sends e-mails and webhooks, and the daily digest
(scheduled in ``config/tasks.py``)."""

from __future__ import annotations

from openprm.core.outbox import outbox_handler
from openprm.core.tasks import workspace_task
from openprm.notifications.services import TOPIC, delivery_send, digest_send

outbox_handler(TOPIC)(delivery_send)


@workspace_task
def send_digests(workspace_id: int) -> int:
    """Queue the daily digest e-mails of the workspace's users who chose one."""
    return digest_send(workspace_id=workspace_id)
