"""What the partner app's staff pages share: 404 for what is missing or out of scope, and the plain
form page of a partner's contacts and agreements."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of
from openprm.partners import selectors
from openprm.partners.models import Partner, Program


def found_or_404(getter: Callable[..., Any], request: HttpRequest, public_id: Any) -> Any:
    """What the selector ``getter`` finds for the request's actor; 404 when it is missing or out of scope."""
    try:
        return getter(actor=actor_of(request), public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None


def partner_or_404(request: HttpRequest, public_id: Any) -> Partner:
    partner: Partner = found_or_404(selectors.partner_get, request, public_id)
    return partner


def program_or_404(request: HttpRequest, public_id: Any) -> Program:
    program: Program = found_or_404(selectors.program_get, request, public_id)
    return program


def uuids(values: list[str]) -> list[uuid.UUID]:
    """The values that are UUIDs (posted ids; the others cannot name anything)."""
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def initial_of(instance: Any, form_class: Any) -> dict[str, Any]:
    """A model form's initial values from ``instance`` (the uploaded file is never pre-filled)."""
    return {name: getattr(instance, name) for name in form_class.Meta.fields if name != "file"}


def form_page(
    request: HttpRequest,
    *,
    partner: Partner,
    form: Any,
    title: str,
    save: Callable[..., Any],
    upload: bool = False,
) -> HttpResponse:
    """A partner's child object form: on a valid post ``save(data)`` (``save(data, file)`` with ``upload``),
    then back to the partner; service errors are shown next to their fields."""
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "file"}
        try:
            save(data, form.cleaned_data.get("file") or None) if upload else save(data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{title}: saved.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/child_form.html", {"form": form, "partner": partner, "title": title})
