"""An account's records on its page (staff): add a change, a CSAT answer or a usage month, remove one;
and the direct-channel CSAT page (the baseline partner-managed accounts are compared with)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.customers import selectors, services
from openprm.customers.filters import RecordFilters
from openprm.customers.forms import ChangeForm, CsatForm, UsageForm
from openprm.customers.models import CsatChannel, CustomerAccount
from openprm.customers.views.accounts import account_or_404

FORMS: dict[str, Any] = {"change": ChangeForm, "csat": CsatForm, "usage": UsageForm}


def _at(account: CustomerAccount, kind: str) -> str:
    return reverse("customers:detail", kwargs={"public_id": account.public_id}) + f"#{kind}"


@staff_view
def record_add(request: HttpRequest, public_id: object, kind: str) -> HttpResponse:
    """POST a ``change``, ``csat`` or ``usage`` form of the account page; errors show on that page."""
    actor = actor_of(request)
    account = account_or_404(actor, public_id)
    if kind not in FORMS:
        raise Http404
    if request.method != "POST":
        return redirect("customers:detail", public_id=account.public_id)
    actor.require(Perm.PARTNER_EDIT)
    form = FORMS[kind](request.POST, prefix=kind)
    if form.is_valid():
        try:
            if kind == "change":
                services.change_create(actor=actor, account=account, data=form.cleaned_data)
            elif kind == "csat":
                services.csat_create(actor=actor, account=account, data=form.cleaned_data)
            else:
                services.usage_record(actor=actor, account=account, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect(_at(account, kind))
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(
                request, f"{form.fields[field].label or field}: {error}" if field != "__all__" else error
            )
    return redirect(_at(account, kind))


@staff_view
def record_delete(request: HttpRequest, kind: str, public_id: object) -> HttpResponse:
    actor = actor_of(request)
    if request.method != "POST":
        raise Http404
    account: CustomerAccount | None
    try:
        if kind == "change":
            change = selectors.change_get(actor=actor, public_id=public_id)
            account = change.account
            services.change_delete(actor=actor, change=change)
        elif kind == "csat":
            answer = selectors.csat_get(actor=actor, public_id=public_id)
            account = answer.account
            services.csat_delete(actor=actor, answer=answer)
        elif kind == "usage":
            record = selectors.usage_get(actor=actor, public_id=public_id)
            account = record.account
            services.usage_delete(actor=actor, record=record)
        else:
            raise Http404
    except ObjectDoesNotExist:
        raise Http404 from None
    messages.success(request, "Removed.")
    if account is None:
        return redirect("customers:direct_csat")
    return redirect(_at(account, kind))


@staff_view
def direct_csat(request: HttpRequest) -> HttpResponse:
    """The direct channel's CSAT answers, and a form to add one."""
    actor = actor_of(request)
    form = CsatForm(request.POST or None, prefix="csat")
    if request.method == "POST":
        actor.require(Perm.PARTNER_EDIT)
        if form.is_valid():
            try:
                services.csat_create(
                    actor=actor, account=None, data={**form.cleaned_data, "channel": CsatChannel.DIRECT}
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Added a direct-channel answer.")
                return redirect("customers:direct_csat")
    answers = selectors.csat_list(actor=actor, filters=RecordFilters(kind=CsatChannel.DIRECT))
    return render(
        request,
        "customers/direct_csat.html",
        {"page": paginate(request, answers), "form": form, "csat": selectors.csat_summary(actor=actor)},
    )
