"""Notifications. The partner user's own in-app notifications (``notifications.notify`` creates them, e.g.
for a deal decision): only their own, never another user's or another partner's."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from openprm.core.http import actor_of, paginate, partner_view
from openprm.notifications.selectors import notification_list, unread_count


@partner_view
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; showing them marks the shown ones read."""
    actor = actor_of(request)
    page = paginate(request, notification_list(actor=actor), per_page=25)
    items = list(page.object_list)
    unread = [n.pk for n in items if n.read_at is None]
    if unread:
        notification_list(actor=actor).filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "portal/notifications.html", {"page": page, "items": items, "unread": set(unread)})


@partner_view
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    """The unread count shown next to "Notifications" in the menu (loaded by HTMX)."""
    return render(
        request, "portal/_notification_count.html", {"count": unread_count(actor=actor_of(request))}
    )
