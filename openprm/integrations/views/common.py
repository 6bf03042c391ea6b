"""What the import pages share: the pending upload of a token, the answer after a confirmed import."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from openprm.core.actors import Actor
from openprm.integrations.services.pending import (
    PendingImport,
    PendingImportMissing,
    pending_import_finish,
    pending_import_get,
)
from openprm.integrations.services.runner import ImportResult

REFUSED = "Nothing was imported: the file has bad rows. Fix them, or skip them."


def pending_or_404(actor: Actor, token: uuid.UUID, kind: str = "partners") -> PendingImport:
    try:
        return pending_import_get(actor=actor, token=token, kind=kind)
    except PendingImportMissing:
        raise Http404 from None


def after_import(
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
