"""Pages: partner CSV upload → preview → confirm → result, and the filtered CSV export."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.integrations import services
from openprm.integrations.formats import PARTNER_COLUMNS, CsvHeaderError, csv_lines
from openprm.integrations.forms import ImportConfirmForm, ImportUploadForm
from openprm.integrations.pending import (
    PendingImport,
    PendingImportMissing,
    pending_import_discard,
    pending_import_finish,
    pending_import_get,
    pending_import_save,
)
from openprm.integrations.selectors import partner_export
from openprm.partners.selectors import PartnerFilters


def _pending_or_404(actor: Actor, token: uuid.UUID) -> PendingImport:
    try:
        return pending_import_get(actor=actor, token=token)
    except PendingImportMissing:
        raise Http404 from None


@staff_view
def partners_import(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = pending_import_save(actor=actor, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("integrations:partners_import_preview", token=pending.token)
    return render(
        request, "integrations/partners_import.html", {"form": form, "columns": ",".join(PARTNER_COLUMNS)}
    )


@staff_view
def partners_import_preview(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = _pending_or_404(actor, token)
    if pending.result is not None:
        return redirect("integrations:partners_import_result", token=pending.token)
    form = ImportConfirmForm(request.POST if request.method == "POST" else None)  # unticked box: empty POST
    context = {"pending": pending, "form": form}
    confirming = request.method == "POST" and form.is_valid()
    try:
        with pending.open() as stream:
            result = services.partners_import(
                actor=actor,
                stream=stream,
                skip_invalid=confirming and form.cleaned_data["skip_invalid"],
                dry_run=not confirming,
            )
    except CsvHeaderError as exc:
        pending_import_discard(pending=pending)
        context = {
            "form": ImportUploadForm(),
            "columns": ",".join(PARTNER_COLUMNS),
            "file_error": f"{pending.filename}: {exc}",
        }
        return render(request, "integrations/partners_import.html", context, status=400)
    if confirming and not result.refused:
        pending_import_finish(pending=pending, result=result)
        messages.success(request, f"Import finished: {result.summary()}.")
        return redirect("integrations:partners_import_result", token=pending.token)
    if result.refused:  # the preview showed bad rows and the user did not choose to skip them
        messages.error(request, "Nothing was imported: the file has bad rows. Fix them, or skip them.")
        return redirect("integrations:partners_import_preview", token=pending.token)
    context["result"] = result
    return render(request, "integrations/partners_import_preview.html", context)


@staff_view
def partners_import_result(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = _pending_or_404(actor, token)
    if pending.result is None:
        return redirect("integrations:partners_import_preview", token=pending.token)
    return render(request, "integrations/partners_import_result.html", {"pending": pending, **pending.result})


@staff_view
def partners_export(request: HttpRequest) -> StreamingHttpResponse:
    """The partner list, filtered by the same query string as the list page, as canonical CSV."""
    actor = actor_of(request)
    rows = partner_export(actor=actor, filters=PartnerFilters.from_mapping(request.GET))
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    filename = f"partners-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
