"""Scoped reads of the finance records for pages and API.

Who reads what: every staff role reads every kind (restricted staff: only their own partners' rows, by
the access scope); partner users read their own partner's invoices and sell-through lines, and never
costs or company revenue (those answer "not found" to them, like another partner's rows).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.finance.filters import FinanceFilters
from openprm.finance.services.records import COMPANY_REVENUE, COSTS, INVOICES, SELLTHROUGH, Kind
from openprm.partners.models import Partner

PARTNER_READABLE = frozenset({INVOICES.name, SELLTHROUGH.name})
_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)


def can_read(actor: Actor, kind: Kind) -> bool:
    if not actor.can(Perm.PARTNER_VIEW):
        return False
    return actor.is_staff or (actor.is_partner_user and kind.name in PARTNER_READABLE)


def _require_read(actor: Actor, kind: Kind) -> None:
    if not can_read(actor, kind):
        raise kind.model.DoesNotExist(f"No {kind.name} here")  # type: ignore[attr-defined]


def _dates(queryset: QuerySet[Any], kind: Kind, filters: FinanceFilters) -> QuerySet[Any]:
    field = "issued_on" if kind is INVOICES else "period"
    if filters.start is not None:
        start = filters.start if kind is INVOICES else filters.start.replace(day=1)
        queryset = queryset.filter(**{f"{field}__gte": start})
    if filters.end is not None:
        queryset = queryset.filter(**{f"{field}__lte": filters.end})
    return queryset


def record_list(*, actor: Actor, kind: Kind, filters: FinanceFilters | None = None) -> QuerySet[Any]:
    """The kind's records the actor may see, newest first, filtered."""
    _require_read(actor, kind)
    filters = filters or FinanceFilters()
    queryset = kind.model._default_manager.all()
    if kind.partner_owned:
        queryset = queryset.select_related("partner")
        if filters.partner:
            queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    queryset = _dates(queryset, kind, filters)
    if kind is COSTS and filters.category:
        queryset = queryset.filter(category=filters.category)
    if kind is SELLTHROUGH:
        if filters.sku:
            queryset = queryset.filter(sku__iexact=filters.sku)
        if filters.region:
            queryset = queryset.filter(region__iexact=filters.region)
    if kind is INVOICES and filters.status:
        queryset = _invoice_status(queryset, filters.status, timezone.now().date())
    order = {
        COSTS.name: ("-period", "partner__name", "category", "id"),
        INVOICES.name: ("-issued_on", "-id"),
        SELLTHROUGH.name: ("-period", "partner__name", "sku", "region", "id"),
        COMPANY_REVENUE.name: ("-period",),
    }[kind.name]
    return queryset.order_by(*order)


def _invoice_status(queryset: QuerySet[Any], status: str, today: datetime.date) -> QuerySet[Any]:
    if status == "paid":
        return queryset.filter(paid_on__isnull=False)
    if status == "unpaid":
        return queryset.filter(paid_on__isnull=True)
    if status == "overdue":
        return queryset.filter(paid_on__isnull=True, due_on__lt=today)
    if status == "late":
        return queryset.filter(paid_on__gt=F("due_on"))
    if status in ("disputed", "corrected"):
        return queryset.filter(**{status: True})
    return queryset


def record_get(*, actor: Actor, kind: Kind, public_id: Any) -> Any:
    """The record, or the model's DoesNotExist (also for a malformed id or one out of the actor's sight)."""
    _require_read(actor, kind)
    return kind.model._default_manager.get(public_id=parse_uuid(str(public_id)))


def record_totals(queryset: QuerySet[Any], kind: Kind) -> dict[str, Any]:
    """The figures under a list (one aggregate query over the filtered rows)."""
    queryset = queryset.order_by()
    sums: dict[str, Any] = {"rows": Count("id")}
    if kind is SELLTHROUGH:
        revenue = ExpressionWrapper(F("units_sold") * F("unit_price"), output_field=_MONEY)
        sums |= {"sold": Sum("units_sold"), "stock": Sum("units_on_hand"), "money": Sum(revenue)}
        names = {"sold": "units_sold", "stock": "units_on_hand", "money": "revenue"}
    else:
        sums["total"] = Sum("amount")
        names = {"total": "amount"}
        if kind is INVOICES:
            sums["open"] = Sum("amount", filter=Q(paid_on__isnull=True))
            names["open"] = "unpaid"
    totals = queryset.aggregate(**sums)
    return {names.get(key, key): value if value is not None else 0 for key, value in totals.items()}


def invoice_totals_by_currency(
    queryset: QuerySet[Any], *, today: datetime.date | None = None
) -> list[dict[str, Any]]:
    """Under a list of invoices, per currency (most invoiced first): invoices, total amount, unpaid and
    overdue (unpaid past the due date) amounts, and disputed invoices — one grouped aggregate query, so
    amounts in different currencies are never added together."""
    today = today or timezone.now().date()
    unpaid = Q(paid_on__isnull=True)
    rows = (
        queryset.order_by()
        .values("currency")
        .annotate(
            invoices=Count("id"),
            total=Sum("amount"),
            unpaid=Sum("amount", filter=unpaid),
            overdue=Sum("amount", filter=unpaid & Q(due_on__lt=today)),
            disputed=Count("id", filter=Q(disputed=True)),
        )
    )
    zero = Decimal("0.00")
    out = [{**row, **{k: row[k] or zero for k in ("total", "unpaid", "overdue")}} for row in rows]
    return sorted(out, key=lambda row: (-row["total"], row["currency"]))


def partner_options(*, actor: Actor) -> list[tuple[str, str]]:
    """(public id, name) of the live partners the actor may see, by name: the pages' partner filter."""
    rows = Partner.objects.filter(archived_at__isnull=True).order_by("name").values_list("public_id", "name")
    return [(str(public_id), name) for public_id, name in rows]


__all__ = [
    "can_read",
    "invoice_totals_by_currency",
    "partner_options",
    "record_get",
    "record_list",
    "record_totals",
]
