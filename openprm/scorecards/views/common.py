"""What the scorecards pages share: the period asked for, the partner filters, file answers."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from openprm.metrics.periods import Period, parse_period
from openprm.partners.filters import PartnerFilters
from openprm.scorecards.exports import to_csv, to_xlsx

FILTER_KEYS = ("q", "type", "program", "tier", "region", "owner", "tag")


def this_month() -> Period:
    return Period.month_of(timezone.now().astimezone(datetime.UTC).date())


def period_from(request: HttpRequest) -> Period:
    """The ``period`` of the query string (default: this month; an unreadable one says so and falls back)."""
    text = request.GET.get("period", "").strip()
    if not text:
        return this_month()
    try:
        return parse_period(text)
    except ValueError as error:
        messages.error(request, str(error))
        return this_month()


def partner_filters(request: HttpRequest) -> PartnerFilters:
    return PartnerFilters.from_mapping({k: request.GET.get(k, "") for k in FILTER_KEYS})


def file_response(fmt: str, header: list[str], rows: list[list[Any]], name: str) -> HttpResponse:
    """The table as a CSV or XLSX download."""
    if fmt == "xlsx":
        response = HttpResponse(
            to_xlsx(header, rows, name),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    response = HttpResponse(to_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
