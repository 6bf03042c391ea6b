"""Reads for referral tracking. Everything runs through the scoped managers: partner users see their own
partner's links, coupons and conversions only; anything else answers DoesNotExist (404), like a missing
row. Counts on pages come from the rollups (per partner) and from one grouped query per page (per link)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from openprm.activity.models import Click, Conversion, Coupon, PartnerDayMetric, TrackingLink
from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm


@dataclass
class ReferralFilters:
    partner: str = ""  # partner public id
    status: str = ""  # conversion status
    kind: str = ""  # conversion kind
    q: str = ""  # link code / campaign, or conversion customer id

    @classmethod
    def from_mapping(cls, data: Any) -> ReferralFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)


def link_list(*, actor: Actor, filters: ReferralFilters | None = None) -> QuerySet[TrackingLink]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or ReferralFilters()
    queryset = TrackingLink.objects.select_related("partner", "program")
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.q:
        queryset = queryset.filter(Q(code__icontains=filters.q) | Q(campaign__icontains=filters.q))
    return queryset.order_by("-created_at", "-id")


def link_get(*, actor: Actor, public_id: Any) -> TrackingLink:
    actor.require(Perm.PARTNER_VIEW)
    return TrackingLink.objects.select_related("partner", "program").get(public_id=parse_uuid(str(public_id)))


def link_click_counts(*, actor: Actor, links: list[TrackingLink]) -> dict[int, int]:
    """Clicks per link for the links shown (one grouped query, narrowed by the partner index)."""
    if not links:
        return {}
    rows = (
        Click.objects.filter(
            partner_id__in={link.partner_id for link in links}, link_id__in=[link.pk for link in links]
        )
        .order_by()
        .values("link_id")
        .annotate(n=Count("id"))
    )
    return {row["link_id"]: row["n"] for row in rows}


def link_conversion_counts(*, actor: Actor, links: list[TrackingLink]) -> dict[int, int]:
    """Accepted conversions that came through each link's clicks or named the link."""
    if not links:
        return {}
    ids = [link.pk for link in links]
    rows = (
        Conversion.objects.filter(
            Q(link_id__in=ids) | Q(click__link_id__in=ids), status=Conversion.Status.ACCEPTED
        )
        .exclude(kind=Conversion.Kind.REFUND)
        .values_list("link_id", "click__link_id")
    )
    counts: dict[int, int] = {}
    for link_id, click_link_id in rows:
        key = link_id if link_id in ids else click_link_id
        counts[key] = counts.get(key, 0) + 1
    return counts


def coupon_list(*, actor: Actor, filters: ReferralFilters | None = None) -> QuerySet[Coupon]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or ReferralFilters()
    queryset = Coupon.objects.select_related("partner", "program")
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.q:
        queryset = queryset.filter(code__icontains=filters.q)
    return queryset.order_by("code", "id")


def coupon_get(*, actor: Actor, public_id: Any) -> Coupon:
    actor.require(Perm.PARTNER_VIEW)
    return Coupon.objects.select_related("partner", "program").get(public_id=parse_uuid(str(public_id)))


def conversion_list(*, actor: Actor, filters: ReferralFilters | None = None) -> QuerySet[Conversion]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or ReferralFilters()
    queryset = Conversion.objects.select_related("partner", "program", "click", "link", "coupon", "refund_of")
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.q:
        queryset = queryset.filter(customer_external_id=filters.q)
    return queryset.order_by("-occurred_at", "-id")


def conversion_get(*, actor: Actor, public_id: Any) -> Conversion:
    actor.require(Perm.PARTNER_VIEW)
    return Conversion.objects.select_related(
        "partner", "program", "click", "link", "coupon", "refund_of"
    ).get(public_id=parse_uuid(str(public_id)))


@dataclass(frozen=True)
class ReferralTotals:
    clicks: int
    conversions: int  # signups + purchases + recurring payments (accepted)
    revenue: Decimal  # purchases + recurring payments − refunds (accepted)


def referral_totals(
    *, actor: Actor, since: datetime.date | None = None, partner_ids: list[int] | None = None
) -> dict[int, ReferralTotals]:
    """Per partner, from the rollups: clicks, conversions and net revenue since ``since`` (or ever)."""
    actor.require(Perm.PARTNER_VIEW)
    kinds = [k for k in Conversion.Kind.values if k != Conversion.Kind.REFUND]
    metrics = [
        "clicks",
        *(f"conversions.{k}" for k in kinds),
        *(f"conversions.{k}.amount" for k in kinds[1:]),
    ]
    metrics.append("conversions.refund.amount")
    queryset = PartnerDayMetric.objects.filter(metric__in=metrics)
    if since is not None:
        queryset = queryset.filter(day__gte=since)
    if partner_ids is not None:
        queryset = queryset.filter(partner_id__in=partner_ids)
    rows = queryset.order_by().values("partner_id", "metric").annotate(total=Sum("value"))
    clicks: dict[int, Decimal] = {}
    conversions: dict[int, Decimal] = {}
    revenue: dict[int, Decimal] = {}
    for row in rows:
        partner_id, metric, total = row["partner_id"], row["metric"], row["total"] or Decimal(0)
        if metric == "clicks":
            clicks[partner_id] = clicks.get(partner_id, Decimal(0)) + total
        elif metric == "conversions.refund.amount":
            revenue[partner_id] = revenue.get(partner_id, Decimal(0)) - total
        elif metric.endswith(".amount"):
            revenue[partner_id] = revenue.get(partner_id, Decimal(0)) + total
        else:
            conversions[partner_id] = conversions.get(partner_id, Decimal(0)) + total
    return {
        p: ReferralTotals(
            clicks=int(clicks.get(p, 0)),
            conversions=int(conversions.get(p, 0)),
            revenue=revenue.get(p, Decimal(0)),
        )
        for p in {*clicks, *conversions, *revenue}
    }


def flagged_count(*, actor: Actor) -> int:
    actor.require(Perm.PARTNER_VIEW)
    return Conversion.objects.filter(status=Conversion.Status.FLAGGED).count()
