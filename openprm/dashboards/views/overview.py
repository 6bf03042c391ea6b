"""The program overview page, its chart data requests and its exports."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from openprm.core.http import actor_of, staff_view
from openprm.dashboards import selectors
from openprm.dashboards.views.common import (
    chart_data,
    filters_of,
    page_context,
    page_tables,
    table_export,
)


@staff_view
def overview(request: HttpRequest) -> HttpResponse:
    """The program overview: revenue, pipeline, win rate, active share, engagement, leaders, mix, targets
    and agreements expiring, for the filtered partners and period."""
    actor, f = actor_of(request), filters_of(request)
    base = reverse("dashboards:overview")
    context = page_context(request, "overview", base, f)
    context["tables"] = page_tables(
        lambda key: selectors.OVERVIEW[key](actor, f),
        ("bottom_partners", "targets", "agreements"),
        base,
        context["query"],
    )
    context["unconverted"] = selectors.unconverted_note(actor, f)
    return render(request, "dashboards/overview.html", context)


@staff_view
def overview_data(request: HttpRequest, key: str) -> HttpResponse:
    return chart_data(request, "overview", key)


@staff_view
def overview_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    return table_export(request, "overview", key, fmt)
