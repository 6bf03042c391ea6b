"""Customer imports (upload, preview, result) for accounts, account changes, CSAT answers and usage
months: the partners import's three steps, with the kind in the URL. Staff who import partners only."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.formats.customers import FORMATS
from openprm.integrations.forms import ImportConfirmForm, ImportUploadForm
from openprm.integrations.services.customers import customers_import
from openprm.integrations.services.pending import pending_import_discard, pending_import_save
from openprm.integrations.views.common import after_import, pending_or_404

TITLES = {
    "accounts": "customer accounts",
    "account-changes": "account changes",
    "csat": "CSAT answers",
    "usage": "product usage",
}
PENDING_KINDS = {  # the pending upload's kind, which names the preview and result URLs
    "accounts": "customer_accounts",
    "account-changes": "customer_changes",
    "csat": "customer_csat",
    "usage": "customer_usage",
}
NOTES = {
    "accounts": "Each row needs a partner_external_id (the managing partner) and, when new, a name and "
    "started_on. ended_on is the churn date. arr and mrr are amounts in the workspace currency.",
    "account-changes": "kind is renewal, upsell, cross_sell, downgrade or churn; amount is the renewed, "
    "added or lost value. account_external_id names an imported account.",
    "csat": "score is 1 to 5. With an account_external_id the answer is about that partner-managed account; "
    "without one (channel direct) it is a direct-channel answer, the baseline.",
    "usage": "One row per account and month (YYYY-MM or any day of it): active users, and features used of "
    "those available. A month given again replaces its figures.",
}


def _kind(actor: Actor, kind: str) -> str:
    actor.require(Perm.PARTNER_IMPORT)
    if kind not in FORMATS:
        raise Http404
    return kind


def _upload_context(kind: str, form: ImportUploadForm, file_error: str = "") -> dict[str, object]:
    fmt = FORMATS[kind]
    return {
        "form": form,
        "kind": kind,
        "title": TITLES[kind],
        "kinds": TITLES,
        "columns": ",".join(fmt.columns),
        "required": fmt.required,
        "note": NOTES[kind],
        "file_error": file_error,
    }


@staff_view
def customers_import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    actor = actor_of(request)
    kind = _kind(actor, kind)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = pending_import_save(
                actor=actor, upload=form.cleaned_data["file"], kind=PENDING_KINDS[kind]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(f"integrations:{pending.kind}_import_preview", token=pending.token)
    return render(request, "integrations/customers_import.html", _upload_context(kind, form))


@staff_view
def customers_import_preview(request: HttpRequest, kind: str, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    kind = _kind(actor, kind)
    pending = pending_or_404(actor, token, PENDING_KINDS[kind])
    if pending.result is not None:
        return redirect(f"integrations:{pending.kind}_import_result", token=pending.token)
    form = ImportConfirmForm(request.POST if request.method == "POST" else None)
    confirming = request.method == "POST" and form.is_valid()
    try:
        with pending.open() as stream:
            result = customers_import(
                actor=actor,
                kind=kind,
                stream=stream,
                skip_invalid=confirming and form.cleaned_data["skip_invalid"],
                dry_run=not confirming,
            )
    except CsvHeaderError as exc:
        pending_import_discard(pending=pending)
        context = _upload_context(kind, ImportUploadForm(), f"{pending.filename}: {exc}")
        return render(request, "integrations/customers_import.html", context, status=400)
    again = reverse(f"integrations:{pending.kind}_import_preview", kwargs={"token": pending.token})
    answer = after_import(request, pending, result, confirming=confirming, again=again)
    if answer is not None:
        return answer
    columns = result.preview[0]["columns"] if result.preview else list(FORMATS[kind].columns)
    context = {"pending": pending, "form": form, "result": result, "kind": kind, "title": TITLES[kind]}
    return render(request, "integrations/customers_import_preview.html", {**context, "columns": columns})


@staff_view
def customers_import_result(request: HttpRequest, kind: str, token: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    kind = _kind(actor, kind)
    pending = pending_or_404(actor, token, PENDING_KINDS[kind])
    if pending.result is None:
        return redirect(f"integrations:{pending.kind}_import_preview", token=pending.token)
    context = {"pending": pending, "kind": kind, "title": TITLES[kind]}
    return render(request, "integrations/customers_import_result.html", {**context, **pending.result})
