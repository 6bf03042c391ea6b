"""Customers and invoices. The partner's own customer accounts (renewals, CSAT) and the invoices the
vendor sent it, read through the customers and finance selectors inside the partner user's scope. No
partner id is read from the URL (a ``partner`` parameter is dropped): the scope alone decides whose
rows these are, and another partner's account answers 404 like a missing one. The templates show
partner fields only (docs/visibility.md): never an account's or an invoice's internal note."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from openprm.core.http import actor_of, paginate, partner_view
from openprm.customers import selectors as customer_selectors
from openprm.customers.filters import STATUSES as ACCOUNT_STATUSES
from openprm.customers.filters import AccountFilters, RecordFilters
from openprm.finance import selectors as finance_selectors
from openprm.finance.filters import INVOICE_STATUSES, FinanceFilters
from openprm.finance.services import INVOICES

PORTAL_ACCOUNT_SORTS = (
    ("name", "Name"),
    ("-started", "Newest customers"),
    ("started", "Oldest customers"),
    ("-arr", "Largest ARR"),
)
INVOICE_STATUS_LABELS = {
    "paid": "Paid",
    "unpaid": "Unpaid",
    "overdue": "Overdue",
    "late": "Paid late",
    "disputed": "Disputed",
    "corrected": "Corrected",
}


@partner_view
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """The partner's customer accounts with their last renewal and CSAT (search, status, sort; 25 a page)."""
    actor = actor_of(request)
    filters = AccountFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    if filters.sort not in dict(PORTAL_ACCOUNT_SORTS):
        filters.sort = "name"
    accounts = customer_selectors.account_summaries(actor=actor, filters=filters)
    return render(
        request,
        "portal/customers.html",
        {
            "page": paginate(request, accounts, per_page=25),
            "filters": filters,
            "statuses": [(s, s.title()) for s in ACCOUNT_STATUSES],
            "sorts": PORTAL_ACCOUNT_SORTS,
        },
    )


@partner_view
@require_GET
def customer_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One of the partner's accounts: its details, renewals and other changes, CSAT answers."""
    actor = actor_of(request)
    account = customer_selectors.account_summaries(actor=actor).filter(public_id=public_id).first()
    if account is None:
        raise Http404
    records = RecordFilters(account=str(account.public_id))
    return render(
        request,
        "portal/customer_detail.html",
        {
            "account": account,
            "changes": list(customer_selectors.change_list(actor=actor, filters=records)[:100]),
            "answers": list(customer_selectors.csat_list(actor=actor, filters=records)[:100]),
        },
    )


@partner_view
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    """The invoices the vendor sent the partner: status and issue months as filters, totals per currency."""
    actor = actor_of(request)
    filters = FinanceFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    invoices = finance_selectors.record_list(actor=actor, kind=INVOICES, filters=filters)
    today = timezone.now().date()
    return render(
        request,
        "portal/invoices.html",
        {
            "page": paginate(request, invoices, per_page=25),
            "filters": filters,
            "statuses": [(s, INVOICE_STATUS_LABELS[s]) for s in INVOICE_STATUSES],
            "totals": finance_selectors.invoice_totals_by_currency(invoices, today=today),
            "today": today,
        },
    )
