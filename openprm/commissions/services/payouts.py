"""Payout runs: per currency with a cutoff date, one item per partner, an export file per method, marked
paid with a reference, retried safely after a failure.

The state machine (``PayoutRun.status``)::

    draft ──export──▶ exported ──mark paid──▶ paid
      │                  │  ▲
    cancel            fail│  │retry (same items, same reserved entries, attempts + 1)
      ▼                  ▼  │
    cancelled           failed

- **Draft**: the items are computed from the approved, unreserved ledger entries in the run's currency
  that occurred on or before the cutoff, netted per partner (reversals, adjustments and clawbacks count
  against accruals). A partner whose net balance is zero or negative, or below the minimum payout, or
  who has no payout details, gets a *skipped* item saying so: the balance is carried forward (a negative
  balance is never charged; it is netted against later earnings). The minimum is the partner's own
  (payout details) when set, else the highest ``min_payout`` of the plans whose entries are netted.
  Nothing is reserved yet: a draft can be refreshed or cancelled.
- **Export** (draft → exported): under a lock the items are computed again and each pending item
  *reserves* its entries (``LedgerEntry.paid_item``, which the database lets be set only once): an entry
  can never be in two items, so it is never paid twice. Every item carries a sealed copy of the
  partner's payout details as they were when it was made (the Fernet token copied, never opened here);
  the export file (bank CSV, PayPal payouts, Wise batch) is built from those copies, so downloading it
  again gives the same file whatever the partner changed since — the run page says who did.
- **Mark paid** (exported → paid): every pending item is paid — its reserved entries move to *paid*, a
  *payout* ledger entry of minus the item's amount is written with the idempotency key ``payout:<item>``
  (a few bulk statements for the whole run) — or, when named as failed, marked failed; the run is then
  *paid*, or *failed* if any item failed. Marking a paid run paid again changes nothing.
- **Fail / retry**: a failed run (or one whose file was refused) is retried: the same items (failed ones
  become pending again with the partner's current details; paid ones stay paid and are left out of the
  new file), the same reserved entries, the same references — so a retry pays nobody twice.
- **Abandon** a failed item (with a reason): nobody is paid; its entries stay reserved to it (so never
  paid twice) and two new approved ledger rows carry their sum forward — minus the sum, reserved to the
  abandoned item, and plus the sum, free for the next run. Once no failed item is left the run is
  closed: *paid* when something was paid, else *cancelled*.

Only ``payout.manage`` (finance staff and admins) runs payouts; every step is audited. There is at most one
open (draft, exported or failed) run per currency.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.commissions.models import LedgerEntry, PayoutDetails, PayoutItem, PayoutRun, Plan
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.ids import parse_uuid
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.partners.models import Partner

Status = PayoutRun.Status
ItemStatus = PayoutItem.Status
OPEN = (Status.DRAFT, Status.EXPORTED, Status.FAILED)
ZERO = Decimal("0.00")


# --- computing the items --------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One partner's netted balance at the cutoff and what the run does with it."""

    partner_id: int
    amount: Decimal = ZERO
    entry_ids: list[int] = field(default_factory=list)
    plan_ids: set[int] = field(default_factory=set)
    minimum: Decimal = ZERO
    status: str = ItemStatus.PENDING
    note: str = ""
    details: PayoutDetails | None = None


def _end_of(cutoff: datetime.date) -> datetime.datetime:
    """The first moment after the cutoff day (UTC)."""
    return datetime.datetime.combine(
        cutoff + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )


def _payable(currency: str, cutoff: datetime.date) -> Any:
    return LedgerEntry.objects.filter(
        currency=currency,
        state=LedgerEntry.State.APPROVED,
        paid_item__isnull=True,
        occurred_at__lt=_end_of(cutoff),
    ).exclude(amount=0)  # an event that earned nothing has a zero entry (its explanation): nothing to pay


def compute_candidates(*, currency: str, cutoff: datetime.date) -> list[Candidate]:
    """Every partner with approved, unreserved entries in ``currency`` up to ``cutoff``: netted, checked
    against the minimum and the payout details. Runs in the caller's scope."""
    by_partner: dict[int, Candidate] = {}
    rows = (
        _payable(currency, cutoff)
        .order_by("partner_id", "id")
        .values_list("id", "partner_id", "amount", "plan_id")
    )
    for entry_id, partner_id, amount, plan_id in rows.iterator(chunk_size=5000):
        candidate = by_partner.setdefault(partner_id, Candidate(partner_id=partner_id))
        candidate.amount += amount
        candidate.entry_ids.append(entry_id)
        if plan_id is not None:
            candidate.plan_ids.add(plan_id)
    if not by_partner:
        return []
    plan_ids = {p for c in by_partner.values() for p in c.plan_ids}
    plan_min = dict(Plan.objects.filter(pk__in=plan_ids).values_list("pk", "min_payout"))
    details = {d.partner_id: d for d in PayoutDetails.objects.filter(partner_id__in=list(by_partner))}
    for candidate in by_partner.values():
        own = details.get(candidate.partner_id)
        plan_minimum = max((plan_min.get(p) or ZERO for p in candidate.plan_ids), default=ZERO)
        # the partner's own minimum is in their payout currency: it counts only for a run in that
        # currency (no conversion); otherwise the plans' minimum (plans pay in the run's currency)
        own_minimum = own.min_payout if own is not None and own.currency == currency else None
        candidate.minimum = own_minimum if own_minimum is not None else plan_minimum
        candidate.details = own
        if candidate.amount < ZERO:
            candidate.status = ItemStatus.SKIPPED
            candidate.note = (
                f"Negative balance {candidate.amount} {currency} carried forward: netted against later "
                "earnings, never charged."
            )
        elif candidate.amount == ZERO:
            candidate.status, candidate.note = ItemStatus.SKIPPED, "Nothing to pay: the entries net to zero."
        elif candidate.amount < candidate.minimum:
            candidate.status = ItemStatus.SKIPPED
            candidate.note = (
                f"Below the {candidate.minimum} {currency} minimum payout: carried forward to the next run."
            )
        elif own is None:
            candidate.status = ItemStatus.SKIPPED
            candidate.note = "No payout details: carried forward until the partner gives them."
    return sorted(by_partner.values(), key=lambda c: c.partner_id)


def _seal_details(item: PayoutItem, own: PayoutDetails | None) -> None:
    """Copy the partner's details into the item as they are now: method, masked form, currency, holder
    and the sealed token of the sensitive fields (copied, never decrypted here)."""
    if own is None:
        item.method = item.details_display = item.details_currency = item.details_holder = ""
        item.details_secret, item.details_at = "", None
        return
    item.method, item.details_display = own.method, own.display[:120]
    item.details_currency, item.details_holder = own.currency, own.holder_name[:200]
    item.details_secret, item.details_at = own.secret, own.updated_at


SEALED = ["method", "details_display", "details_currency", "details_holder", "details_secret", "details_at"]


def _write_items(run: PayoutRun, candidates: list[Candidate]) -> list[tuple[PayoutItem, Candidate]]:
    run.items.all().delete()  # a draft's items reserve nothing
    pairs = []
    for c in candidates:
        item = PayoutItem(
            workspace_id=run.workspace_id,
            run=run,
            partner_id=c.partner_id,
            amount=c.amount,
            currency=run.currency,
            status=c.status,
            note=c.note[:300],
        )
        _seal_details(item, c.details)
        pairs.append((item, c))
    PayoutItem.objects.bulk_create([item for item, _ in pairs], batch_size=1000)
    run.total = sum((c.amount for c in candidates if c.status == ItemStatus.PENDING), ZERO)
    return pairs


# --- guards -----------------------------------------------------------------------------------------------


def _require(actor: Actor) -> None:
    actor.require(Perm.PAYOUT_MANAGE)


def _lock(run: PayoutRun) -> PayoutRun:
    return PayoutRun.objects.select_for_update().get(pk=run.pk)


def _audit(
    actor: Actor, run: PayoutRun, before: dict[str, Any] | None, action: str = AuditEntry.Action.UPDATE
) -> None:
    audit_record(actor=actor, action=action, instance=run, before=before, after=snapshot(run))


def _expect(run: PayoutRun, *allowed: str, doing: str) -> None:
    if run.status not in allowed:
        raise ValidationError({"status": f"A {run.get_status_display().lower()} run cannot be {doing}."})


# --- the steps ----------------------------------------------------------------------------------------------


def clean_run(data: dict[str, Any]) -> tuple[str, datetime.date]:
    errors: dict[str, str] = {}
    currency = clean_text(errors, "currency", data.get("currency"), 3, required=True).upper()
    if "currency" not in errors and (len(currency) != 3 or not currency.isalpha()):
        errors["currency"] = f"'{currency}' is not an ISO 4217 currency code (e.g. EUR)."
    cutoff = data.get("cutoff")
    if isinstance(cutoff, str):
        try:
            cutoff = datetime.date.fromisoformat(cutoff.strip())
        except ValueError:
            errors["cutoff"] = "Not a date (YYYY-MM-DD)."
    if not isinstance(cutoff, datetime.date) and "cutoff" not in errors:
        errors["cutoff"] = "This field is required."
    elif isinstance(cutoff, datetime.date) and cutoff > timezone.now().date():
        errors["cutoff"] = "The cutoff cannot be in the future."
    if errors:
        raise ValidationError(errors)
    assert isinstance(cutoff, datetime.date)
    return currency, cutoff


@transaction.atomic
def payout_run_create(*, actor: Actor, data: dict[str, Any]) -> PayoutRun:
    """A draft run in ``currency`` with entries up to ``cutoff`` (one open run per currency)."""
    _require(actor)
    currency, cutoff = clean_run(data)
    Workspace.objects.select_for_update().filter(pk=actor.workspace_id).first()  # serialise run creation
    open_run = PayoutRun.objects.filter(currency=currency, status__in=OPEN).first()
    if open_run is not None:
        raise ValidationError(
            {
                "currency": f"A {currency} run is already open ({open_run.get_status_display().lower()}, "
                f"cutoff {open_run.cutoff}): finish or cancel it first."
            }
        )
    run = PayoutRun(
        workspace_id=actor.workspace_id, currency=currency, cutoff=cutoff, created_by_id=actor.user_id
    )
    run.save()
    _write_items(run, compute_candidates(currency=currency, cutoff=cutoff))
    run.save(update_fields=["total", "updated_at"])
    _audit(actor, run, None, AuditEntry.Action.CREATE)
    return run


@transaction.atomic
def payout_run_refresh(*, actor: Actor, run: PayoutRun) -> PayoutRun:
    """Compute a draft's items again (entries approved since, new payout details)."""
    _require(actor)
    run = _lock(run)
    _expect(run, Status.DRAFT, doing="refreshed")
    before = snapshot(run)
    _write_items(run, compute_candidates(currency=run.currency, cutoff=run.cutoff))
    run.save(update_fields=["total", "updated_at"])
    _audit(actor, run, before)
    return run


@transaction.atomic
def payout_run_cancel(*, actor: Actor, run: PayoutRun) -> PayoutRun:
    """Cancel a draft (nothing was reserved or sent)."""
    _require(actor)
    run = _lock(run)
    _expect(run, Status.DRAFT, doing="cancelled")
    before = snapshot(run)
    run.status = Status.CANCELLED
    run.save(update_fields=["status", "updated_at"])
    _audit(actor, run, before)
    return run


@transaction.atomic
def payout_run_export(*, actor: Actor, run: PayoutRun) -> PayoutRun:
    """Draft → exported: items computed afresh under the lock, each pending item reserving its entries.
    On an exported, failed or paid run it changes nothing (the file is downloaded again)."""
    _require(actor)
    run = _lock(run)
    if run.status != Status.DRAFT:
        _expect(run, Status.EXPORTED, Status.FAILED, Status.PAID, doing="exported")
        return run
    before = snapshot(run)
    pairs = _write_items(run, compute_candidates(currency=run.currency, cutoff=run.cutoff))
    for item, candidate in pairs:
        if item.status != ItemStatus.PENDING:
            continue
        reserved = LedgerEntry.objects.filter(
            pk__in=candidate.entry_ids, paid_item__isnull=True, state=LedgerEntry.State.APPROVED
        ).update(paid_item=item)
        if reserved != len(candidate.entry_ids):
            raise ValidationError({"status": "The ledger changed while exporting: export again."})
    if not any(item.status == ItemStatus.PENDING for item, _ in pairs):
        raise ValidationError({"status": "Nothing to pay in this run: every balance is carried forward."})
    _pin_details(run, [item for item, _ in pairs if item.status == ItemStatus.PENDING])
    run.status, run.exported_at, run.attempts = Status.EXPORTED, timezone.now(), 1
    methods = sorted({i.method for i, _ in pairs if i.status == ItemStatus.PENDING})
    run.method = methods[0] if len(methods) == 1 else "mixed"  # one file per method either way
    run.save()
    _audit(actor, run, before)
    return run


def _pin_details(run: PayoutRun, items: list[PayoutItem]) -> None:
    """Lock the paying partners' details rows and seal each item's copy from the locked row, so the
    copy is the row as committed (a change saved concurrently waits for the lock, then is the next
    run's)."""
    if not items:
        return
    locked = {
        d.partner_id: d
        for d in PayoutDetails.objects.select_for_update().filter(
            partner_id__in=[i.partner_id for i in items]
        )
    }
    for item in items:
        own = locked.get(item.partner_id)
        if own is not None:
            _seal_details(item, own)
    PayoutItem.objects.bulk_update(items, SEALED, batch_size=500)


def _payout_entry(
    actor: Actor, run: PayoutRun, item: PayoutItem, reference: str, now: datetime.datetime
) -> LedgerEntry:
    """The money out: one *payout* ledger entry of minus the item's amount, paid, keyed ``payout:<item>``
    (written once whatever happens: the key is unique, a second write is ignored)."""
    return LedgerEntry(
        workspace_id=run.workspace_id,
        partner_id=item.partner_id,
        kind=LedgerEntry.Kind.PAYOUT,
        state=LedgerEntry.State.PAID,
        source_kind=LedgerEntry.Source.PAYOUT,
        source_id=item.pk,
        source_event="payout",
        idempotency_key=f"payout:{item.public_id}",
        occurred_at=now,
        period=now.date().replace(day=1),
        base_amount=item.amount,
        base_currency=item.currency,
        amount=-item.amount,
        currency=item.currency,
        explanation={
            "summary": f"Paid {item.amount} {item.currency} by {item.method or 'payout'}, "
            f"reference {reference}",
            "reference": reference,
            "run": str(run.public_id),
        },
        created_by_id=actor.user_id,
        paid_item=item,
        paid_at=now,
    )


def _pay_items(
    actor: Actor, run: PayoutRun, items: list[PayoutItem], reference: str, now: datetime.datetime
) -> None:
    """Pay ``items`` in a few statements whatever their number: their reserved entries approved → paid
    (the state move the ledger guard allows; ``paid_item`` was set at export), one payout entry each,
    the items paid."""
    if not items:
        return
    for chunk in range(0, len(items), 500):
        part = items[chunk : chunk + 500]
        LedgerEntry.objects.filter(paid_item__in=part, state=LedgerEntry.State.APPROVED).update(
            state=LedgerEntry.State.PAID, paid_at=now
        )
        LedgerEntry.objects.bulk_create(
            [_payout_entry(actor, run, item, reference, now) for item in part], ignore_conflicts=True
        )
    done = timezone.now()  # after the payout entries were booked: the statements end here
    for item in items:
        item.status, item.reference, item.paid_at = ItemStatus.PAID, reference, done
    PayoutItem.objects.bulk_update(items, ["status", "reference", "paid_at", "updated_at"], batch_size=500)


@transaction.atomic
def payout_run_mark_paid(
    *, actor: Actor, run: PayoutRun, reference: str, failed: Iterable[str] = (), error: str = ""
) -> PayoutRun:
    """Exported → paid (or failed when any item named in ``failed`` — item or partner public ids — did
    not go through). A paid run marked paid again changes nothing."""
    _require(actor)
    errors: dict[str, str] = {}
    reference = clean_text(errors, "reference", reference, 200, required=True)
    error = clean_text(errors, "error", error, 300)
    if errors:
        raise ValidationError(errors)
    run = _lock(run)
    if run.status == Status.PAID:
        return run
    _expect(run, Status.EXPORTED, doing="marked paid (export it, or retry it, first)")
    before = snapshot(run)
    failed_ids = {str(f) for f in failed}
    now = timezone.now()
    any_failed = False
    items = list(run.items.filter(status=ItemStatus.PENDING).select_related("partner").order_by("id"))
    paying: list[PayoutItem] = []
    for item in items:
        if str(item.public_id) in failed_ids or str(item.partner.public_id) in failed_ids:
            item.status, item.note, any_failed = (
                ItemStatus.FAILED,
                (error or "Failed at the provider")[:300],
                True,
            )
            item.save(update_fields=["status", "note", "updated_at"])
        else:
            item.updated_at = now
            paying.append(item)
    _pay_items(actor, run, paying, reference, now)
    run.reference = reference
    if any_failed:
        run.status, run.last_error = Status.FAILED, error or "Some payments failed at the provider."
    else:
        run.status, run.paid_at = Status.PAID, max((i.paid_at or now for i in paying), default=now)
    run.save()
    _audit(actor, run, before)
    if not any_failed:
        from openprm.commissions.services.statements import statements_for_run

        statements_for_run(actor=actor, run=run)
    return run


@transaction.atomic
def payout_run_fail(*, actor: Actor, run: PayoutRun, error: str) -> PayoutRun:
    """Exported → failed (the provider refused the file): nothing is paid; retry later."""
    _require(actor)
    errors: dict[str, str] = {}
    error = clean_text(errors, "error", error, 2000, required=True)
    if errors:
        raise ValidationError(errors)
    run = _lock(run)
    _expect(run, Status.EXPORTED, doing="marked failed")
    before = snapshot(run)
    run.status, run.last_error = Status.FAILED, error
    run.save(update_fields=["status", "last_error", "updated_at"])
    _audit(actor, run, before)
    return run


@transaction.atomic
def payout_run_retry(*, actor: Actor, run: PayoutRun) -> PayoutRun:
    """Failed → exported again: failed items become pending (with the partner's current payout details),
    paid items stay paid; the reserved entries and references are the same, so nobody is paid twice."""
    _require(actor)
    run = _lock(run)
    _expect(run, Status.FAILED, doing="retried")
    before = snapshot(run)
    retried = list(run.items.filter(status=ItemStatus.FAILED))
    for item in retried:
        item.status = ItemStatus.PENDING
        item.save(update_fields=["status", "updated_at"])
    _pin_details(run, retried)  # a failed item's details may have been fixed since: those are used now
    run.status, run.attempts, run.exported_at = Status.EXPORTED, run.attempts + 1, timezone.now()
    run.save(update_fields=["status", "attempts", "exported_at", "updated_at"])
    _audit(actor, run, before)
    return run


def _carry_rows(
    actor: Actor,
    run: PayoutRun,
    item: PayoutItem,
    total: Decimal,
    plan_id: int | None,
    now: datetime.datetime,
) -> list[LedgerEntry]:
    """The two rows of an abandoned item: minus its entries' sum reserved to the item (their sum leaves
    it; the entries stay reserved there, so they are never paid twice) and plus the sum free for a
    later run. Both approved: the approved balance is what it was."""
    words = f"{total} {item.currency} of the payout run of {run.cutoff:%Y-%m-%d}"
    common: dict[str, Any] = {
        "workspace_id": run.workspace_id,
        "partner_id": item.partner_id,
        "kind": LedgerEntry.Kind.ADJUSTMENT,
        "state": LedgerEntry.State.APPROVED,
        "source_kind": LedgerEntry.Source.PAYOUT,
        "source_id": item.pk,
        "source_event": "payout_abandoned",
        "plan_id": plan_id,
        "occurred_at": now,
        "period": now.date().replace(day=1),
        "base_amount": total,
        "base_currency": item.currency,
        "currency": item.currency,
        "note": item.abandoned_reason,
        "created_by_id": actor.user_id,
        "approved_at": now,
        "approved_by_id": actor.user_id,
    }
    return [
        LedgerEntry(
            **common,
            idempotency_key=f"abandon:{item.public_id}:out",
            amount=-total,
            paid_item=item,
            explanation={"detail": f"payment of {words} not made: its commissions are taken out of it"},
        ),
        LedgerEntry(
            **common,
            idempotency_key=f"abandon:{item.public_id}:forward",
            amount=total,
            explanation={"detail": f"payment of {words} not made: carried forward to the next payout"},
        ),
    ]


@transaction.atomic
def payout_item_abandon(*, actor: Actor, run: PayoutRun, item_id: Any, reason: str) -> PayoutRun:
    """Give up a failed payment (``payout.manage``, a reason required; audited): the item is
    *abandoned*, nobody is paid, and its entries' sum returns to the partner's approved balance for a
    later run (two new ledger rows; the entries stay reserved to the item, so they are never paid
    twice). When no failed item is left the run closes: *paid* if anything was paid (with the
    statements of the paid partners), else *cancelled*."""
    _require(actor)
    errors: dict[str, str] = {}
    reason = clean_text(errors, "reason", reason, 300, required=True)
    if errors:
        raise ValidationError(errors)
    run = _lock(run)
    _expect(run, Status.FAILED, doing="changed (only a failed run's failed payments are abandoned)")
    item = (
        run.items.select_for_update().filter(public_id=parse_uuid(item_id)).first()
        if parse_uuid(item_id) is not None
        else None
    )
    if item is None:
        raise ValidationError({"item": "No payment with this id in this run."})
    if item.status != ItemStatus.FAILED:
        raise ValidationError(
            {"item": f"Only a failed payment is abandoned; this one is {item.get_status_display().lower()}."}
        )
    before_run, before_item = snapshot(run), _item_view(item)
    reserved = LedgerEntry.objects.filter(paid_item=item, state=LedgerEntry.State.APPROVED)
    total = sum((amount for amount in reserved.values_list("amount", flat=True)), ZERO)
    plans = dict(
        Plan.objects.filter(pk__in=reserved.filter(plan__isnull=False).values("plan_id")).values_list(
            "pk", "min_payout"
        )
    )
    now = timezone.now()
    item.status, item.abandoned_at, item.abandoned_reason = ItemStatus.ABANDONED, now, reason
    item.save(update_fields=["status", "abandoned_at", "abandoned_reason", "updated_at"])
    plan_id = max(plans, key=lambda pk: (plans[pk], pk), default=None)  # the highest minimum applies
    if total:
        LedgerEntry.objects.bulk_create(_carry_rows(actor, run, item, total, plan_id, now))
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=item,
        before=before_item,
        after=_item_view(item) | {"carried_forward": str(total)},
        partner_id=item.partner_id,
    )
    if not run.items.filter(status__in=(ItemStatus.FAILED, ItemStatus.PENDING)).exists():
        paid = [
            at
            for at in run.items.filter(status=ItemStatus.PAID).values_list("paid_at", flat=True)
            if at is not None
        ]
        run.status = Status.PAID if paid else Status.CANCELLED
        run.paid_at = max(paid) if paid else None
        run.save(update_fields=["status", "paid_at", "updated_at"])
        _audit(actor, run, before_run)
        if paid:
            from openprm.commissions.services.statements import statements_for_run

            statements_for_run(actor=actor, run=run)
    return run


def _item_view(item: PayoutItem) -> dict[str, Any]:
    """The audited form of an item: never its sealed details."""
    data = snapshot(item)
    data.pop("details_secret", None)
    return data


def partner_names(partner_ids: Iterable[int]) -> dict[int, str]:
    return dict(Partner.objects.filter(pk__in=list(partner_ids)).values_list("pk", "name"))


def run_totals(run: PayoutRun) -> dict[str, Any]:
    """Paid / pending / failed / carried-forward totals and counts of a run's items."""
    out: dict[str, Any] = defaultdict(lambda: ZERO)
    counts: dict[str, int] = defaultdict(int)
    for status, amount in run.items.values_list("status", "amount"):
        out[status] += amount
        counts[status] += 1
    return {"amounts": dict(out), "counts": dict(counts)}
