"""The cohort comparison page, its chart data requests and its exports."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from openprm.core.http import actor_of, staff_view
from openprm.dashboards import selectors
from openprm.dashboards.views.common import chart_data, export_links, filters_of, page_context, table_export


@staff_view
def cohorts(request: HttpRequest) -> HttpResponse:
    """Partners grouped by tier, type, region or start quarter, their figures side by side."""
    actor, f = actor_of(request), filters_of(request)
    base = reverse("dashboards:cohorts")
    context = page_context(request, "cohorts", base, f)
    panels = selectors.cohort_panels(actor, f)
    table = panels[0].table
    context["tables"] = [{"table": table, "exports": export_links(base, "cohorts", context["query"])}]
    return render(request, "dashboards/cohorts.html", context)


@staff_view
def cohorts_data(request: HttpRequest, key: str) -> HttpResponse:
    return chart_data(request, "cohorts", key)


@staff_view
def cohorts_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    return table_export(request, "cohorts", key, fmt)
