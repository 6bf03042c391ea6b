"""Staff page of the workspace's event types: the built-in catalog and its custom types, which admins add.

Parse → call one service/selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path

from openprm.accounts.forms import add_service_errors
from openprm.activity.forms import EventTypeForm
from openprm.activity.selectors.events import event_type_list
from openprm.activity.services.events import event_type_create
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm

PER_PAGE = 100


@staff_view
def event_types(request: HttpRequest) -> HttpResponse:
    """Every staff member reads the list; admins add custom types (others get 403 on POST)."""
    actor = actor_of(request)
    if request.method == "POST":
        actor.require(Perm.WORKSPACE_ADMIN)
    can_add = actor.can(Perm.WORKSPACE_ADMIN)
    form = EventTypeForm(request.POST or None) if can_add else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            created = event_type_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the event type “{created.label}” ({created.key}).")
            return redirect("activity:event_types")
    page = Paginator(event_type_list(actor=actor), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "activity/event_types.html", {"page": page, "form": form})


urlpatterns: list[URLPattern] = [
    path("event-types/", event_types, name="event_types"),
]
