"""Reads of the product catalog (workspace-wide: products are not partner-owned)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.deals.filters import ProductFilters
from openprm.deals.models import Product


def products(*, actor: Actor) -> QuerySet[Product]:
    """The active products, offered on registration forms."""
    return Product.objects.filter(is_active=True)


def product_list(*, actor: Actor, filters: ProductFilters | None = None) -> QuerySet[Product]:
    """The catalog by name, searched by name or exact SKU, optionally active or inactive products only."""
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or ProductFilters()
    queryset = Product.objects.order_by("name", "id")
    if filters.q:
        queryset = queryset.filter(name__icontains=filters.q) | queryset.filter(sku__iexact=filters.q)
    if filters.active is not None:
        queryset = queryset.filter(is_active=filters.active)
    return queryset


def product_get(*, actor: Actor, public_id: Any) -> Product:
    """The product, or Product.DoesNotExist (a malformed id reads as missing)."""
    return Product.objects.get(public_id=parse_uuid(str(public_id)))
