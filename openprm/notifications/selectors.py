"""Reads: the actor's own notifications and preferences, who to tell (staff, a partner's users), and for
admins the webhook endpoints and the delivery log."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from openprm.accounts.models import Membership, Notification
from openprm.core.actors import Actor
from openprm.core.permissions import PARTNER_ROLES, STAFF_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.notifications.models import SEVERITIES, Delivery, DeliveryAttempt, Preference, WebhookEndpoint


def notification_list(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's own notifications, newest first: never another user's (nor another partner's)."""
    own = Notification.objects.filter(workspace_id=actor.workspace_id, user_id=actor.user_id or 0)
    return own.filter(read_at__isnull=True) if unread_only else own


def unread_count(*, actor: Actor) -> int:
    return notification_list(actor=actor, unread_only=True).count()


def preference_get(*, actor: Actor) -> Preference:
    """The actor's preferences (the defaults, unsaved, when they never chose)."""
    found = Preference.objects.filter(workspace_id=actor.workspace_id, user_id=actor.user_id or 0).first()
    return found or Preference(
        workspace_id=actor.workspace_id, user_id=actor.user_id or 0, severities=list(SEVERITIES), email=True
    )


def staff_recipients(*, workspace_id: int, roles: list[str] | None = None) -> list[int]:
    """Ids of the workspace's active staff users (of ``roles``, default every staff role)."""
    with unscoped():
        return list(
            Membership.objects.filter(
                workspace_id=workspace_id, partner__isnull=True, is_active=True, role__in=roles or STAFF_ROLES
            )
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )


def partner_recipients(*, workspace_id: int, partner_id: int, roles: list[str] | None = None) -> list[int]:
    """Ids of one partner's active portal users (of ``roles``, default every partner role)."""
    with unscoped():
        return list(
            Membership.objects.filter(
                workspace_id=workspace_id,
                partner_id=partner_id,
                is_active=True,
                role__in=roles or PARTNER_ROLES,
            )
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )


def endpoint_list(*, actor: Actor) -> QuerySet[WebhookEndpoint]:
    actor.require(Perm.WORKSPACE_ADMIN)
    return WebhookEndpoint.objects.all()


def endpoint_get(*, actor: Actor, public_id: Any) -> WebhookEndpoint:
    return endpoint_list(actor=actor).get(public_id=public_id)


def delivery_list(
    *, actor: Actor, channel: str = "", status: str = "", endpoint: WebhookEndpoint | None = None
) -> QuerySet[Delivery]:
    """Admins: every e-mail and webhook delivery, newest first, each with its attempts."""
    actor.require(Perm.WORKSPACE_ADMIN)
    deliveries = Delivery.objects.select_related("endpoint").prefetch_related(
        Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
    )
    if channel:
        deliveries = deliveries.filter(channel=channel)
    if status:
        deliveries = deliveries.filter(status=status)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries
