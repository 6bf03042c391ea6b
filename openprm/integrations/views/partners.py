"""Partner import (upload, preview, result) and export pages."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.formats.partners import PARTNER_COLUMNS
from openprm.integrations.forms import (
    ImportConfirmForm,
    ImportUploadForm,
)
from openprm.integrations.selectors import partner_export
from openprm.integrations.services.partners import partners_import as partners_import_run
from openprm.integrations.services.pending import (
    pending_import_discard,
    pending_import_save,
)
from openprm.integrations.views.common import after_import, pending_or_404
from openprm.partners.selectors import PartnerFilters


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
    pending = pending_or_404(actor, token)
    if pending.result is not None:
        return redirect("integrations:partners_import_result", token=pending.token)
    form = ImportConfirmForm(request.POST if request.method == "POST" else None)  # unticked box: empty POST
    context = {"pending": pending, "form": form}
    confirming = request.method == "POST" and form.is_valid()
    try:
        with pending.open() as stream:
            result = partners_import_run(
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
    again = reverse("integrations:partners_import_preview", kwargs={"token": pending.token})
    answer = after_import(request, pending, result, confirming=confirming, again=again)
    if answer is not None:
        return answer
    context["result"] = result
    return render(request, "integrations/partners_import_preview.html", context)


@staff_view
def partners_import_result(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = pending_or_404(actor, token)
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


# --- deals ---------------------------------------------------------------------------------------------
