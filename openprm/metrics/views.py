"""Staff panels loaded by HTMX: the "Engagement" panel of the partner page and the "Active partners"
panel of the program page. Labels and value formats come from the catalog (``metrics.catalog``), so a
figure reads as its definition says wherever it is shown."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from openprm.activity.selectors import timeline as timeline_selectors
from openprm.core.http import actor_of, member_view, paginate, staff_view
from openprm.metrics import closing, formulas, selectors, services
from openprm.metrics import glossary as metric_glossary
from openprm.metrics.catalog import METRICS, Family, metric
from openprm.metrics.display import percent, show
from openprm.metrics.models import PeriodClose
from openprm.metrics.parameters import PARAMETERS, parameter_overview
from openprm.metrics.periods import Period
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

PERIODS = (30, 90, 180, 365)
DEFAULT_PERIOD = 90
ACTIVE_WINDOWS = (7, 30, 60, 90, 180, 365)  # offered next to the program's own active window

Figure = tuple[str, str, str]  # (metric key, value, hint): the panel labels it with {% metric_label %}


def _today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def _days(request: HttpRequest, *, offered: tuple[int, ...] | list[int], default: int) -> int:
    """``?days=`` when it is one of the offered periods, else the default."""
    try:
        days = int(request.GET.get("days", default))
    except ValueError:
        return default
    return days if days in offered else default


def _value(e: formulas.Engagement, key: str, *, empty: str = "—") -> str:
    return show(metric(key), getattr(e, key), empty=empty)


def _figure(
    e: formulas.Engagement, key: str, hint: str = "", *, suffix: str = "", empty: str = "—"
) -> Figure:
    """A catalogued metric as the panel shows it: its key (labelled by the template), its value (by unit)
    and a hint."""
    return key, _value(e, key, empty=empty) + suffix, hint


def engagement_figures(e: formulas.Engagement) -> list[Figure]:
    """The panel's figures: always the communication, portal, enablement and support ones; campaign,
    content and conversion figures only for partners who have any."""
    figures = [
        _figure(e, "last_contact", "either direction", empty="never"),
        _figure(e, "contact_frequency", f"{e.contacts} in the period"),
        _figure(e, "reply_partner_seconds", "median"),
        _figure(e, "reply_vendor_seconds", "median"),
        _figure(e, "logins", f"{e.downloads} downloads"),
        _figure(e, "training_completion_rate", f"{e.trainings_completed} of {e.trainings_started} started"),
        _figure(e, "active_certifications"),
        _figure(
            e,
            "tickets_opened",
            f"{e.tickets_resolved} resolved, median {_value(e, 'ticket_resolution_seconds')}",
            suffix=" opened",
        ),
        _figure(e, "meetings"),
    ]
    if e.deliverables_due or e.deliverables_on_time or e.deliverables_late:
        figures.append(
            _figure(e, "campaign_completion_rate", f"on time {_value(e, 'on_time_delivery_rate')}")
        )
    if e.impressions or e.followers_end is not None:
        growth = "—" if e.audience_growth is None else f"{e.audience_growth:+,.0f}"
        figures.append(_figure(e, "engagement_rate", f"reach {_value(e, 'reach')}, audience {growth}"))
    if e.clicks:
        figures.append(_figure(e, "conversion_rate", f"{e.conversions} of {e.clicks} clicks"))
    return figures


@staff_view
def engagement_panel(request: HttpRequest, public_id: str) -> HttpResponse:
    """The "Engagement" panel of the staff partner page: key figures and the weekly activity trend."""
    actor = actor_of(request)
    try:
        partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None
    days = _days(request, offered=PERIODS, default=DEFAULT_PERIOD)
    found = selectors.partner_engagement(
        actor=actor, partner=partner, period=formulas.Period.last(days, end=_today())
    )
    context: dict[str, Any] = {
        "partner": partner,
        "days": days,
        "periods": PERIODS,
        "figures": engagement_figures(found.metrics),
        "weekly": found.weekly,
        "weekly_total": sum(found.weekly),
        "points": formulas.sparkline(found.weekly),
        "recent": timeline_selectors.interaction_list(actor=actor, partner=partner)[:5],
        "labels": timeline_selectors.BUILTIN_LABELS,  # logged interactions are built-in types
    }
    return render(request, "metrics/_engagement_panel.html", context)


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
    days = _days(request, offered=windows, default=program.active_window_days)
    found = selectors.active_partner_share(actor=actor, program=program, as_of=_today(), window_days=days)
    return render(
        request,
        "metrics/_active_partners_panel.html",
        {"program": program, "found": found, "share": percent(found.share), "windows": windows},
    )


urlpatterns = [
    path("partners/<uuid:public_id>/engagement/", engagement_panel, name="engagement_panel"),
    path("programs/<uuid:public_id>/active-partners/", program_active_panel, name="program_active_panel"),
]


@member_view
def glossary(request: HttpRequest) -> HttpResponse:
    """Every metric of the catalog, for staff and partner users: searchable here (``?q=``, ``?family=``)
    and in the browser as one types (``metrics/glossary.js``); each entry's anchor is its key."""
    q = request.GET.get("q", "")[:100].replace("\x00", "")
    family = request.GET.get("family", "")
    family = family if family in {f.value for f in Family} else ""
    found = metric_glossary.search(q=q, family=family)
    return render(
        request,
        "metrics/glossary.html",
        {"entries": found, "q": q, "family": family, "families": list(Family), "total": len(METRICS)},
    )


urlpatterns += [path("glossary/", glossary, name="glossary")]


# --------------------------------------------------------------------------------------------- settings


@staff_view
def parameters_page(request: HttpRequest) -> HttpResponse:
    """Staff: the metric parameters, the value in effect today and every version; admins add a version
    from a month on (refused inside a closed period)."""
    actor = actor_of(request)
    if request.method == "POST":
        key = request.POST.get("key", "")
        raw = request.POST.get("value", "").replace("\x00", "")
        value: Any = raw
        if PARAMETERS.get(key) is not None and PARAMETERS[key].kind == "types":
            value = raw.split(",")
        try:
            start = datetime.date.fromisoformat(request.POST.get("effective_from", "") + "-01")
            services.parameter_add(
                actor=actor, key=key, value=value, effective_from=start, note=request.POST.get("note", "")
            )
        except ValueError:
            messages.error(request, "Give the month the version applies from (YYYY-MM).")
        except PermissionDenied as error:
            messages.error(request, str(error))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{PARAMETERS[key].label}: new version from {start:%Y-%m}.")
            return redirect("metrics:parameters")
    rows = parameter_overview(actor.workspace_id, _today())
    return render(request, "metrics/parameters.html", {"parameters": rows, "this_month": f"{_today():%Y-%m}"})


@staff_view
def periods_page(request: HttpRequest) -> HttpResponse:
    """Staff: the closed and reopened periods; admins close a month and reopen a period (with a reason)."""
    actor = actor_of(request)
    if request.method == "POST":
        period = request.POST.get("period", "").replace("\x00", "").strip()
        try:
            if request.POST.get("action") == "reopen":
                done = closing.period_reopen(
                    actor=actor, period=period, reason=request.POST.get("reason", "")
                )
                messages.success(request, f"Reopened {', '.join(r.period for r in done)}.")
            else:
                done = closing.period_close(actor=actor, period=period)
                if done:
                    messages.success(request, f"Closed {', '.join(r.period for r in done)}.")
                else:
                    messages.info(request, f"{period} was already closed: nothing changed.")
        except (closing.PeriodError, PermissionDenied) as error:
            messages.error(request, str(error))
        else:
            return redirect("metrics:periods")
    rows = PeriodClose.objects.filter(workspace_id=actor.workspace_id).select_related(
        "closed_by", "reopened_by"
    )
    last_month = Period.month_of(_today().replace(day=1) - datetime.timedelta(days=1))
    return render(
        request,
        "metrics/periods.html",
        {"periods": paginate(request, rows.order_by("-start", "end")), "last_month": last_month.key},
    )


urlpatterns += [
    path("parameters/", parameters_page, name="parameters"),
    path("periods/", periods_page, name="periods"),
]
