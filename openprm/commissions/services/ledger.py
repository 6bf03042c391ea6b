"""Ledger writes besides accrual: approve / reject (bulk), hold release, manual adjustments, marking
entries paid. Entries are never edited: only their state columns move forward (database guard), with a
queryset ``update`` of exactly those columns; every decision is audited."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry, PayoutItem, Plan
from openprm.core.actors import Actor
from openprm.core.audit import audit_record
from openprm.core.bulk import uuid4_hex
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.partners.models import Partner

STATE = LedgerEntry.State
MAX_BULK = 5000


def _audit_states(
    actor: Actor, ids: list[int], before: str, after: str, extra: dict[str, str] | None = None
) -> None:
    for entry in LedgerEntry.objects.filter(pk__in=ids).only(
        "id", "public_id", "partner_id", "kind", "amount", "currency"
    ):
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=entry,
            before={"state": before},
            after={"state": after, **(extra or {})},
            partner_id=entry.partner_id,
        )


@transaction.atomic
def entries_approve(*, actor: Actor, ids: list[int]) -> int:
    """Approve pending entries before their hold ends (finance, bulk). Returns how many moved."""
    actor.require(Perm.COMMISSION_APPROVE)
    if len(ids) > MAX_BULK:
        raise ValidationError(f"At most {MAX_BULK} entries at a time.")
    rows = LedgerEntry.objects.select_for_update().filter(pk__in=ids, state=STATE.PENDING)
    moving = list(rows.values_list("pk", flat=True))
    LedgerEntry.objects.filter(pk__in=moving).update(
        state=STATE.APPROVED, approved_at=timezone.now(), approved_by_id=actor.user_id
    )
    _audit_states(actor, moving, STATE.PENDING, STATE.APPROVED)
    return len(moving)


def _dependents(ids: list[int]) -> list[int]:
    """The rows that hang on ``ids`` (their reversals, clawbacks and overrides, and theirs in turn), not
    rejected yet: they go with them. One already paid or reserved for a payout refuses the rejection."""
    found: list[int] = []
    seen = set(ids)
    frontier = list(ids)
    while frontier:
        rows = list(
            LedgerEntry.objects.select_for_update()
            .filter(Q(reverses_id__in=frontier) | Q(derived_from_id__in=frontier))
            .exclude(state=STATE.REJECTED)
            .values_list("pk", "public_id", "state", "paid_item_id")
        )
        frontier = []
        for pk, public_id, state, paid_item in rows:
            if state == STATE.PAID or paid_item is not None:
                raise ValidationError(
                    f"Entry {public_id} depends on this one and is already paid or in a payout run: "
                    "reject refused (post an adjustment instead)."
                )
            if pk not in seen:
                seen.add(pk)
                found.append(pk)
                frontier.append(pk)
    return found


def _true_ups(ids: list[int]) -> list[int]:
    """The true-ups the commissions among ``ids`` brought (the same key stem and rule, ``:trueup``), not
    rejected yet: a retroactive tier's lift of the period's earlier volume is part of the commission that
    crossed the bracket, so it goes with it. One already paid or reserved refuses the rejection."""
    anchors = LedgerEntry.objects.filter(
        pk__in=ids, kind__in=[LedgerEntry.Kind.ACCRUAL, LedgerEntry.Kind.BONUS], reverses__isnull=True
    ).values_list("workspace_id", "idempotency_key", "rule_key")
    wanted = {(ws, f"{key}:trueup", rule) for ws, key, rule in anchors}
    if not wanted:
        return []
    rows = (
        LedgerEntry.objects.select_for_update()
        .filter(
            workspace_id__in=sorted({ws for ws, _, _ in wanted}),
            idempotency_key__in=sorted({key for _, key, _ in wanted}),
            kind=LedgerEntry.Kind.ADJUSTMENT,
        )
        .exclude(state=STATE.REJECTED)
        .values_list(
            "pk", "public_id", "workspace_id", "idempotency_key", "rule_key", "state", "paid_item_id"
        )
    )
    found: list[int] = []
    taken = set(ids)
    for pk, public_id, ws, key, rule, state, paid_item in rows:
        if (ws, key, rule) not in wanted or pk in taken:
            continue
        if state == STATE.PAID or paid_item is not None:
            raise ValidationError(
                f"Entry {public_id} (the true-up this commission brought) is already paid or in a payout "
                "run: reject refused (post an adjustment instead)."
            )
        found.append(pk)
    return found


@transaction.atomic
def entries_reject(*, actor: Actor, ids: list[int], reason: str) -> int:
    """Reject pending or approved (unpaid) entries with a reason. Returns how many moved."""
    actor.require(Perm.COMMISSION_APPROVE)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why (the partner reads it)."})
    if len(ids) > MAX_BULK:
        raise ValidationError(f"At most {MAX_BULK} entries at a time.")
    rows = LedgerEntry.objects.select_for_update().filter(
        pk__in=ids, state__in=[STATE.PENDING, STATE.APPROVED], paid_item__isnull=True
    )
    moving = list(rows.values_list("pk", flat=True))
    moving += _true_ups(moving)
    moving += _dependents(moving)
    LedgerEntry.objects.filter(pk__in=moving).update(
        state=STATE.REJECTED, rejected_at=timezone.now(), rejected_reason=reason[:300]
    )
    _audit_states(actor, moving, "pending/approved", STATE.REJECTED, {"reason": reason[:300]})
    return len(moving)


def holds_release(*, workspace_id: int, today: datetime.date | None = None) -> int:
    """Approve every pending entry whose hold ended (the refund window passed). Returns the count."""
    from openprm.commissions.services.accrual import workspace_scope

    today = today or timezone.localdate()
    with workspace_scope(workspace_id), transaction.atomic():
        rows = LedgerEntry.objects.filter(
            workspace_id=workspace_id, state=STATE.PENDING, hold_until__lte=today
        )
        return rows.update(state=STATE.APPROVED, approved_at=timezone.now())


@transaction.atomic
def adjustment_create(
    *,
    actor: Actor,
    partner: Partner,
    plan: Plan,
    amount: Decimal,
    reason: str,
    occurred_on: datetime.date | None = None,
) -> LedgerEntry:
    """A manual adjustment (positive or negative) in the plan's currency, pending like any entry."""
    actor.require(Perm.COMMISSION_APPROVE)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why."})
    amount = engine.cents(Decimal(amount))
    if not amount:
        raise ValidationError({"amount": "Not zero."})
    day = occurred_on or timezone.localdate()
    at = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    key = f"manual:{uuid4_hex()}"
    entry = LedgerEntry.objects.create(
        workspace_id=actor.workspace_id,
        partner=partner,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        source_kind=LedgerEntry.Source.MANUAL,
        idempotency_key=key,
        plan=plan,
        occurred_at=at,
        period=day.replace(day=1),
        base_amount=amount,
        base_currency=plan.currency,
        amount=amount,
        currency=plan.currency,
        explanation={"detail": reason[:300], "by": actor.label},
        note=reason[:300],
        hold_until=day + datetime.timedelta(days=plan.hold_days),
        created_by_id=actor.user_id,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=entry,
        after={"amount": str(amount), "currency": plan.currency, "reason": reason[:300]},
        partner_id=partner.pk,
    )
    return entry


@transaction.atomic
def entries_mark_paid(*, actor: Actor, item: PayoutItem, ids: list[int]) -> int:
    """Approved entries paid by ``item`` (approved → paid, the item recorded once)."""
    actor.require(Perm.PAYOUT_MANAGE)
    rows = LedgerEntry.objects.filter(pk__in=ids, partner_id=item.partner_id, state=STATE.APPROVED)
    rows = rows.filter(paid_item__isnull=True) | rows.filter(paid_item=item)
    return LedgerEntry.objects.filter(pk__in=list(rows.values_list("pk", flat=True))).update(
        state=STATE.PAID, paid_item=item, paid_at=timezone.now()
    )
