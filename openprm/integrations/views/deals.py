"""Deal import pages: upload with options, preview, result."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.formats.deals import DEAL_COLUMNS
from openprm.integrations.forms import (
    DealImportOptionsForm,
    DealImportUploadForm,
    ImportConfirmForm,
)
from openprm.integrations.services.deals import deals_import, partner_by_ref
from openprm.integrations.services.pending import (
    pending_import_discard,
    pending_import_save,
)
from openprm.integrations.views.common import after_import, pending_or_404


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
    pending = pending_or_404(actor, token, kind="deals")
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
    answer = after_import(request, pending, result, confirming=confirming, again=request.get_full_path())
    if answer is not None:
        return answer
    context = {"pending": pending, "form": form, "result": result, "options": options.cleaned_data}
    return render(request, "integrations/deals_import_preview.html", context)


@staff_view
def deals_import_result(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_IMPORT)
    pending = pending_or_404(actor, token, kind="deals")
    if pending.result is None:  # not imported yet; its preview needs the options it was uploaded with
        return redirect("integrations:deals_import")
    return render(request, "integrations/deals_import_result.html", {"pending": pending, **pending.result})
