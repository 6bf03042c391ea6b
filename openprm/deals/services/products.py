"""The product catalog: deal line items are picked from it, imported deals name its products.

Admins and (staff) partner managers create, change and deactivate products; names are unique per workspace
(whatever the case). Every write is audited. ``products_upsert`` applies a whole list (a CSV import) or
nothing, reporting every bad item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, snapshot
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Perm
from openprm.core.validation import MAX_AMOUNT, clean_text, quantize_money
from openprm.deals.models import Product


class ProductInput(TypedDict, total=False):
    """Fields a caller may set on a product. Absent keys are left unchanged on update."""

    name: str
    sku: str
    list_price: Decimal | int | str
    currency: str
    is_active: bool


def _require(actor: Actor) -> None:
    actor.require(Perm.PARTNER_EDIT)
    if not actor.is_staff:
        raise PermissionDenied("Only staff manage the product catalog")


def _workspace_currency(actor: Actor) -> str:
    return Workspace.objects.get(pk=actor.workspace_id).currency


def product_clean(
    *, data: ProductInput | dict[str, Any], current: Product | None, default_currency: str
) -> dict[str, Any]:
    """Validate caller input; return model-ready values or raise ValidationError naming every bad field.
    The name's uniqueness is checked by the callers (one query, or one per import)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if current is None or "name" in data:
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if "sku" in data:
        out["sku"] = clean_text(errors, "sku", data["sku"], 60)
    if current is None or "list_price" in data:
        raw = data.get("list_price")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raw = "0"
        try:
            if isinstance(raw, bool):
                raise InvalidOperation
            price = Decimal(str(raw).strip())
            if not price.is_finite():
                raise InvalidOperation
            price = quantize_money(price)
        except (InvalidOperation, ValueError):
            errors["list_price"] = f"'{raw}' is not an amount (use digits and a decimal point, e.g. 1250.00)."
        else:
            if price < 0 or price > MAX_AMOUNT:
                errors["list_price"] = f"An amount between 0 and {MAX_AMOUNT:,}."
            out["list_price"] = price
    if current is None or "currency" in data:
        currency = clean_text(errors, "currency", data.get("currency") or default_currency, 3).upper()
        if "currency" not in errors and (len(currency) != 3 or not currency.isalpha()):
            errors["currency"] = f"'{currency}' is not an ISO 4217 currency code (e.g. EUR)."
        out["currency"] = currency
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationError(errors)
    return out


def _check_name(name: str, exclude: Product | None) -> None:
    clash = Product.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationError({"name": f"A product named '{name}' already exists."})


@transaction.atomic
def product_create(*, actor: Actor, data: ProductInput) -> Product:
    _require(actor)
    values = product_clean(data=data, current=None, default_currency=_workspace_currency(actor))
    _check_name(values["name"], None)
    product = Product(workspace_id=actor.workspace_id, **values)
    product.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=product, after=snapshot(product))
    return product


@transaction.atomic
def product_update(*, actor: Actor, product: Product, data: ProductInput) -> Product:
    _require(actor)
    values = product_clean(data=data, current=product, default_currency=_workspace_currency(actor))
    if "name" in values:
        _check_name(values["name"], product)
    with audited_change(actor=actor, instance=product):
        apply_values(product, values)
        product.save()
    return product


def product_deactivate(*, actor: Actor, product: Product) -> Product:
    """Take a product off the list new line items pick from; deals that name it keep it."""
    return product_update(actor=actor, product=product, data={"is_active": False})


@dataclass(frozen=True)
class ProductItemError:
    index: int  # position in the list given to products_upsert
    field: str
    message: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ProductItemError] | None = None  # set (and nothing written) when any item is bad


def products_upsert(*, actor: Actor, items: Sequence[ProductInput], dry_run: bool = False) -> UpsertResult:
    """Create the products whose names are new and update the others (matched by name, any case): all of
    them, or — when any item is bad or names a product twice — none, with every problem reported."""
    _require(actor)
    currency = _workspace_currency(actor)
    existing = {p.name.lower(): p for p in Product.objects.all()}
    errors: list[ProductItemError] = []
    plan: list[tuple[Product | None, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = str(item.get("name") or "").strip().lower()
        current = existing.get(key)
        try:
            values = product_clean(data=item, current=current, default_currency=currency)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.append(ProductItemError(index, field, " ".join(messages)))
            continue
        if key in seen:
            errors.append(ProductItemError(index, "name", f"'{values['name']}' is named twice in the file."))
            continue
        seen[key] = index
        if current is not None:
            values.pop("name", None)  # matched by name: its spelling in the catalog stays
        plan.append((current, values))
    result = UpsertResult()
    if errors:
        result.errors = errors
        return result
    with transaction.atomic():
        for current, values in plan:
            if current is None:
                result.created += 1
                if not dry_run:
                    product = Product(workspace_id=actor.workspace_id, **values)
                    product.save()
                    audit_record(
                        actor=actor,
                        action=AuditEntry.Action.CREATE,
                        instance=product,
                        after=snapshot(product),
                    )
                continue
            before = snapshot(current)
            apply_values(current, values)
            if snapshot(current) == before:
                result.unchanged += 1
                continue
            result.updated += 1
            if not dry_run:
                current.save()
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.UPDATE,
                    instance=current,
                    before=before,
                    after=snapshot(current),
                )
    return result


@transaction.atomic
def products_ensure(*, actor: Actor, names: Sequence[str]) -> dict[str, Product]:
    """The products with these names (any case), creating the missing ones at list price 0 in the
    workspace currency (the deals import's --create-products). Keys are the lower-cased names."""
    _require(actor)
    found = {p.name.lower(): p for p in Product.objects.filter(name__in=[n.strip() for n in names])}
    for name in names:
        key = name.strip().lower()
        if key and key not in found:
            found[key] = Product.objects.filter(name__iexact=name.strip()).first() or product_create(
                actor=actor, data={"name": name.strip()}
            )
    return found
