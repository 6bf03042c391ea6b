"""The product catalog page: staff see it; admins and partner managers add, edit and deactivate products."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.deals import services
from openprm.deals.models import Product


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200)
    sku = forms.CharField(max_length=60, required=False, label="SKU")
    list_price = forms.CharField(max_length=40, required=False, label="List price", help_text="e.g. 1250.00")
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: the workspace's")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


def _initial(product: Product) -> dict[str, Any]:
    return {
        "name": product.name,
        "sku": product.sku,
        "list_price": product.list_price,
        "currency": product.currency,
        "is_active": product.is_active,
    }


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
            editing = Product.objects.get(public_id=parse_uuid(edit_id))
        except (Product.DoesNotExist, ValueError):
            raise Http404 from None
    form = ProductForm(request.POST or None, initial=_initial(editing) if editing else None)
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
    q = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    show = request.GET.get("show", "")
    queryset = Product.objects.order_by("name", "id")
    if q:
        queryset = queryset.filter(name__icontains=q) | queryset.filter(sku__iexact=q)
    if show == "active":
        queryset = queryset.filter(is_active=True)
    elif show == "inactive":
        queryset = queryset.filter(is_active=False)
    return render(
        request,
        "deals/products.html",
        {
            "page": paginate(request, queryset),
            "form": form,
            "editing": editing,
            "q": q,
            "show": show,
            "query": urlencode({k: v for k, v in {"q": q, "show": show}.items() if v}),
        },
    )
