"""Payout runs and payout details as read. Runs are staff-only (partner users get none: the model is
``SCOPE_STAFF_ONLY``); a run's items are scoped by partner (restricted staff see their own partners'
items only). A partner's payout details come back masked (``services.details.DetailsView``): the portal
calls ``payout_details_get(actor=..., partner_id=actor.partner_id)`` and ``payout_history(actor=...)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Count, QuerySet, Sum

from openprm.commissions.models import PayoutDetails, PayoutItem, PayoutRun
from openprm.commissions.services.details import DetailsView, details_view, payment_fields
from openprm.core.actors import Actor


def run_list(*, actor: Actor, status: str = "", currency: str = "") -> QuerySet[PayoutRun]:
    """Runs, newest first, with their item counts (staff)."""
    del actor  # scoped by the active scope; partner users get an empty list
    queryset = (
        PayoutRun.objects.select_related("created_by")
        .annotate(items_count=Count("items"))
        .order_by("-created_at", "-id")
    )
    if status:
        queryset = queryset.filter(status=status)
    if currency:
        queryset = queryset.filter(currency=currency.upper()[:3])
    return queryset


def run_get(*, actor: Actor, public_id: uuid.UUID | str) -> PayoutRun:
    """One run (``PayoutRun.DoesNotExist`` when missing or out of scope)."""
    del actor
    return PayoutRun.objects.select_related("created_by").get(public_id=public_id)


def run_items(*, actor: Actor, run: PayoutRun) -> QuerySet[PayoutItem]:
    """The run's items the actor may see: payable first, then by partner name."""
    del actor
    return run.items.select_related("partner").order_by("status", "partner__name", "id")


def details_changed(*, actor: Actor, items: Iterable[PayoutItem]) -> dict[int, str]:
    """Item id → the partner's details now (masked) for each item whose sealed copy is no longer the
    partner's details (another method, currency, holder or account; "removed" when they have none).
    The tax id alone does not count: it is not part of a payment."""
    del actor
    sealed = [i for i in items if i.method and i.details_secret]
    if not sealed:
        return {}
    now = {
        d.partner_id: d for d in PayoutDetails.objects.filter(partner_id__in={i.partner_id for i in sealed})
    }
    out: dict[int, str] = {}
    for item in sealed:
        own = now.get(item.partner_id)
        if own is None:
            out[item.pk] = "removed"
        elif (own.method, own.currency, own.holder_name[:200], own.display[:120]) != (
            item.method,
            item.details_currency,
            item.details_holder,
            item.details_display,
        ) or (
            own.updated_at != item.details_at
            and payment_fields(own.secret) != payment_fields(item.details_secret)
        ):
            out[item.pk] = own.display
    return out


def payout_history(*, actor: Actor, partner_id: int | None = None) -> QuerySet[PayoutItem]:
    """Paid and pending payments (not skipped ones), newest first: a partner user gets their own."""
    del actor
    queryset = (
        PayoutItem.objects.exclude(status=PayoutItem.Status.SKIPPED)
        .exclude(run__status=PayoutRun.Status.CANCELLED)
        .select_related("partner", "run")
        .order_by("-created_at", "-id")
    )
    return queryset.filter(partner_id=partner_id) if partner_id is not None else queryset


def paid_totals(*, actor: Actor, partner_ids: Iterable[int]) -> dict[tuple[int, str], object]:
    """(partner, currency) → the total paid to them."""
    del actor
    rows = (
        PayoutItem.objects.filter(status=PayoutItem.Status.PAID, partner_id__in=list(partner_ids))
        .values("partner_id", "currency")
        .annotate(total=Sum("amount"))
    )
    return {(r["partner_id"], r["currency"]): r["total"] for r in rows}


def payout_details_get(*, actor: Actor, partner_id: int) -> DetailsView:
    """A partner's payout details, masked (``exists=False`` when none, or out of the actor's scope)."""
    del actor
    return details_view(PayoutDetails.objects.filter(partner_id=partner_id).first())


def payout_details_list(*, actor: Actor) -> QuerySet[PayoutDetails]:
    """Every visible partner's payout details row (for staff pages): masked fields only are shown."""
    del actor
    return PayoutDetails.objects.select_related("partner").order_by("partner__name")
