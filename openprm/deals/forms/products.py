"""The product catalog page's form (the service validates prices, currencies and unique names)."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.deals.models import Product


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200)
    sku = forms.CharField(max_length=60, required=False, label="SKU")
    list_price = forms.CharField(max_length=40, required=False, label="List price", help_text="e.g. 1250.00")
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: the workspace's")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


def product_initial(product: Product) -> dict[str, Any]:
    """The form's values for editing ``product``."""
    return {
        "name": product.name,
        "sku": product.sku,
        "list_price": product.list_price,
        "currency": product.currency,
        "is_active": product.is_active,
    }
