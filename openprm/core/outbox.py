"""The outbox: side effects (e-mails today; webhooks and notifications next) announced by a change and
delivered after it commits.

Why: a mail sent from an ``on_commit`` callback is lost when the process dies between the commit and the
send, and a mail sent inside the transaction goes out for a change that may still roll back. Instead the
service writes an ``OutboxMessage`` in the transaction of the change it announces (``outbox_put``, which
refuses to run outside one): the message exists if and only if the change does. The worker delivers it.

* **Topics and handlers.** A message has a topic (``"email"``) and a JSON payload. Each topic has one
  handler, ``handler(message)``, registered with ``@outbox_handler(topic)`` in the owning app's ``tasks``
  module (which the worker loads). Payloads carry ids and values, never secrets: a handler builds
  one-time links and the like when it delivers.
* **Delivery.** ``outbox_put`` enqueues ``deliver_outbox`` for the workspace after the commit (once per
  transaction), and the schedule's catch-up delivers whatever is due every minute (a lost job, a retry
  whose time came). ``outbox_deliver`` claims due messages — ``SELECT ... FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, a conditional ``UPDATE`` on SQLite — and leases them for ``LEASE_SECONDS``: two deliveries
  that race take disjoint messages, so each is delivered once. (At least once only if a worker dies in a
  handler, or a handler outlives its lease: handlers should be quick and tolerate a repeat.)
* **Retries.** A handler that raises records ``last_error`` and makes the message due again after an
  exponential backoff (``BACKOFF_SECONDS`` doubled per attempt, at most ``BACKOFF_MAX_SECONDS``), up to
  ``MAX_ATTEMPTS``; then it stays undelivered with its error, for an operator to read. A failing message
  never holds up the others.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Min, QuerySet
from django.utils import timezone

from openprm.core.health import QueueState, register_probe
from openprm.core.models import OutboxMessage
from openprm.core.scoping import unscoped
from openprm.core.tasks import load_jobs, workspace_scope, workspace_task

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxMessage], None]

LEASE_SECONDS = 300.0  # a claimed message is not claimed again this long (while its handler runs)
BACKOFF_SECONDS = 30.0  # wait after the first failure; doubled after each further one
BACKOFF_MAX_SECONDS = 6 * 3600.0
MAX_ATTEMPTS = 12  # ~1.5 days of retries, then the message stays undelivered with its error
BATCH = 100  # messages claimed per transaction

_HANDLERS: dict[str, Handler] = {}


def outbox_handler(topic: str) -> Callable[[Handler], Handler]:
    """Register the delivery handler of a topic (one per topic)."""

    def register(handler: Handler) -> Handler:
        if _HANDLERS.get(topic, handler) is not handler:
            raise ValueError(f"The outbox topic {topic!r} already has a handler")
        _HANDLERS[topic] = handler
        return handler

    return register


def outbox_put(*, workspace_id: int, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Write a message in the transaction of the change it announces; delivered after the commit."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "outbox_put() must run inside the transaction of the change it announces"
        )
    with workspace_scope(workspace_id):  # whoever made the change (a partner user too): staff-only rows
        message = OutboxMessage.objects.create(
            workspace_id=workspace_id, topic=topic, payload=payload, available_at=timezone.now()
        )
    deliver_outbox.delay_on_commit(workspace_id, once=True)  # one delivery for many messages
    return message


def outbox_put_many(
    *, workspace_id: int, topic: str, messages: list[tuple[dict[str, Any], datetime.datetime]]
) -> list[OutboxMessage]:
    """``outbox_put`` for many messages in one write: ``(payload, available_at)`` each (now at the
    earliest); returns them in the same order, with their ids."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "outbox_put_many() must run inside the transaction of the change it announces"
        )
    if not messages:
        return []
    now = timezone.now()
    with workspace_scope(workspace_id):
        made = OutboxMessage.objects.bulk_create(
            OutboxMessage(workspace_id=workspace_id, topic=topic, payload=payload, available_at=max(at, now))
            for payload, at in messages
        )
    deliver_outbox.delay_on_commit(workspace_id, once=True)
    return made


def _due(now: datetime.datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        delivered_at__isnull=True, available_at__lte=now, attempts__lt=MAX_ATTEMPTS
    )


def _claim(now: datetime.datetime, limit: int) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages of the active workspace and lease them (one short transaction)."""
    lease = now + datetime.timedelta(seconds=LEASE_SECONDS)
    with transaction.atomic():
        due = _due(now).order_by("available_at", "pk")
        if connection.vendor == "postgresql":
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            OutboxMessage.objects.filter(pk__in=ids).update(available_at=lease, attempts=F("attempts") + 1)
        else:  # SQLite has one writer at a time: a message is ours if our UPDATE still found it due
            ids = [
                pk
                for pk in due.values_list("pk", flat=True)[:limit]
                if _due(now).filter(pk=pk).update(available_at=lease, attempts=F("attempts") + 1)
            ]
        return list(OutboxMessage.objects.filter(pk__in=ids).order_by("available_at", "pk"))


def backoff_seconds(attempts: int) -> float:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def _deliver_one(message: OutboxMessage) -> bool:
    """Run the topic's handler; mark the message delivered, or record the error and back off."""
    handler = _HANDLERS.get(message.topic)
    mine = OutboxMessage.objects.filter(pk=message.pk, delivered_at__isnull=True, attempts=message.attempts)
    try:
        if handler is None:
            raise LookupError(f"No outbox handler for the topic {message.topic!r}")
        with transaction.atomic():  # what the handler writes commits with the delivery mark, or not at all
            held = mine.filter(available_at=message.available_at)  # our lease: not re-claimed since
            if connection.vendor == "postgresql":
                held = held.select_for_update()  # and no re-claim (SKIP LOCKED) while the handler runs
            if not list(held.values_list("pk", flat=True)):
                return False  # the lease ran out and another worker claimed the message: it runs it
            handler(message)
            mine.update(delivered_at=timezone.now(), last_error="")
    except Exception as exc:
        logger.warning("Outbox message %s (%s) failed: %s", message.pk, message.topic, exc, exc_info=True)
        retry_at = timezone.now() + datetime.timedelta(seconds=backoff_seconds(message.attempts))
        mine.update(available_at=retry_at, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return False
    return True


def outbox_deliver(*, workspace_id: int, limit: int = BATCH, now: datetime.datetime | None = None) -> int:
    """Deliver the active workspace's due messages, ``limit`` claimed at a time, until none is due;
    returns how many were delivered. Runs inside the workspace's scope (``deliver_outbox``)."""
    load_jobs()  # the handlers are registered by the apps' tasks modules
    delivered = 0
    while claimed := _claim(now or timezone.now(), limit):
        delivered += sum(_deliver_one(message) for message in claimed)
    return delivered


@workspace_task
def deliver_outbox(workspace_id: int) -> int:
    """After a change commits: deliver the outbox messages it put (and anything else due)."""
    return outbox_deliver(workspace_id=workspace_id)


def outbox_workspaces_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Workspaces with messages due now. Spans workspaces (the schedule's catch-up): ``unscoped``."""
    with unscoped():
        due = _due(now or timezone.now()).order_by("workspace_id").values_list("workspace_id", flat=True)
        return list(due.distinct())


def outbox_queue_state() -> QueueState:
    """Messages due and undelivered in every workspace, and how long the oldest has been due."""
    with unscoped():
        found = _due(timezone.now()).aggregate(n=Count("pk"), oldest=Min("available_at"))
    oldest = found["oldest"]
    age = None if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    return QueueState(pending=found["n"], oldest_age_seconds=age)


register_probe("outbox", outbox_queue_state)  # GET /health/: messages the worker has not delivered yet
