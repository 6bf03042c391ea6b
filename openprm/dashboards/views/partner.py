"""A partner's dashboard page, its chart data requests and its exports (404 for a partner the actor
does not see)."""

from __future__ import annotations

from typing import Any

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
    partner_or_404,
    table_export,
)


@staff_view
def partner(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One partner's dashboard: key figures against the previous period, trends, pipeline, engagement,
    targets and the latest deals."""
    actor, f = actor_of(request), filters_of(request)
    found = partner_or_404(actor, public_id)
    base = reverse("dashboards:partner", args=[found.public_id])
    context = page_context(request, "partner", base, f)
    context["partner"] = found
    context["tables"] = page_tables(
        lambda key: selectors.PARTNER[key](actor, f, found),
        ("figures", "targets", "deals"),
        base,
        context["query"],
    )
    context["unconverted"] = selectors.unconverted_note(actor, f, found)
    return render(request, "dashboards/partner.html", context)


@staff_view
def partner_data(request: HttpRequest, public_id: Any, key: str) -> HttpResponse:
    return chart_data(request, "partner", key, public_id)


@staff_view
def partner_export(request: HttpRequest, public_id: Any, key: str, fmt: str) -> HttpResponse:
    return table_export(request, "partner", key, fmt, public_id)
