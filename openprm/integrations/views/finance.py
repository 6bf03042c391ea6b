"""Finance imports (upload, preview, result) for costs, invoices, sell-through and company revenue: the
partners import's three steps, with the kind in the URL. Admins and finance staff only (others: 403)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.finance.filters import FinanceFilters
from openprm.finance.services import require_writer
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.formats.finance import COLUMNS, REQUIRED
from openprm.integrations.forms import ImportConfirmForm, ImportUploadForm
from openprm.integrations.selectors.finance import finance_export
from openprm.integrations.services.finance import finance_import
from openprm.integrations.services.pending import pending_import_discard, pending_import_save
from openprm.integrations.views.common import after_import, pending_or_404

TITLES = {
    "costs": "partnership costs",
    "invoices": "invoices",
    "sellthrough": "sell-through reports",
    "company-revenue": "company revenue",
}
LISTS = {  # where the result page leads: the finance list of the kind
    "costs": "finance:costs",
    "invoices": "finance:invoices",
    "sellthrough": "finance:sellthrough",
    "company-revenue": "finance:company_revenue",
}


def _kind(kind: str) -> str:
    if kind not in COLUMNS:
        raise Http404
    return kind


def _upload_context(kind: str, form: ImportUploadForm, file_error: str = "") -> dict[str, object]:
    return {
        "form": form,
        "kind": kind,
        "title": TITLES[kind],
        "kinds": TITLES,
        "columns": ",".join(COLUMNS[kind]),
        "required": REQUIRED[kind],
        "file_error": file_error,
    }


@staff_view
def finance_import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    actor = actor_of(request)
    require_writer(actor)
    kind = _kind(kind)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = pending_import_save(actor=actor, upload=form.cleaned_data["file"], kind=kind)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(f"integrations:{kind}_import_preview", token=pending.token)
    return render(request, "integrations/finance_import.html", _upload_context(kind, form))


@staff_view
def finance_import_preview(request: HttpRequest, kind: str, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    require_writer(actor)
    kind = _kind(kind)
    pending = pending_or_404(actor, token, kind)
    if pending.result is not None:
        return redirect(f"integrations:{kind}_import_result", token=pending.token)
    form = ImportConfirmForm(request.POST if request.method == "POST" else None)
    confirming = request.method == "POST" and form.is_valid()
    try:
        with pending.open() as stream:
            result = finance_import(
                kind,
                actor=actor,
                stream=stream,
                skip_invalid=confirming and form.cleaned_data["skip_invalid"],
                dry_run=not confirming,
            )
    except CsvHeaderError as exc:
        pending_import_discard(pending=pending)
        context = _upload_context(kind, ImportUploadForm(), f"{pending.filename}: {exc}")
        return render(request, "integrations/finance_import.html", context, status=400)
    again = reverse(f"integrations:{kind}_import_preview", kwargs={"token": pending.token})
    answer = after_import(request, pending, result, confirming=confirming, again=again)
    if answer is not None:
        return answer
    context = {
        "pending": pending,
        "form": form,
        "result": result,
        "kind": kind,
        "title": TITLES[kind],
        "columns": COLUMNS[kind],
    }
    return render(request, "integrations/finance_import_preview.html", context)


@staff_view
def finance_import_result(request: HttpRequest, kind: str, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    require_writer(actor)
    kind = _kind(kind)
    pending = pending_or_404(actor, token, kind)
    if pending.result is None:
        return redirect(f"integrations:{kind}_import_preview", token=pending.token)
    context = {"pending": pending, "kind": kind, "title": TITLES[kind], "list_url": LISTS[kind]}
    return render(request, "integrations/finance_import_result.html", {**context, **pending.result})


@staff_view
def finance_export_csv(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    """The kind's list, filtered by the same query string as its page, as its canonical CSV (every staff
    role: what the list shows)."""
    kind = _kind(kind)
    rows = finance_export(
        actor=actor_of(request), kind=kind, filters=FinanceFilters.from_mapping(request.GET)
    )
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{timezone.localdate().isoformat()}.csv"'
    return response
