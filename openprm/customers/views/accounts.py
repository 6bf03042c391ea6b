"""Customer account pages (staff): the filtered list, an account with its records, the account form."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openprm.accounts.forms import add_service_errors
from openprm.core.actors import Actor
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.customers import selectors, services
from openprm.customers.filters import STATUSES, AccountFilters, RecordFilters
from openprm.customers.forms import AccountForm, ChangeForm, CsatForm, UsageForm, account_initial
from openprm.customers.models import CustomerAccount
from openprm.partners.selectors import partner_get


def account_or_404(actor: Actor, public_id: object) -> CustomerAccount:
    try:
        return selectors.account_get(actor=actor, public_id=public_id)
    except CustomerAccount.DoesNotExist:
        raise Http404 from None


@staff_view
def account_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    filters = AccountFilters.from_mapping(request.GET)
    query = {"q": filters.q, "partner": filters.partner, "status": filters.status}
    if filters.sort != "name":
        query["sort"] = filters.sort
    return render(
        request,
        "customers/list.html",
        {
            "page": paginate(request, selectors.account_list(actor=actor, filters=filters)),
            "filters": filters,
            "statuses": STATUSES,
            "partners": selectors.partner_choices(actor=actor),
            "csat": selectors.csat_summary(actor=actor),
            "query": urlencode({k: v for k, v in query.items() if v}),
        },
    )


@staff_view
def account_detail(request: HttpRequest, public_id: object) -> HttpResponse:
    actor = actor_of(request)
    account = account_or_404(actor, public_id)
    of_account = RecordFilters(account=str(account.public_id))
    return render(
        request,
        "customers/detail.html",
        {
            "account": account,
            "changes": selectors.change_list(actor=actor, filters=of_account)[:200],
            "answers": selectors.csat_list(actor=actor, filters=of_account)[:200],
            "usage": selectors.usage_list(actor=actor, filters=of_account)[:36],
            "change_form": ChangeForm(prefix="change"),
            "csat_form": CsatForm(prefix="csat"),
            "usage_form": UsageForm(prefix="usage"),
        },
    )


@staff_view
def account_form(request: HttpRequest, public_id: object = None) -> HttpResponse:
    """Add an account (no ``public_id``) or edit one."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    account = account_or_404(actor, public_id) if public_id is not None else None
    form = AccountForm(
        request.POST or None,
        initial=account_initial(account) if account else {"partner": request.GET.get("partner", "")},
        partners=selectors.partner_choices(actor=actor),
    )
    if request.method == "POST" and form.is_valid():
        try:
            partner = partner_get(actor=actor, public_id=form.cleaned_data["partner"])
        except ObjectDoesNotExist:
            raise Http404 from None
        try:
            if account is None:
                account = services.account_create(actor=actor, partner=partner, data=form.service_data())
                messages.success(request, f"Added {account.name}.")
            else:
                account = services.account_update(
                    actor=actor, account=account, data=form.service_data(), partner=partner
                )
                messages.success(request, f"Saved {account.name}.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("customers:detail", public_id=account.public_id)
    return render(request, "customers/form.html", {"form": form, "account": account})


@staff_view
def account_delete(request: HttpRequest, public_id: object) -> HttpResponse:
    actor = actor_of(request)
    account = account_or_404(actor, public_id)
    if request.method != "POST":
        return redirect("customers:detail", public_id=account.public_id)
    services.account_delete(actor=actor, account=account)
    messages.success(request, f"Deleted {account.name} and its records.")
    return redirect("customers:list")
