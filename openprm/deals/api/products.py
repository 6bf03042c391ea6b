"""The product catalog over HTTP: staff list it; admins and partner managers create and change products
(audited; names unique per workspace). Partner users get 404 here, read-only staff 403 on writes."""

import uuid

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.permissions import Perm
from openprm.core.schemas import Pagination
from openprm.deals import selectors
from openprm.deals.models import Product
from openprm.deals.schemas import ProductCreate, ProductOut, ProductPatch, ProductQuery
from openprm.deals.services import product_create, product_update

router = Router(tags=["products"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    actor.require(Perm.PARTNER_VIEW)
    return actor


@router.get(
    "/products",
    response={200: list[ProductOut], **ERRORS},
    operation_id="openprm_deals_api_products_product_list",
)
@paginate(Pagination)
def product_list(request: HttpRequest, filters: Query[ProductQuery]) -> QuerySet[Product]:
    return selectors.product_list(actor=_staff(request), filters=filters.to_filters())


@router.post(
    "/products", response={201: ProductOut, **ERRORS}, operation_id="openprm_deals_api_products_product_post"
)
def product_post(request: HttpRequest, payload: ProductCreate) -> Status[Product]:
    return Status(201, product_create(actor=_staff(request), data=payload.to_input()))


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS},
    operation_id="openprm_deals_api_products_product_get",
)
def product_get(request: HttpRequest, product_id: uuid.UUID) -> Product:
    return selectors.product_get(actor=_staff(request), public_id=product_id)


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS},
    operation_id="openprm_deals_api_products_product_patch",
)
def product_patch(request: HttpRequest, product_id: uuid.UUID, payload: ProductPatch) -> Product:
    actor = _staff(request)
    product = selectors.product_get(actor=actor, public_id=product_id)
    return product_update(actor=actor, product=product, data=payload.to_input())
