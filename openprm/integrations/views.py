"""Pages: partner and deal CSV upload → preview → confirm → result, and the filtered partner CSV export."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.formats.deals import DEAL_COLUMNS
from openprm.integrations.formats.partners import PARTNER_COLUMNS
from openprm.integrations.forms import (
    DealImportOptionsForm,
    DealImportUploadForm,
    ImportConfirmForm,
    ImportUploadForm,
)
from openprm.integrations.selectors import partner_export
from openprm.integrations.services.deals import deals_import, partner_by_ref
from openprm.integrations.services.partners import partners_import as partners_import_run
from openprm.integrations.services.pending import (
    PendingImport,
    PendingImportMissing,
    pending_import_discard,
    pending_import_finish,
    pending_import_get,
    pending_import_save,
)
from openprm.integrations.services.runner import ImportResult
from openprm.partners.selectors import PartnerFilters

REFUSED = "Nothing was imported: the file has bad rows. Fix them, or skip them."


def _pending_or_404(actor: Actor, token: uuid.UUID, kind: str = "partners") -> PendingImport:
    try:
        return pending_import_get(actor=actor, token=token, kind=kind)
    except PendingImportMissing:
        raise Http404 from None


def _after_import(
    request: HttpRequest, pending: PendingImport, result: ImportResult, *, confirming: bool, again: str
) -> HttpResponse | None:
    """The answer to a confirmed import: its result page, or (refused) the preview again at ``again``;
    None for a preview, which the caller renders."""
    if confirming and not result.refused:
        pending_import_finish(pending=pending, result=result)
        messages.success(request, f"Import finished: {result.summary()}.")
        return redirect(f"integrations:{pending.kind}_import_result", token=pending.token)
    if result.refused:  # the preview showed bad rows and the user did not choose to skip them
        messages.error(request, REFUSED)
        return redirect(again)
    return None


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
    answer = _after_import(request, pending, result, confirming=confirming, again=again)
    if answer is not None:
        return answer
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


# --- deals ---------------------------------------------------------------------------------------------


def _deals_upload_page(
    request: HttpRequest, form: DealImportUploadForm, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"form": form, "columns": ",".join(DEAL_COLUMNS), **extra}
    return render(request, "integrations/deals_import.html", context, status=status)


@staff_view
def deals_import_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    form = DealImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        options = {
            k: form.cleaned_data[k] for k in ("format", "partner", "partner_column") if form.cleaned_data[k]
        }
        if options.get("partner") and partner_by_ref(actor=actor, ref=options["partner"]) is None:
            form.add_error("partner", "No partner has this external id or name.")
            return _deals_upload_page(request, form)
        try:
            pending = pending_import_save(actor=actor, upload=form.cleaned_data["file"], kind="deals")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            url = reverse("integrations:deals_import_preview", kwargs={"token": pending.token})
            return redirect(f"{url}?{urlencode(options)}")
    return _deals_upload_page(request, form)


@staff_view
def deals_import_preview(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The check of the uploaded file with the options in the query string; POST imports it."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = _pending_or_404(actor, token, kind="deals")
    if pending.result is not None:
        return redirect("integrations:deals_import_result", token=pending.token)
    options = DealImportOptionsForm(request.GET)
    partner = None
    problem = "" if options.is_valid() else "Unknown import options."
    if not problem and options.cleaned_data["partner"]:
        partner = partner_by_ref(actor=actor, ref=options.cleaned_data["partner"])
        if partner is None:
            problem = f"No partner has the external id or name '{options.cleaned_data['partner']}'."
    form = ImportConfirmForm(request.POST if request.method == "POST" else None)
    confirming = request.method == "POST" and form.is_valid()
    result = None
    if not problem:
        try:
            with pending.open() as stream:
                result = deals_import(
                    actor=actor,
                    stream=stream,
                    format=options.cleaned_data["format"],
                    default_partner=partner,
                    partner_column=options.cleaned_data["partner_column"] or None,
                    skip_invalid=confirming and form.cleaned_data["skip_invalid"],
                    dry_run=not confirming,
                )
        except CsvHeaderError as exc:
            problem = str(exc)
    if result is None:
        pending_import_discard(pending=pending)
        upload = DealImportUploadForm(initial=options.cleaned_data if options.is_valid() else None)
        return _deals_upload_page(request, upload, status=400, file_error=f"{pending.filename}: {problem}")
    answer = _after_import(request, pending, result, confirming=confirming, again=request.get_full_path())
    if answer is not None:
        return answer
    context = {"pending": pending, "form": form, "result": result, "options": options.cleaned_data}
    return render(request, "integrations/deals_import_preview.html", context)


@staff_view
def deals_import_result(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = _pending_or_404(actor, token, kind="deals")
    if pending.result is None:  # not imported yet; its preview needs the options it was uploaded with
        return redirect("integrations:deals_import")
    return render(request, "integrations/deals_import_result.html", {"pending": pending, **pending.result})
