"""Statements: a partner's account for a period in one currency — the balance brought forward, every
ledger line booked in the period (commissions, reversals, adjustments, clawbacks, bonuses, overrides,
payouts), and the balance carried forward. A ``Statement`` row keeps the totals; the lines are the ledger
entries themselves (rejected entries are left out: they never counted). Lines belong to the period they
were *booked* in (``created_at``): the ledger is append-only, so a past statement never changes — a
refund of an old sale is a clawback in the statement of the day it was booked, not a rewrite of the old
one.

- opening = the sum of the partner's (non-rejected) entries before the period (what we owed them);
- earned  = the sum of the period's entries other than payouts (reversals and clawbacks count negative);
- paid    = minus the sum of the period's payout entries;
- closing = opening + earned − paid.

Statements are made when a payout run is paid (one per paid partner, from the day after their previous
statement — or their first entry — to the day paid) and, by finance, for any calendar month
(``statements_generate``). Making one again for the same partner, period and currency updates its
totals (late entries). Rendering (PDF, CSV) is in ``selectors.statements``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate

from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun, Statement
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def period_entries(*, partner_id: int, currency: str, start: datetime.date, end: datetime.date) -> Q:
    """The filter of a statement's lines: the partner's non-rejected entries in ``currency`` booked from
    ``start`` to ``end`` (both included, UTC days)."""
    return Q(
        partner_id=partner_id,
        currency=currency,
        created_at__gte=_start_of(start),
        created_at__lt=_start_of(end + datetime.timedelta(days=1)),
    ) & ~Q(state=LedgerEntry.State.REJECTED)


def totals(*, partner_id: int, currency: str, start: datetime.date, end: datetime.date) -> dict[str, Decimal]:
    live = LedgerEntry.objects.exclude(state=LedgerEntry.State.REJECTED).filter(
        partner_id=partner_id, currency=currency
    )
    opening = live.filter(created_at__lt=_start_of(start)).aggregate(s=Sum("amount"))["s"] or ZERO
    period = LedgerEntry.objects.filter(
        period_entries(partner_id=partner_id, currency=currency, start=start, end=end)
    )
    earned = period.exclude(kind=Kind.PAYOUT).aggregate(s=Sum("amount"))["s"] or ZERO
    paid = -(period.filter(kind=Kind.PAYOUT).aggregate(s=Sum("amount"))["s"] or ZERO)
    return {"opening": opening, "earned": earned, "paid": paid, "closing": opening + earned - paid}


def _save(
    actor: Actor,
    *,
    partner_id: int,
    currency: str,
    start: datetime.date,
    end: datetime.date,
    payout_item: PayoutItem | None = None,
    figures: dict[str, Decimal] | None = None,
) -> Statement:
    if figures is None:
        figures = totals(partner_id=partner_id, currency=currency, start=start, end=end)
    statement, created = Statement.objects.get_or_create(
        workspace_id=actor.workspace_id,
        partner_id=partner_id,
        period_start=start,
        period_end=end,
        currency=currency,
        defaults={**figures, "payout_item": payout_item},
    )
    if not created:
        before = snapshot(statement)
        for key, value in figures.items():
            setattr(statement, key, value)
        if payout_item is not None:
            statement.payout_item = payout_item
        statement.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=statement,
            before=before,
            after=snapshot(statement),
            partner_id=partner_id,
        )
    else:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            instance=statement,
            after=snapshot(statement),
            partner_id=partner_id,
        )
    return statement


def statements_for_run(*, actor: Actor, run: PayoutRun) -> list[Statement]:
    """One statement per partner paid in ``run``: from the day after their previous statement in the
    run's currency (or their first entry) to the day paid. A few grouped queries for the whole run."""
    actor.require(Perm.PAYOUT_MANAGE)
    paid_on = (run.paid_at or run.updated_at).astimezone(datetime.UTC).date()
    items = {i.partner_id: i for i in run.items.filter(status=PayoutItem.Status.PAID).order_by("id")}
    if not items:
        return []
    ids, currency = list(items), run.currency
    previous = dict(
        Statement.objects.filter(partner_id__in=ids, currency=currency, period_end__lt=paid_on)
        .values_list("partner_id")
        .annotate(m=Max("period_end"))
        .order_by()
    )
    first = dict(
        LedgerEntry.objects.filter(partner_id__in=ids, currency=currency)
        .values_list("partner_id")
        .annotate(m=Min("created_at"))
        .order_by()
    )
    starts: dict[int, datetime.date] = {}
    for partner_id in ids:
        if partner_id in previous:
            starts[partner_id] = previous[partner_id] + datetime.timedelta(days=1)
        elif first.get(partner_id) is not None:
            starts[partner_id] = first[partner_id].astimezone(datetime.UTC).date()
        else:
            starts[partner_id] = paid_on
        starts[partner_id] = min(starts[partner_id], paid_on)
    daily = (
        LedgerEntry.objects.exclude(state=LedgerEntry.State.REJECTED)
        .exclude(amount=0)
        .filter(
            partner_id__in=ids,
            currency=currency,
            created_at__lt=_start_of(paid_on + datetime.timedelta(days=1)),
        )
        .annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
        .values_list("partner_id", "day", "kind")
        .annotate(t=Sum("amount"))
        .order_by()
    )
    figures = {p: {"opening": ZERO, "earned": ZERO, "paid": ZERO} for p in ids}
    for partner_id, day, kind, total in daily:
        bucket = figures[partner_id]
        if day < starts[partner_id]:
            bucket["opening"] += total
        elif kind == Kind.PAYOUT:
            bucket["paid"] -= total
        else:
            bucket["earned"] += total
    made = []
    for partner_id in ids:
        bucket = figures[partner_id]
        bucket["closing"] = bucket["opening"] + bucket["earned"] - bucket["paid"]
        made.append(
            _save(
                actor,
                partner_id=partner_id,
                currency=currency,
                start=starts[partner_id],
                end=paid_on,
                payout_item=items[partner_id],
                figures=bucket,
            )
        )
    return made


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = month.replace(day=1)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


@transaction.atomic
def statements_generate(
    *, actor: Actor, month: datetime.date, partner_ids: list[int] | None = None
) -> list[Statement]:
    """Monthly statements for ``month``: one per partner and currency with entries in the month or a
    balance brought forward (``partner_ids`` narrows it)."""
    actor.require(Perm.PAYOUT_MANAGE)
    start, end = month_bounds(month)
    if end >= datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=31):
        raise ValidationError({"month": "That month has not started yet."})
    live = LedgerEntry.objects.exclude(state=LedgerEntry.State.REJECTED).exclude(amount=0)
    if partner_ids is not None:
        live = live.filter(partner_id__in=partner_ids)
    first, after = _start_of(start), _start_of(end + datetime.timedelta(days=1))
    # three grouped sums for every partner at once (not a query per partner)
    grouped: dict[tuple[int, str], dict[str, Decimal]] = {}
    queries = (
        ("opening", live.filter(created_at__lt=first)),
        ("earned", live.filter(created_at__gte=first, created_at__lt=after).exclude(kind=Kind.PAYOUT)),
        ("paid", live.filter(created_at__gte=first, created_at__lt=after, kind=Kind.PAYOUT)),
    )
    active: set[tuple[int, str]] = set()
    for name, rows in queries:
        for partner_id, currency, total, count in (
            rows.values_list("partner_id", "currency").annotate(t=Sum("amount"), n=Count("id")).order_by()
        ):
            figures = grouped.setdefault((partner_id, currency), {k: ZERO for k, _ in queries})
            figures[name] = -(total or ZERO) if name == "paid" else (total or ZERO)
            if name != "opening" and count:
                active.add((partner_id, currency))
    made = []
    for (partner_id, currency), figures in sorted(grouped.items()):
        if figures["opening"] == ZERO and (partner_id, currency) not in active:
            continue  # nothing owed and nothing booked: no statement
        figures["closing"] = figures["opening"] + figures["earned"] - figures["paid"]
        made.append(
            _save(actor, partner_id=partner_id, currency=currency, start=start, end=end, figures=figures)
        )
    return made
