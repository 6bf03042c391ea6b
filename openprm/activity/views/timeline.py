"""The partner's timeline page (events, deals, logged interactions, newest first) and the two forms posted
from it: logging an interaction and removing one. A rejected log renders the timeline again with the
form's errors. The engagement panel of the partner page and the active-partner panel of the program page
are the metrics app's (``metrics.views``)."""

from __future__ import annotations

import dataclasses
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from openprm.accounts.forms import add_service_errors
from openprm.activity.forms import InteractionForm
from openprm.activity.models import Event
from openprm.activity.selectors import timeline as timeline_selectors
from openprm.activity.services import interactions as services
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner


def _partner_or_404(request: HttpRequest, public_id: Any) -> Partner:
    try:
        return partner_selectors.partner_get(actor=actor_of(request), public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None


def _timeline_page(
    request: HttpRequest, partner: Partner, form: InteractionForm, *, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    filters = timeline_selectors.TimelineFilters.from_mapping(request.GET)
    if filters.type_error:  # e.g. a NUL byte: a 400 naming the filter, the page unfiltered
        messages.error(request, filters.type_error)
        filters, status = dataclasses.replace(filters, type=""), 400
    rows = timeline_selectors.timeline(actor=actor, partner=partner, filters=filters)
    page = paginate(request, rows, per_page=50)
    params = {k: v for k, v in request.GET.items() if k in ("from", "to") and v}
    if filters.type:
        params["type"] = filters.type
    labels = timeline_selectors.type_labels(workspace_id=actor.workspace_id)
    return render(
        request,
        "activity/timeline/timeline.html",
        {
            "partner": partner,
            "page": page,
            "entries": timeline_selectors.entries(page.object_list),
            "filters": filters,
            "type_choices": timeline_selectors.type_choices(labels),
            "query": urlencode(params),
            "labels": labels,
            "form": form,
        },
        status=status,
    )


@staff_view
def timeline(request: HttpRequest, public_id: str) -> HttpResponse:
    """Everything that happened with the partner, newest first, with the form to log an interaction."""
    partner = _partner_or_404(request, public_id)
    initial = {"occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    return _timeline_page(request, partner, InteractionForm(partner=partner, initial=initial))


@staff_view
@require_POST
def interaction_create(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = _partner_or_404(request, public_id)
    form = InteractionForm(request.POST, partner=partner)
    if form.is_valid():
        try:
            services.interaction_create(actor=actor, partner=partner, data=dict(form.cleaned_data))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Interaction logged.")
            return redirect("activity:timeline", public_id=partner.public_id)
    return _timeline_page(request, partner, form, status=422)


@staff_view
@require_POST
def interaction_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    try:
        event = timeline_selectors.interaction_get(actor=actor, public_id=public_id)
    except Event.DoesNotExist:
        raise Http404 from None
    services.interaction_delete(actor=actor, event=event)
    messages.success(request, "Interaction removed.")
    return redirect("activity:timeline", public_id=cast(Partner, event.partner).public_id)


urlpatterns = [
    path("partners/<uuid:public_id>/timeline/", timeline, name="timeline"),
    path("partners/<uuid:public_id>/interactions/new/", interaction_create, name="interaction_create"),
    path("interactions/<uuid:public_id>/delete/", interaction_delete, name="interaction_delete"),
]
