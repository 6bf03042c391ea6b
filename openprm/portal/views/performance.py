"""Performance. The partner's scorecard, targets and pace, tier progress, trends and rank band
(portal.selectors), with the staff partner dashboard's monthly charts (dashboards.selectors.PARTNER
panels, drawn by dashboards.js from their JSON data requests). Only the period is read from the URL:
there is no partner id or filter to change, so a partner user reaches nothing but their own
partner's figures."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from openprm.core.http import actor_of, partner_view
from openprm.dashboards import selectors as dashboard_selectors
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.filters import presets as dashboard_presets
from openprm.dashboards.filters import today as dashboard_today
from openprm.dashboards.selectors import Panel
from openprm.dashboards.tables import FORMATS as TABLE_FORMATS
from openprm.dashboards.tables import to_csv, to_xlsx
from openprm.metrics.figures import reporting_currency
from openprm.metrics.periods import Period
from openprm.portal import selectors as portal_selectors
from openprm.portal.views.common import _own_partner

PERFORMANCE_CHARTS = (("revenue", "wide"), ("win_rate", ""), ("engagement", ""))


def _performance_filters(request: HttpRequest) -> DashboardFilters:
    """The period asked for (this quarter by default) as the dashboards' filters, nothing else."""
    default = Period.quarter_of(dashboard_today()).key
    return DashboardFilters.from_mapping({"period": request.GET.get("period", "").strip() or default})


def _performance_panel(request: HttpRequest, key: str) -> tuple[Panel, DashboardFilters]:
    if key not in dict(PERFORMANCE_CHARTS):
        raise Http404
    f = _performance_filters(request)
    return dashboard_selectors.PARTNER[key](actor_of(request), f, _own_partner(request)), f


def _invalid_period(f: DashboardFilters) -> JsonResponse:
    field, message = next(iter(f.errors.items()))
    return JsonResponse({"code": "invalid_period", "message": message, "field": field}, status=422)


@partner_view
def performance(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    partner = _own_partner(request)
    f = _performance_filters(request)
    if f.errors:
        messages.error(
            request, f"That period cannot be read ({next(iter(f.errors.values()))}): showing this quarter."
        )
        f = DashboardFilters.from_mapping({"period": Period.quarter_of(dashboard_today()).key})
    period = f.period_value
    query = urlencode({"period": period.key})
    charts = [
        {
            "key": key,
            "size": size,
            "url": f"{reverse('portal:performance_data', args=[key])}?{query}",
            "exports": [
                (fmt.upper(), f"{reverse('portal:performance_export', args=[key, fmt])}?{query}")
                for fmt in TABLE_FORMATS
            ],
        }
        for key, size in PERFORMANCE_CHARTS
    ]
    offered = dashboard_presets(dashboard_today())
    return render(
        request,
        "portal/performance.html",
        {
            "perf": portal_selectors.performance(actor=actor, partner=partner, period=period),
            "period": period,
            "presets": offered,
            "other_period": None if period.key in dict(offered) else period,
            "charts": charts,
            "unconverted": dashboard_selectors.unconverted_note(actor, f, partner),
            "currency": reporting_currency(actor.workspace_id),
        },
    )


@partner_view
@require_GET
def performance_data(request: HttpRequest, key: str) -> HttpResponse:
    """A chart's ECharts option (the dashboards' JSON) for the partner's own figures."""
    f = _performance_filters(request)
    if f.errors:
        return _invalid_period(f)
    panel, _ = _performance_panel(request, key)
    if panel.chart is None:
        raise Http404
    return JsonResponse(panel.chart.as_json())


@partner_view
@require_GET
def performance_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """A chart's figures as CSV or XLSX (the dashboards' table writers)."""
    if fmt not in TABLE_FORMATS:
        raise Http404
    f = _performance_filters(request)
    if f.errors:
        return _invalid_period(f)
    panel, f = _performance_panel(request, key)
    if panel.table is None:
        raise Http404
    period = f.period_value
    described = [("Period", f"{period.label} ({period.start} to {period.end})")]
    body = to_csv(panel.table, described) if fmt == "csv" else to_xlsx(panel.table, described)
    response = HttpResponse(body, content_type=TABLE_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="performance-{key}-{period.key}.{fmt}"'
    return response
