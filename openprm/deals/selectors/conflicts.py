"""Reads of deal conflicts (possible duplicate registrations across partners). Conflicts are the vendor's
business: partner users never see one. Staff restricted to their own partners see a conflict when their
deal is on either side; callers mask the side they may not see (``deals_visible``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.models import ApprovalStatus, ConflictStatus, Deal, DealConflict, Outcome


def conflict_list(
    *, actor: Actor, deal: Deal | None = None, open_only: bool = False
) -> QuerySet[DealConflict]:
    """Conflicts are the vendor's business: staff only (partners never see other partners' deals)."""
    actor.require(Perm.PARTNER_VIEW)
    if actor.is_partner_user:
        return DealConflict.objects.none()
    access = actor.access_scope()
    if access.owner_id is not None:
        # Staff restricted to their own partners see a conflict when their deal is on EITHER side (the
        # scoped manager follows the registering side only); the other side is masked in the output.
        with unscoped():
            queryset = DealConflict.objects.filter(workspace_id=access.workspace_id).filter(
                Q(deal__partner__owner_id=access.owner_id) | Q(other__partner__owner_id=access.owner_id)
            )
    else:
        queryset = DealConflict.objects.all()
    queryset = queryset.select_related("deal__partner", "other__partner", "other__stage")
    if deal is not None:
        queryset = queryset.filter(Q(deal=deal) | Q(other=deal))
    if open_only:
        queryset = queryset.filter(status=ConflictStatus.OPEN)
    return queryset


def conflict_get(*, actor: Actor, public_id: Any) -> DealConflict:
    if actor.is_partner_user:
        raise DealConflict.DoesNotExist
    return conflict_list(actor=actor).get(public_id=parse_uuid(public_id))


def deal_conflicts(*, deal: Deal, open_only: bool = False) -> list[DealConflict]:
    """The conflicts ``deal`` is on either side of, each pair once (older data may hold both directions:
    the open row wins, then the latest). Workspace-wide: callers mask what the actor may not see."""
    with unscoped():
        rows = (
            DealConflict.objects.filter(workspace_id=deal.workspace_id)
            .filter(Q(deal=deal) | Q(other=deal))
            .select_related("deal__partner", "deal__stage", "other__partner", "other__stage")
            .order_by("-score", "id")
        )
        if open_only:
            rows = rows.filter(status=ConflictStatus.OPEN)
        conflicts = list(rows)
    best: dict[frozenset[int], DealConflict] = {}
    for conflict in conflicts:
        pair = frozenset((conflict.deal_id, conflict.other_id))
        kept = best.get(pair)
        if kept is None or (
            (conflict.status == ConflictStatus.OPEN, conflict.detected_at)
            > (kept.status == ConflictStatus.OPEN, kept.detected_at)
        ):
            best[pair] = conflict
    order = {id(c): i for i, c in enumerate(conflicts)}
    return sorted(best.values(), key=lambda c: order[id(c)])


def conflict_rival(conflict: DealConflict, deal: Deal) -> Deal:
    """The registration on the other side of ``conflict`` from ``deal``."""
    return conflict.other if conflict.deal_id == deal.pk else conflict.deal


def conflicts_blocking(*, deal: Deal) -> list[DealConflict]:
    """Open conflicts whose rival registration is still in play (not rejected or expired, not closed):
    approving ``deal`` while they stand would protect two partners for the same customer."""
    return [
        conflict
        for conflict in deal_conflicts(deal=deal, open_only=True)
        if conflict_rival(conflict, deal).approval_status
        not in (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)
        and conflict_rival(conflict, deal).stage.outcome == Outcome.OPEN
    ]


def with_open_conflict_counts(queryset: QuerySet[Deal]) -> QuerySet[Deal]:
    """Annotate ``conflicts_open`` (the deal on either side of an open conflict) in the list's one query."""

    def count(side: str) -> Coalesce:
        per_deal = (
            DealConflict.objects.filter(**{side: OuterRef("pk")}, status=ConflictStatus.OPEN)
            .order_by()
            .values(side)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(per_deal, output_field=IntegerField()), Value(0))

    return queryset.annotate(conflicts_open=count("deal") + count("other"))
