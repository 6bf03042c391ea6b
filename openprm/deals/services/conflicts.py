"""Conflict detection: a deal's customer is indexed by blocking keys, and other partners' open deals for the
same customer (as ``deals.matching`` judges it) are stored as ``DealConflict`` rows."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from openprm.core.audit import apply_values
from openprm.core.scoping import unscoped
from openprm.deals import matching
from openprm.deals.models import ApprovalStatus, CustomerKey, Deal, DealConflict, Outcome

CONFLICT_CANDIDATE_LIMIT = 200


def customer_index(*, workspace_id: int, customers: Iterable[tuple[str, Iterable[str]]]) -> None:
    """Add (blocking key → customer key) rows for ``customers`` [(customer_key, blocking keys)] to the
    conflict index; pairs already there are skipped, so callers need not know what is indexed."""
    with unscoped():
        CustomerKey.objects.bulk_create(
            (
                CustomerKey(workspace_id=workspace_id, key=key[:120], customer_key=customer)
                for customer, keys in customers
                for key in sorted(set(keys))
            ),
            batch_size=2_000,
            ignore_conflicts=True,
        )


def deal_index(deal: Deal) -> None:
    keys = matching.blocking_keys(deal.customer_name, deal.customer_domain)
    customer_index(workspace_id=deal.workspace_id, customers=[(deal.customer_key, keys)])


def conflicts_detect(*, deal: Deal) -> list[DealConflict]:
    """Score other partners' open registrations and pipeline deals for the same customer; store matches.

    Runs across the whole workspace whatever the actor may see: a partner must not learn of other
    partners' deals, but their registration must still be checked against them.
    """
    keys = list(matching.blocking_keys(deal.customer_name, deal.customer_domain))
    found: list[DealConflict] = []
    with unscoped():
        keyed = CustomerKey.objects.filter(workspace_id=deal.workspace_id, key__in=keys).values(
            "customer_key"
        )
        candidates = (  # the cap applies to open deals of other partners, however much closed history exists
            Deal.objects.filter(workspace_id=deal.workspace_id, customer_key__in=keyed)
            .exclude(partner_id=deal.partner_id)
            .filter(stage__outcome=Outcome.OPEN)
            .exclude(approval_status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED])
            .select_related("partner")
            .order_by("-registered_at")[:CONFLICT_CANDIDATE_LIMIT]
        )
        for other in candidates:
            result = matching.compare(
                name_a=deal.customer_name,
                domain_a=deal.customer_domain,
                name_b=other.customer_name,
                domain_b=other.customer_domain,
            )
            if not result.is_conflict:
                continue
            reasons = list(result.reasons)
            if other.approval_status == ApprovalStatus.APPROVED:
                reasons.append(f"{other.partner.name} holds an approved registration (in the pipeline)")
            else:
                reasons.append(f"{other.partner.name} has an open registration awaiting a decision")
            values = {"score": Decimal(str(round(result.score, 4))), "reasons": reasons}
            # One row per pair: a re-check of the earlier deal (an edit) updates the row its later rival
            # created instead of storing the pair a second time in the other direction.
            reverse = DealConflict.objects.filter(
                workspace_id=deal.workspace_id, deal=other, other=deal
            ).first()
            if reverse is not None:
                apply_values(reverse, values)
                reverse.save(update_fields=list(values))
                found.append(reverse)
                continue
            conflict, _ = DealConflict.objects.update_or_create(
                workspace_id=deal.workspace_id, deal=deal, other=other, defaults=values
            )
            found.append(conflict)
    return found
