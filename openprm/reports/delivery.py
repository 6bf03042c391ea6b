"""Delivering a run's e-mails (the outbox handler of ``services.TOPIC``) and building what they carry.

Each delivery is rendered when it is delivered, not when the run started: the figures are those of the
moment of sending, and the outbox payload holds only the delivery id. A staff recipient's copy is built
with that user's own access (an owned-only manager sees only their partners); a partner contact's copy
with an actor scoped to that one partner, so no other partner's row can reach it. A delivery already sent
is never sent again; a failed one is logged (error, attempt) and tried again after the outbox's backoff.

Unsubscribe links carry a token signed with ``django.core.signing`` (the definition and the e-mail): it
works without logging in, and a changed token is refused.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import User
from openprm.accounts.selectors import actor_for_user
from openprm.core.actors import Actor
from openprm.core.models import OutboxMessage
from openprm.core.outbox import backoff_seconds, outbox_put
from openprm.core.permissions import Role
from openprm.core.scoping import scope
from openprm.dashboards.filters import DashboardFilters
from openprm.metrics.periods import Period, parse_period
from openprm.notifications.conf import base_url
from openprm.partners.models import Partner
from openprm.reports import content, render
from openprm.reports.models import ReportDefinition, ReportDelivery
from openprm.reports.services import TOPIC

MAX_ATTEMPTS = 5
SALT = "openprm.reports.unsubscribe"


# --- unsubscribe tokens -----------------------------------------------------------------------------------


def unsubscribe_token(*, definition: ReportDefinition, email: str) -> str:
    return signing.dumps({"d": str(definition.public_id), "e": email.strip().lower()}, salt=SALT)


def unsubscribe_read(token: str) -> tuple[str, str]:
    """(definition public id, e-mail) of a token; ``signing.BadSignature`` when it was tampered with."""
    data = signing.loads(token, salt=SALT)
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("e"), str):
        raise signing.BadSignature("Malformed token")
    return data["d"], data["e"]


def unsubscribe_url(*, definition: ReportDefinition, email: str) -> str:
    token = unsubscribe_token(definition=definition, email=email)
    return base_url() + reverse("reports:unsubscribe", args=[token])


# --- building ---------------------------------------------------------------------------------------------


def partner_actor(workspace_id: int, partner_id: int) -> Actor:
    """A partner admin's view of one partner: the scope a partner-facing copy is built in."""
    return Actor(workspace_id=workspace_id, role=Role.PARTNER_ADMIN, partner_id=partner_id, label="reports")


def filters_for(definition: ReportDefinition, period: Period) -> DashboardFilters:
    return DashboardFilters(**definition.filters, period=period.key)


def document_for(
    *, actor: Actor, definition: ReportDefinition, period: Period, partner: Partner | None
) -> content.Document:
    """The document of ``definition`` over ``period`` as ``actor`` may see it (runs inside its scope)."""
    with scope(actor.access_scope()):
        if partner is not None:
            partner = Partner.objects.get(pk=partner.pk)  # still visible to this actor, or DoesNotExist
        return content.build(
            actor=actor,
            kind=definition.kind,
            title=definition.name,
            f=filters_for(definition, period),
            partner=partner,
        )


def _actor(delivery: ReportDelivery) -> Actor:
    if delivery.user_id is not None:
        user = User.objects.get(pk=delivery.user_id)
        found = actor_for_user(user)
        if found is None or not found.is_staff or found.workspace_id != delivery.workspace_id:
            raise PermissionError(f"{delivery.email} is no longer staff of this workspace")
        return found
    assert delivery.partner_id is not None
    return partner_actor(delivery.workspace_id, delivery.partner_id)


def _message(
    delivery: ReportDelivery,
    definition: ReportDefinition,
    document: content.Document,
    files: list[render.Attachment],
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(definition=definition, email=delivery.email)
    subject = f"{definition.name}: {document.period.label}" + (
        f" · {document.partner}" if document.partner else ""
    )
    context: dict[str, Any] = {
        "definition": definition,
        "document": document,
        "files": files,
        "unsubscribe": unsubscribe,
        "staff": delivery.user_id is not None,
        "preview": base_url() + reverse("reports:detail", args=[definition.public_id]),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("reports/email.txt", context),
        to=[delivery.email],
        headers={  # RFC 8058 one-click: a mail client may POST to the link (the page accepts it)
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string("reports/email.html", context), "text/html")
    for f in files:
        message.attach(f.filename, f.content, f.mimetype)
    return message


_rendered: dict[tuple[Any, ...], tuple[content.Document, list[render.Attachment]]] = {}
RENDERED_KEPT = 8  # documents kept per process: the copies of one run to recipients who see the same


def _render(
    delivery: ReportDelivery, definition: ReportDefinition
) -> tuple[content.Document, list[render.Attachment]]:
    """The delivery's document and files, rendered once per run for recipients who see the same data (all
    staff without an owned-only restriction; the contacts of one partner)."""
    actor = _actor(delivery)
    who = (actor.partner_id, actor.user_id if actor.owned_only else None, actor.is_staff)
    key = (delivery.run.public_id, delivery.partner_id, who)
    if key not in _rendered:
        period = parse_period(delivery.run.period_key)
        document = document_for(actor=actor, definition=definition, period=period, partner=delivery.partner)
        if len(_rendered) >= RENDERED_KEPT:
            _rendered.pop(next(iter(_rendered)))
        _rendered[key] = (document, render.attachments(document, definition.formats))
    return _rendered[key]


def deliver(message: OutboxMessage) -> None:
    """The outbox handler: render and e-mail one delivery (in the workspace's scope, see core.outbox)."""
    # Locked (PostgreSQL) for the handler's transaction: a worker that re-claims the message after the
    # outbox's lease waits here, then finds it sent.
    delivery = (
        ReportDelivery.objects.select_related("run", "run__definition", "partner")
        .select_for_update(of=("self",))
        .filter(pk=message.payload.get("delivery_id"))
        .first()
    )
    if delivery is None or delivery.status in (ReportDelivery.Status.SENT, ReportDelivery.Status.SKIPPED):
        return  # deleted with its definition, or already sent: never twice
    definition = delivery.run.definition
    delivery.attempts += 1
    try:
        document, files = _render(delivery, definition)
        email = _message(delivery, definition, document, files)
        email.send()
    except Exception as exc:  # logged on the delivery; tried again after a backoff
        _failed(delivery, exc)
        return
    delivery.status = ReportDelivery.Status.SENT
    delivery.error = ""
    delivery.subject = str(email.subject)[:300]
    delivery.sizes = {}
    for f in files:
        delivery.sizes[f.format] = delivery.sizes.get(f.format, 0) + len(f.content)
    delivery.sent_at = timezone.now()
    delivery.save()


def _failed(delivery: ReportDelivery, exc: Exception) -> None:
    delivery.status = ReportDelivery.Status.FAILED
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    delivery.save(update_fields=["status", "error", "attempts", "updated_at"])
    if delivery.attempts < MAX_ATTEMPTS:
        again = outbox_put(
            workspace_id=delivery.workspace_id, topic=TOPIC, payload={"delivery_id": delivery.pk}
        )
        retry_at = timezone.now() + datetime.timedelta(seconds=backoff_seconds(delivery.attempts))
        OutboxMessage.objects.filter(pk=again.pk).update(available_at=retry_at)
