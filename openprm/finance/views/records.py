"""The finance pages: one page per kind (costs, invoices, sell-through, company revenue) with the list
(filters, totals, pages) and, for admins and finance staff, the add/edit form and delete. Every staff
role reads (restricted staff: their own partners' rows); partner users get 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, staff_view
from openprm.finance import selectors, services
from openprm.finance.filters import INVOICE_STATUSES, FinanceFilters
from openprm.finance.forms import FORMS, record_initial
from openprm.finance.models import CostCategory

PAGES = {  # kind → (URL name, title, what the form adds)
    "costs": ("finance:costs", "Partnership costs", "a cost"),
    "invoices": ("finance:invoices", "Invoices", "an invoice"),
    "sellthrough": ("finance:sellthrough", "Sell-through", "a sell-through line"),
    "company-revenue": ("finance:company_revenue", "Company revenue", "a month's revenue"),
}
FILTER_KEYS = ("partner", "start", "end", "category", "status", "sku", "region")


@staff_view
def records(request: HttpRequest, kind: str) -> HttpResponse:
    """The list (GET filters), create (POST without ``record``), edit (``?edit=<id>``, POST with
    ``record``), delete (POST with ``record`` and ``delete``)."""
    actor = actor_of(request)
    spec = services.KINDS[kind]
    url_name, title, adds = PAGES[kind]
    can_edit = actor.role in services.WRITER_ROLES
    editing = None
    edit_id = request.POST.get("record") or request.GET.get("edit")
    if edit_id:
        try:
            editing = selectors.record_get(actor=actor, kind=spec, public_id=edit_id)
        except ObjectDoesNotExist:
            raise Http404 from None
    form_class = FORMS[kind]
    form = form_class(request.POST or None, initial=record_initial(editing) if editing else None)
    if request.method == "POST":
        services.require_writer(actor)
        if editing is not None and "delete" in request.POST:
            services.record_delete(actor=actor, kind=spec, instance=editing)
            messages.success(request, f"Deleted {editing}.")
            return redirect(url_name)
        if form.is_valid():
            try:
                if editing is None:
                    record = services.record_create(actor=actor, kind=spec, data=dict(form.cleaned_data))
                    messages.success(request, f"Added {record}.")
                else:
                    record = services.record_update(
                        actor=actor, kind=spec, instance=editing, data=dict(form.cleaned_data)
                    )
                    messages.success(request, f"Saved {record}.")
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect(reverse(url_name) + f"#record-{record.public_id}")
    filters = FinanceFilters.from_mapping(request.GET)
    queryset = selectors.record_list(actor=actor, kind=spec, filters=filters)
    given = {key: str(request.GET.get(key, ""))[:64] for key in FILTER_KEYS if request.GET.get(key)}
    return render(
        request,
        "finance/records.html",
        {
            "kind": kind,
            "title": title,
            "adds": adds,
            "url_name": url_name,
            "pages": PAGES,
            "page": paginate(request, queryset),
            "totals": selectors.record_totals(queryset, spec),
            "form": form,
            "editing": editing,
            "can_edit": can_edit,
            "filters": given,
            "query": urlencode(given),
            "partners": selectors.partner_options(actor=actor) if spec.partner_owned else [],
            "categories": CostCategory.choices,
            "statuses": INVOICE_STATUSES,
            "today": timezone.now().date(),
        },
    )
