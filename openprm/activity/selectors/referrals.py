"""Reads for referral tracking. Everything runs through the scoped managers: partner users see their own
partner's links, coupons and conversions only; anything else answers DoesNotExist (404), like a missing
row. Counts on pages come from the rollups (per partner) and from one grouped query per page (per link)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from openprm.activity.models import Click, Conversion, Coupon, TrackingLink
from openprm.activity.rollups import read
from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.partners.models import Program


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
    if since is None:
        found = read.stock(
            actor.workspace_id, metrics=metrics, on_or_before=datetime.date.max, partner_ids=partner_ids
        )
    else:
        found = read.sums(
            actor.workspace_id, start=since, end=datetime.date.max, metrics=metrics, partner_ids=partner_ids
        )
    clicks: dict[int, Decimal] = {}
    conversions: dict[int, Decimal] = {}
    revenue: dict[int, Decimal] = {}
    for partner_id, values in found.items():
        for metric, total in values.items():
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


# --- allowed destination hosts ------------------------------------------------------------------------------

# The host of a stored destination, read the same way here and in the redirect's SQL (PostgreSQL): after
# the scheme, past any ``user:password@``, up to the first ``/ ? # :`` (port). Lower-cased, not decoded:
# a destination with a non-ASCII host matches no (IDNA-encoded) allowed host and is refused both ways.
HOST_OF_URL = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#]*@)?([^/?#:@]*)"
_HOST_OF_URL = re.compile(HOST_OF_URL)


def destination_host(url: str) -> str:
    """The host a stored destination leads to, as the redirect compares it (see HOST_OF_URL)."""
    match = _HOST_OF_URL.match(url)
    return match.group(1).lower() if match else ""


def host_allowed(url: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """Whether ``url`` leads to one of ``allowed`` or a subdomain of one (exact labels: ``evil-x.com``
    and ``x.com.evil.com`` are not ``x.com``)."""
    host = destination_host(url)
    return bool(host) and any(host == h or host.endswith("." + h) for h in allowed)


def effective_hosts(workspace_hosts: Any, program_hosts: Any) -> list[str]:
    """The hosts a link may lead to: its program's list when non-empty, else its workspace's."""
    return list(program_hosts or ()) or list(workspace_hosts or ())


def tracking_hosts_for(*, workspace_id: int, program: Program | None) -> list[str]:
    """The hosts a link of ``program`` (or of no program) may lead to: the program's list when it is
    non-empty, else the workspace's (an allowed host also allows its subdomains; empty: none)."""
    with unscoped():
        workspace_hosts = (
            Workspace.objects.filter(pk=workspace_id).values_list("tracking_allowed_hosts", flat=True).first()
        )
    return effective_hosts(workspace_hosts, program.tracking_allowed_hosts if program is not None else None)


@dataclass(frozen=True)
class ProgramHosts:
    program: Program
    hosts: list[str]  # the program's own list (empty: the workspace's apply)
    effective: list[str]


@dataclass(frozen=True)
class TrackingHosts:
    workspace: list[str]
    programs: list[ProgramHosts]

    @property
    def configured(self) -> bool:
        """Whether any link can lead anywhere."""
        return bool(self.workspace) or any(p.hosts for p in self.programs)


def tracking_hosts_get(*, actor: Actor) -> TrackingHosts:
    """Staff: the workspace's allowed hosts and each program's own list and effective list."""
    actor.require(Perm.PARTNER_VIEW)
    with unscoped():
        workspace = Workspace.objects.get(pk=actor.workspace_id)
    hosts = list(workspace.tracking_allowed_hosts or [])
    programs = [
        ProgramHosts(
            program=program,
            hosts=list(program.tracking_allowed_hosts or []),
            effective=effective_hosts(hosts, program.tracking_allowed_hosts),
        )
        for program in Program.objects.order_by("-is_default", "name")
    ]
    return TrackingHosts(workspace=hosts, programs=programs)


def links_outside_hosts(*, actor: Actor, hosts: TrackingHosts | None = None) -> list[int]:
    """Ids of the active links (newest first) whose destination is outside their allowed hosts: the
    redirect refuses them. One narrow read of (id, destination, program) over the links in scope, checked
    in Python with the redirect's own rule; the page then loads one page of rows by id."""
    hosts = hosts or tracking_hosts_get(actor=actor)
    by_program = {p.program.pk: p.effective for p in hosts.programs}
    rows = (
        TrackingLink.objects.filter(is_active=True)
        .order_by("-created_at", "-id")
        .values_list("pk", "destination", "program_id")
    )
    return [
        pk
        for pk, destination, program_id in rows.iterator(chunk_size=5000)
        if not host_allowed(destination, by_program.get(program_id, hosts.workspace))
    ]


def links_by_ids(*, actor: Actor, ids: list[int]) -> list[TrackingLink]:
    """The links ``ids`` (one page) in that order, with partner and program."""
    actor.require(Perm.PARTNER_VIEW)
    found = TrackingLink.objects.select_related("partner", "program").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]
