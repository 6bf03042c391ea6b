"""Notification pages: the staff list (the portal has its own for partner users) with mark read / mark all
read and the header's unread count; every user's preferences; for admins the webhook endpoints and the
delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, member_view, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.notifications import channels, selectors, services
from openprm.notifications.forms import EndpointForm, PreferenceForm
from openprm.notifications.models import Channel, Delivery, WebhookEndpoint


def _local(request: HttpRequest, target: str) -> bool:
    """A URL on this site (never ``//evil.example``, ``/\\evil.example`` or another host)."""
    return url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and _local(request, target):
        return redirect(target)
    return redirect(fallback)


def _list_url(request: HttpRequest) -> str:
    return reverse("notifications:list" if actor_of(request).is_staff else "portal:notifications")


@staff_view
def notification_list(request: HttpRequest) -> HttpResponse:
    """Staff: their own notifications, newest first (``?unread=1``: only the unread ones)."""
    actor = actor_of(request)
    unread_only = request.GET.get("unread") == "1"
    page = paginate(request, selectors.notification_list(actor=actor, unread_only=unread_only), per_page=25)
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(actor=actor),
        "can_admin": actor.can(Perm.WORKSPACE_ADMIN),
    }
    return render(request, "notifications/list.html", context)


@member_view
@require_POST
def notification_read(request: HttpRequest, public_id: str) -> HttpResponse:
    """Mark one of one's own notifications read; ``open=1`` then follows its link."""
    try:
        notification = services.notification_read(actor=actor_of(request), public_id=public_id)
    except (ObjectDoesNotExist, ValidationError):
        raise Http404 from None
    link = notification.link
    if request.POST.get("open") == "1" and link.startswith("/") and _local(request, link):
        return redirect(link)
    return _back(request, _list_url(request))


@member_view
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notification_read_all(actor=actor_of(request))
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return _back(request, _list_url(request))


@staff_view
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    """The unread count next to "Notifications" in the staff header (loaded by HTMX)."""
    count = selectors.unread_count(actor=actor_of(request))
    return render(request, "notifications/_count.html", {"count": count})


@member_view
def preferences(request: HttpRequest) -> HttpResponse:
    """Every user (staff and partner users): which severities reach them by e-mail, e-mail on/off,
    immediately or in a daily digest."""
    actor = actor_of(request)
    current = selectors.preference_get(actor=actor)
    initial = {"severities": current.severities, "email": current.email, "mode": current.mode}
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_update(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form, "list_url": _list_url(request)})


# --- admins -----------------------------------------------------------------------------------------------


@staff_view
def endpoints(request: HttpRequest) -> HttpResponse:
    """Admins: the webhook endpoints, and a form to add one (its secret is shown once)."""
    actor = actor_of(request)
    found = selectors.endpoint_list(actor=actor)
    form = EndpointForm(request.POST or None, initial={"enabled": True, "kind": "generic"})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(actor=actor, values=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            request.session["notifications_secret"] = [str(endpoint.public_id), secret]
            messages.success(request, f"Endpoint “{endpoint.name}” added.")
            return redirect("notifications:endpoints")
    shown = request.session.pop("notifications_secret", None)
    return render(
        request,
        "notifications/endpoints.html",
        {"form": form, "endpoints": list(found), "secret": shown},
    )


def _endpoint(request: HttpRequest, public_id: str) -> WebhookEndpoint:
    try:
        return selectors.endpoint_get(actor=actor_of(request), public_id=public_id)
    except (ObjectDoesNotExist, ValidationError):
        raise Http404 from None


@staff_view
def endpoint_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    endpoint = _endpoint(request, public_id)
    form = EndpointForm(request.POST or None, initial=EndpointForm.initial_of(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(actor=actor, endpoint=endpoint, values=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Endpoint “{endpoint.name}” saved.")
            return redirect("notifications:endpoints")
    return render(request, "notifications/endpoint_edit.html", {"form": form, "endpoint": endpoint})


@staff_view
@require_POST
def endpoint_rotate(request: HttpRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint(request, public_id)
    secret = services.endpoint_rotate_secret(actor=actor_of(request), endpoint=endpoint)
    request.session["notifications_secret"] = [str(endpoint.public_id), secret]
    messages.success(request, f"New secret for “{endpoint.name}”: the old one no longer signs.")
    return redirect("notifications:endpoints")


@staff_view
@require_POST
def endpoint_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint(request, public_id)
    services.endpoint_delete(actor=actor_of(request), endpoint=endpoint)
    messages.success(request, f"Endpoint “{endpoint.name}” deleted.")
    return redirect("notifications:endpoints")


@staff_view
def deliveries(request: HttpRequest) -> HttpResponse:
    """Admins: the delivery log — each e-mail and webhook message with every attempt, newest first."""
    actor = actor_of(request)
    channel = request.GET.get("channel", "")
    status = request.GET.get("status", "")
    channel = channel if channel in Channel.values else ""
    status = status if status in Delivery.Status.values else ""
    page = paginate(request, selectors.delivery_list(actor=actor, channel=channel, status=status))
    rows = [(d, channels.summary(d.items, digest=d.digest) if d.items else "") for d in page.object_list]
    return render(
        request,
        "notifications/deliveries.html",
        {
            "page": page,
            "rows": rows,
            "filters": {"channel": channel, "status": status},
            "channels": Channel.choices,
            "statuses": Delivery.Status.choices,
        },
    )
