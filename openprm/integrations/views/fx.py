"""The ECB exchange-rate import (upload, preview, result): the finance imports' three steps, plus the
choice to replace stored rates the file changes (``overwrite``, carried from the upload to the confirm).
Admins and finance staff only (``Perm.PAYOUT_MANAGE``; others: 403)."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.finance.services.fx import require_fx_writer
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.forms import ImportConfirmForm, ImportUploadForm
from openprm.integrations.services.fx import fx_import
from openprm.integrations.services.pending import pending_import_discard, pending_import_save
from openprm.integrations.views.common import after_import, pending_or_404

KIND = "fx-rates"
OVERWRITE_LABEL = "Replace stored rates the file changes (each replacement is audited)"


class FxUploadForm(ImportUploadForm):
    overwrite = forms.BooleanField(required=False, label=OVERWRITE_LABEL)


class FxConfirmForm(ImportConfirmForm):
    overwrite = forms.BooleanField(required=False, label=OVERWRITE_LABEL)


@staff_view
def fx_import_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_fx_writer(actor)
    form = FxUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = pending_import_save(actor=actor, upload=form.cleaned_data["file"], kind=KIND)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            preview = reverse(f"integrations:{KIND}_import_preview", kwargs={"token": pending.token})
            return redirect(preview + ("?overwrite=1" if form.cleaned_data["overwrite"] else ""))
    return render(request, "integrations/fx_import.html", {"form": form})


@staff_view
def fx_import_preview(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    require_fx_writer(actor)
    pending = pending_or_404(actor, token, KIND)
    if pending.result is not None:
        return redirect(f"integrations:{KIND}_import_result", token=pending.token)
    posted = request.method == "POST"
    initial = {"overwrite": request.GET.get("overwrite") == "1"}
    form = FxConfirmForm(request.POST if posted else None, initial=initial)
    confirming = posted and form.is_valid()
    overwrite = form.cleaned_data["overwrite"] if confirming else initial["overwrite"]
    try:
        with pending.open() as stream:
            result = fx_import(
                actor=actor,
                stream=stream,
                overwrite=overwrite,
                skip_invalid=confirming and form.cleaned_data["skip_invalid"],
                dry_run=not confirming,
            )
    except CsvHeaderError as exc:
        pending_import_discard(pending=pending)
        context = {"form": FxUploadForm(), "file_error": f"{pending.filename}: {exc}"}
        return render(request, "integrations/fx_import.html", context, status=400)
    again = reverse(f"integrations:{KIND}_import_preview", kwargs={"token": pending.token})
    answer = after_import(
        request, pending, result, confirming=confirming, again=again + ("?overwrite=1" if overwrite else "")
    )
    if answer is not None:
        return answer
    changed = any("replace stored rates" in error.message for error in result.errors)
    context = {"pending": pending, "form": form, "result": result, "overwrite": overwrite, "changed": changed}
    return render(request, "integrations/fx_import_preview.html", context)


@staff_view
def fx_import_result(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    require_fx_writer(actor)
    pending = pending_or_404(actor, token, KIND)
    if pending.result is None:
        return redirect(f"integrations:{KIND}_import_preview", token=pending.token)
    return render(request, "integrations/fx_import_result.html", {"pending": pending, **pending.result})
