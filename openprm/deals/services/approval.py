"""Writes for the vendor's decision on a registration: approve (its protection window starts), reject,
ask for more information, and expire approvals whose protection window ended without progress. The
registering partner's managers (and the rep who registered) are notified of each decision."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openprm.accounts.models import Membership
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.models import ApprovalStatus, Deal, DealConflict, Outcome
from openprm.deals.rollups import deals_tracked
from openprm.deals.selectors import conflict_rival, conflicts_blocking, deals_visible
from openprm.notifications.services import notify

UNDECIDED = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO)


class OpenConflicts(ValidationError):
    """Approval refused: the registration has open conflicts (the API answers 409 ``open_conflicts``)."""

    def __init__(self, message: str, conflicts: list[dict[str, Any]]) -> None:
        super().__init__({"override_conflicts": [message]})
        self.conflicts = conflicts
        self.summary = message


def _notify_partner(deal: Deal, kind: str, title: str, body: str, severity: str = "info") -> None:
    """Tell the partner's admins and managers and the rep who registered the deal (in-app, and by e-mail
    per their preferences: ``notifications.notify``)."""
    with unscoped():
        user_ids = set(
            Membership.objects.filter(partner_id=deal.partner_id, is_active=True)
            .filter(Q(role__in=["partner_admin", "partner_manager"]) | Q(user_id=deal.registered_by_id))
            .values_list("user_id", flat=True)
        )
    notify(
        workspace_id=deal.workspace_id,
        kind=kind,
        severity=severity,
        title=title,
        body=body,
        link=f"/portal/deals/{deal.public_id}/",
        users=sorted(user_ids),
        partner_id=deal.partner_id,
    )


def _describe_conflicts(actor: Actor, deal: Deal, conflicts: list[DealConflict]) -> list[dict[str, Any]]:
    """Each blocking conflict in words; a rival the actor may not see is named as such, nothing more."""
    visible = deals_visible(actor=actor, deal_ids=[conflict_rival(c, deal).pk for c in conflicts])
    described = []
    for conflict in conflicts:
        rival = conflict_rival(conflict, deal)
        if rival.pk in visible:
            text = (
                f"{rival.partner.name}: {rival.customer_name} ({rival.currency} {rival.amount:,.2f}, "
                f"{rival.get_approval_status_display().lower()}), match {round(conflict.score * 100)}%"
            )
        else:
            text = "a registration of a partner you do not own (ask its owner or an admin)"
        described.append({"conflict": str(conflict.public_id), "visible": rival.pk in visible, "text": text})
    return described


def _require_decidable(actor: Actor, deal: Deal) -> None:
    actor.require(Perm.PARTNER_EDIT)
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor decides registrations")
    if deal.approval_status not in UNDECIDED:
        raise ValidationError(
            {"approval_status": f"This registration is already {deal.get_approval_status_display().lower()}."}
        )


def _decide(actor: Actor, deal: Deal, status: str, note: str) -> Deal:
    _require_decidable(actor, deal)
    now = timezone.now()
    tracked = deals_tracked(deal.workspace_id, [deal.pk])  # rejected registrations leave the figures
    with tracked, audited_change(actor=actor, instance=deal, partner_id=deal.partner_id):
        deal.approval_status = status
        deal.decided_at = now
        deal.decision_note = note
        if status == ApprovalStatus.APPROVED:
            deal.approved_at = now
            deal.protection_expires_at = now + datetime.timedelta(days=deal.program.protection_days)
        deal.save()
    return deal


def _check_conflicts(
    actor: Actor, deal: Deal, *, override_conflicts: bool, override_reason: str
) -> list[DealConflict]:
    """The conflicts that block approving ``deal``, once the approver may override them: refused with
    :class:`OpenConflicts` without an override, with PermissionDenied when a rival is out of the actor's
    sight (nobody overrides what they may not see), and without a reason."""
    blocking = conflicts_blocking(deal=deal)
    if not blocking:
        return []
    described = _describe_conflicts(actor, deal, blocking)
    if not override_conflicts:
        count = len(blocking)
        message = (
            f"This registration has {count} open conflict{'s' if count != 1 else ''}: "
            + "; ".join(d["text"] for d in described)
            + ". Resolve them first (approve this and reject the other, co-sell, or not a conflict), "
            "or approve anyway with a reason for overriding them."
        )
        raise OpenConflicts(message, described)
    if any(not d["visible"] for d in described):
        raise PermissionDenied(
            "A conflict is with a registration of a partner you do not own: ask its owner or an admin "
            "to resolve it before this registration is approved."
        )
    if not override_reason or "\x00" in override_reason:
        raise ValidationError(
            {"override_reason": "Say why this registration is approved despite its conflicts."}
        )
    return blocking


@transaction.atomic
def deal_approve(
    *,
    actor: Actor,
    deal: Deal,
    note: str = "",
    override_conflicts: bool = False,
    override_reason: str = "",
) -> Deal:
    """Approve a registration. Open conflicts with registrations still in play refuse the approval
    (:class:`OpenConflicts`) unless they are resolved first (reject the other, co-sell, dismiss) or the
    approver overrides them with a reason, which is audited on the deal."""
    _require_decidable(actor, deal)
    override_reason = (override_reason or "").strip()[:2000]
    blocking = _check_conflicts(
        actor, deal, override_conflicts=override_conflicts, override_reason=override_reason
    )
    deal = _decide(actor, deal, ApprovalStatus.APPROVED, note.strip()[:2000])
    if blocking:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=deal,
            after={
                "conflicts_overridden": len(blocking),
                "override_reason": override_reason,
            },
            partner_id=deal.partner_id,
        )
    protected = deal.protection_expires_at.date().isoformat() if deal.protection_expires_at else "—"
    _notify_partner(
        deal, "deal.approved", f"Deal approved: {deal.customer_name}", f"Protected until {protected}."
    )
    return deal


@transaction.atomic
def deal_reject(*, actor: Actor, deal: Deal, reason: str) -> Deal:
    """Reject a registration with a reason the partner sees."""
    reason = (reason or "").strip()
    if not reason or "\x00" in reason:
        raise ValidationError({"reason": "Give the partner a reason for the rejection."})
    deal = _decide(actor, deal, ApprovalStatus.REJECTED, reason[:2000])
    _notify_partner(deal, "deal.rejected", f"Deal rejected: {deal.customer_name}", reason, "warning")
    return deal


@transaction.atomic
def deal_request_info(*, actor: Actor, deal: Deal, message: str) -> Deal:
    """Ask the partner for more information; their next edit resubmits the registration."""
    message = (message or "").strip()
    if not message or "\x00" in message:
        raise ValidationError({"message": "Say what information you need."})
    deal = _decide(actor, deal, ApprovalStatus.MORE_INFO, message[:2000])
    deal.decided_at = None
    deal.save(update_fields=["decided_at"])
    _notify_partner(
        deal, "deal.more_info", f"More information needed: {deal.customer_name}", message, "warning"
    )
    return deal


@transaction.atomic
def deals_expire(*, workspace_id: int, now: datetime.datetime | None = None) -> int:
    """Expire approved registrations whose protection window ended without any stage progress."""
    now = now or timezone.now()
    with unscoped():
        stale = Deal.objects.filter(
            workspace_id=workspace_id,
            approval_status=ApprovalStatus.APPROVED,
            protection_expires_at__lt=now,
            stage__order=1,
            stage__outcome=Outcome.OPEN,
        )
        system = Actor.system(workspace_id, label="protection-window expiry")
        count = 0
        for deal in stale.select_related("program"):
            tracked = deals_tracked(workspace_id, [deal.pk])  # expired registrations leave the figures
            with tracked, audited_change(actor=system, instance=deal, partner_id=deal.partner_id):
                deal.approval_status = ApprovalStatus.EXPIRED
                deal.save(update_fields=["approval_status", "updated_at"])
            _notify_partner(
                deal,
                "deal.expired",
                f"Registration expired: {deal.customer_name}",
                "The protection window ended without progress. Register it again if it is live.",
            )
            count += 1
    return count
