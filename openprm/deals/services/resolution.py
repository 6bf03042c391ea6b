"""Writes that settle who sells to a customer: co-sellers on a deal, and staff resolving a conflict
between two partners' registrations (approve one and reject the other, co-sell, or dismiss)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.models import ConflictStatus, Deal, DealConflict, DealCoSeller
from openprm.deals.rollups import deals_tracked
from openprm.deals.selectors import deals_visible
from openprm.deals.services.approval import UNDECIDED, deal_approve, deal_reject
from openprm.partners.models import Partner


@transaction.atomic
def deal_add_co_seller(*, actor: Actor, deal: Deal, partner_id: int, role: str) -> DealCoSeller:
    """Add (or change the role of) a partner co-selling ``deal``; archived partners take no new business."""
    if role not in DealCoSeller.Role.values:
        raise ValidationError({"co_sellers": f"Unknown co-sell role '{role}'."})
    if partner_id == deal.partner_id:
        raise ValidationError({"co_sellers": "The registering partner cannot also be its co-seller."})
    with unscoped():
        co_partner = Partner.objects.filter(pk=partner_id, workspace_id=deal.workspace_id).first()
        if co_partner is None:
            raise ValidationError({"co_sellers": "Unknown co-sell partner."})
        if co_partner.archived_at:
            raise ValidationError({"co_sellers": co_partner.archived_message})
        with deals_tracked(deal.workspace_id, [deal.pk]):  # co-sold wins count for the co-seller
            co_seller, _ = DealCoSeller.objects.update_or_create(
                workspace_id=deal.workspace_id, deal=deal, partner_id=partner_id, defaults={"role": role}
            )
    return co_seller


@dataclass(frozen=True)
class Resolution:
    APPROVE_THIS = "approve_this"  # approve conflict.deal, reject conflict.other
    APPROVE_OTHER = "approve_other"  # approve conflict.other, reject conflict.deal
    CO_SELL = "co_sell"  # keep both: the later registration becomes a co-seller of the first-in deal
    DISMISS = "dismiss"  # not the same customer


def _require_resolvable(actor: Actor, conflict: DealConflict) -> None:
    """Staff who may see both registrations resolve an open conflict."""
    actor.require(Perm.PARTNER_EDIT)
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor resolves conflicts")
    if conflict.status != ConflictStatus.OPEN:
        raise ValidationError({"resolution": "This conflict is already resolved."})
    if deals_visible(actor=actor, deal_ids=[conflict.deal_id, conflict.other_id]) != {
        conflict.deal_id,
        conflict.other_id,
    }:
        raise PermissionDenied(
            "This conflict involves a registration of a partner you do not own: "
            "ask that partner's owner or an admin to resolve it."
        )


def _approve_one(actor: Actor, winner: Deal, loser: Deal, reason: str) -> None:
    if not reason:
        raise ValidationError({"reason": "Give the rejected partner a reason."})
    with unscoped():  # the loser first: a rejected rival no longer blocks the winner's approval
        if loser.approval_status in UNDECIDED:
            deal_reject(actor=actor, deal=loser, reason=reason)
        if winner.approval_status in UNDECIDED:
            deal_approve(actor=actor, deal=winner)


@transaction.atomic
def conflict_resolve(
    *, actor: Actor, conflict: DealConflict, resolution: str, reason: str = ""
) -> DealConflict:
    """Staff settle a conflict: approve one registration and reject the other with a reason, or co-sell."""
    _require_resolvable(actor, conflict)
    reason = (reason or "").strip()[:2000]
    with unscoped():
        deal, other = Deal.objects.get(pk=conflict.deal_id), Deal.objects.get(pk=conflict.other_id)
    if resolution in (Resolution.APPROVE_THIS, Resolution.APPROVE_OTHER):
        winner, loser = (deal, other) if resolution == Resolution.APPROVE_THIS else (other, deal)
        _approve_one(actor, winner, loser, reason)
        status = ConflictStatus.RESOLVED
    elif resolution == Resolution.CO_SELL:
        first, later = (other, deal) if other.registered_at <= deal.registered_at else (deal, other)
        deal_add_co_seller(
            actor=actor, deal=first, partner_id=later.partner_id, role=DealCoSeller.Role.CO_SELL
        )
        status = ConflictStatus.CO_SELL
    elif resolution == Resolution.DISMISS:
        status = ConflictStatus.DISMISSED
    else:
        raise ValidationError({"resolution": "Choose approve_this, approve_other, co_sell or dismiss."})
    conflict.status = status
    conflict.resolved_at = timezone.now()
    conflict.resolved_by_label = actor.label
    conflict.resolution_note = reason
    conflict.save()
    return conflict
