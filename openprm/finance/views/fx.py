"""The exchange-rate page (``/finance/fx-rates/``): the workspace's rates (filter by currency and days,
paginated; a filter that is not a date or a code is shown as an error naming it), and for admins and
finance staff a form to enter a rate by hand, delete, and a link to import the ECB file. Every staff role
reads (``Perm.COMMISSION_VIEW``); partner users get 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.finance.filters import FxFilters
from openprm.finance.forms import FxRateForm
from openprm.finance.models import FxRate
from openprm.finance.selectors.fx import can_read_fx, fx_currencies, fx_rate_get, fx_rate_list
from openprm.finance.services.fx import fx_rate_delete, fx_rate_enter, require_fx_writer
from openprm.finance.views.records import PAGES

FILTER_KEYS = ("currency", "day", "start", "end")


@staff_view
def fx_rates(request: HttpRequest) -> HttpResponse:
    """The list (GET filters); a manual rate (POST); delete (POST with ``delete=<id>``)."""
    actor = actor_of(request)
    if not can_read_fx(actor):
        raise Http404
    can_edit = actor.can(Perm.PAYOUT_MANAGE)
    form = FxRateForm(request.POST or None)
    if request.method == "POST":
        require_fx_writer(actor)
        if request.POST.get("delete"):
            try:
                rate = fx_rate_get(actor=actor, public_id=str(request.POST["delete"])[:40])
            except (ObjectDoesNotExist, ValidationError, ValueError):
                raise Http404 from None
            fx_rate_delete(actor=actor, instance=rate)
            messages.success(request, f"Deleted the rate {rate}.")
            return redirect("finance:fx_rates")
        if form.is_valid():
            data = form.cleaned_data
            try:
                rate = fx_rate_enter(
                    actor=actor,
                    day=data["day"],
                    base=data["base"],
                    quote=data["quote"],
                    rate=data["rate"],
                    overwrite=data["overwrite"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved: {rate}.")
                return redirect(reverse("finance:fx_rates") + f"#rate-{rate.public_id}")
    filters = FxFilters.from_mapping(request.GET)
    errors = filters.errors()
    given = filters.as_query()
    # a filter that cannot be applied is shown, not ignored: the list waits for a value it can apply
    rows = FxRate.objects.none() if errors else fx_rate_list(actor=actor, filters=filters)
    return render(
        request,
        "finance/fx_rates.html",
        {
            "page": paginate(request, rows),
            "filter_errors": errors,
            "pages": PAGES,
            "currencies": fx_currencies(actor=actor),
            "filters": given,
            "query": urlencode(given),
            "form": form,
            "can_edit": can_edit,
        },
    )
