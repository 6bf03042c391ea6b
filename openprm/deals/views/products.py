"""The product catalog page: staff see it; admins and partner managers add, edit and deactivate products."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.deals import selectors, services
from openprm.deals.filters import ProductFilters
from openprm.deals.forms import ProductForm, product_initial
from openprm.deals.models import Product


@staff_view
def products(request: HttpRequest) -> HttpResponse:
    """List (search, active/inactive), create (POST without ``product``), edit (``?edit=<id>``, POST with
    ``product``)."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_VIEW)
    editing: Product | None = None
    edit_id = request.POST.get("product") or request.GET.get("edit")
    if edit_id:
        try:
            editing = selectors.product_get(actor=actor, public_id=edit_id)
        except Product.DoesNotExist:
            raise Http404 from None
    form = ProductForm(request.POST or None, initial=product_initial(editing) if editing else None)
    if request.method == "POST":
        actor.require(Perm.PARTNER_EDIT)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if editing is None:
                    product = services.product_create(actor=actor, data=data)  # type: ignore[arg-type]
                    messages.success(request, f"Added {product.name}.")
                else:
                    product = services.product_update(actor=actor, product=editing, data=data)  # type: ignore[arg-type]
                    messages.success(request, f"Saved {product.name}.")
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect(reverse("deals:products") + "#product-" + str(product.public_id))
    filters = ProductFilters.from_mapping(request.GET)
    show = request.GET.get("show", "")
    return render(
        request,
        "deals/products.html",
        {
            "page": paginate(request, selectors.product_list(actor=actor, filters=filters)),
            "form": form,
            "editing": editing,
            "q": filters.q,
            "show": show,
            "query": urlencode({k: v for k, v in {"q": filters.q, "show": show}.items() if v}),
        },
    )
