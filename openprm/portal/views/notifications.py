"""Notifications. The user's own in-app notifications (created by services, e.g. a deal decision). Read
here directly: they belong to the user, not to a partner-scoped model."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from openprm.accounts.models import Notification
from openprm.core.http import actor_of, paginate, partner_view


def _notifications(request: HttpRequest) -> Any:
    actor = actor_of(request)
    return Notification.objects.filter(workspace_id=actor.workspace_id, user_id=actor.user_id or 0)


@partner_view
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; showing them marks the shown ones read."""
    page = paginate(request, _notifications(request), per_page=25)
    items = list(page.object_list)
    unread = [n.pk for n in items if n.read_at is None]
    if unread:
        _notifications(request).filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "portal/notifications.html", {"page": page, "items": items, "unread": set(unread)})


@partner_view
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    """The unread count shown next to "Notifications" in the menu (loaded by HTMX)."""
    count = _notifications(request).filter(read_at__isnull=True).count()
    return render(request, "portal/_notification_count.html", {"count": count})
