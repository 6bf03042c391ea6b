"""Staff pages of engagement: the engagement panel of the partner page (loaded by HTMX), the partner's
timeline (events, deals, logged interactions) and logging an interaction on it, and the active-partner
panel of the program page (loaded by HTMX)."""

from __future__ import annotations

import dataclasses
import datetime
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
from openprm.activity import metrics
from openprm.activity.forms import InteractionForm
from openprm.activity.models import Event
from openprm.activity.selectors import engagement as engagement_selectors
from openprm.activity.selectors import timeline as timeline_selectors
from openprm.activity.services import interactions as services
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

PERIODS = (30, 90, 180, 365)
DEFAULT_PERIOD = 90
ACTIVE_WINDOWS = (7, 30, 60, 90, 180, 365)  # offered next to the program's own active window


def _partner_or_404(request: HttpRequest, public_id: Any) -> Partner:
    try:
        return partner_selectors.partner_get(actor=actor_of(request), public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None


def duration(seconds: float | None) -> str:
    """A readable duration: "45 min", "3.5 h", "2.1 days"; "—" when there is none."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _percent(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@staff_view
def engagement_panel(request: HttpRequest, public_id: str) -> HttpResponse:
    """The "Engagement" panel of the staff partner page: key figures and the weekly activity trend."""
    actor = actor_of(request)
    partner = _partner_or_404(request, public_id)
    try:
        days = int(request.GET.get("days", DEFAULT_PERIOD))
    except ValueError:
        days = DEFAULT_PERIOD
    days = days if days in PERIODS else DEFAULT_PERIOD
    today = timezone.now().astimezone(datetime.UTC).date()
    found = engagement_selectors.partner_engagement(
        actor=actor, partner=partner, period=metrics.Period.last(days, end=today)
    )
    e = found.metrics
    figures = [
        ("Last contact", e.last_contact.isoformat() if e.last_contact else "never", "either direction"),
        ("Contacts / 30 days", str(e.contact_frequency), f"{e.contacts} in the period"),
        ("Partner replies in", duration(e.reply_partner_seconds), "median"),
        ("We reply in", duration(e.reply_vendor_seconds), "median"),
        ("Portal logins", str(e.logins), f"{e.downloads} downloads"),
        (
            "Training completion",
            _percent(e.training_completion_rate),
            f"{e.trainings_completed} of {e.trainings_started} started",
        ),
        ("Active certifications", str(e.active_certifications), ""),
        (
            "Support tickets",
            f"{e.tickets_opened} opened",
            f"{e.tickets_resolved} resolved, median {duration(e.ticket_resolution_seconds)}",
        ),
        ("Meetings", str(e.meetings), ""),
    ]
    if e.deliverables_due or e.deliverables_on_time or e.deliverables_late:
        figures.append(
            (
                "Campaign completion",
                _percent(e.campaign_completion_rate),
                f"on time {_percent(e.on_time_delivery_rate)}",
            )
        )
    if e.impressions or e.followers_end is not None:
        growth = "—" if e.audience_growth is None else f"{e.audience_growth:+,.0f}"
        figures.append(
            ("Engagement rate", _percent(e.engagement_rate), f"reach {e.reach:,.0f}, audience {growth}")
        )
    if e.clicks:
        figures.append(
            ("Conversion rate", _percent(e.conversion_rate), f"{e.conversions} of {e.clicks} clicks")
        )
    return render(
        request,
        "activity/engagement/_panel.html",
        {
            "partner": partner,
            "days": days,
            "periods": PERIODS,
            "figures": figures,
            "weekly": found.weekly,
            "weekly_total": sum(found.weekly),
            "points": metrics.sparkline(found.weekly),
            "recent": timeline_selectors.interaction_list(actor=actor, partner=partner)[:5],
            "labels": timeline_selectors.BUILTIN_LABELS,  # logged interactions are built-in types
        },
    )


@staff_view
def program_active_panel(request: HttpRequest, public_id: str) -> HttpResponse:
    """The "Active partners" panel of the staff program page: the share of the program's partners with a
    qualifying event in the last N days (``?days=``; default: the program's active window), from the
    rollups."""
    actor = actor_of(request)
    try:
        program = partner_selectors.program_get(actor=actor, public_id=public_id)
    except Program.DoesNotExist:
        raise Http404 from None
    windows = sorted({*ACTIVE_WINDOWS, program.active_window_days} - {0})
    try:
        days = int(request.GET.get("days", program.active_window_days))
    except ValueError:
        days = program.active_window_days
    if days not in windows:
        days = program.active_window_days
    found = engagement_selectors.active_partner_share(
        actor=actor, program=program, as_of=timezone.now().astimezone(datetime.UTC).date(), window_days=days
    )
    return render(
        request,
        "activity/engagement/_program_active.html",
        {"program": program, "found": found, "share": _percent(found.share), "windows": windows},
    )


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
        "activity/engagement/timeline.html",
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
    path("partners/<uuid:public_id>/engagement/", engagement_panel, name="engagement_panel"),
    path("partners/<uuid:public_id>/timeline/", timeline, name="timeline"),
    path("partners/<uuid:public_id>/interactions/new/", interaction_create, name="interaction_create"),
    path("interactions/<uuid:public_id>/delete/", interaction_delete, name="interaction_delete"),
    path("programs/<uuid:public_id>/active-partners/", program_active_panel, name="program_active_panel"),
]
