"""Statements: a partner's account for a period in one currency — the balance brought forward, every
ledger line booked in the period (commissions, reversals, adjustments, clawbacks, bonuses, overrides,
payouts, rejections), and the balance carried forward. A ``Statement`` row keeps the totals; the lines are
the ledger entries themselves. Lines belong to the period they were *booked* in (``created_at``) and a
rejection to the period it *happened* in (``rejected_at``, a line of minus the entry's amount): both
instants are set once, so a past statement never changes — an entry rejected after its statement still
shows there as booked, and its rejection is a line of the next one; a refund of an old sale is a
clawback in the statement of the day it was booked, not a rewrite of the old one.

- opening = what was booked before the period, less what was rejected before it;
- earned  = the period's entries other than payouts (reversals and clawbacks count negative), less the
  entries rejected in the period;
- paid    = minus the sum of the period's payout entries;
- closing = opening + earned − paid (= opening + the sum of the lines).

A period is a window of booking instants ``[start, end)``. A monthly statement (``statements_generate``,
by finance) covers whole UTC days. A payout run's statement (one per paid partner, made when the run is
paid) ends at the moment the items were paid (``PayoutItem.paid_at``, just after the payout entries
were written) and starts where the partner's previous statement in that currency ended — at its
payment's moment when that was a run's statement — so an entry booked later on a pay day is in the
next statement, not lost between two. Making one again for the same partner, period and currency
updates its totals. Rendering (PDF, CSV) is in ``selectors.statements``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, DateTimeField, F, Min, Q, Sum, Value, When

from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun, Statement
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind
REJECTED = LedgerEntry.State.REJECTED
TICK = datetime.timedelta(microseconds=1)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def _rejected_before(when: Any) -> Q:
    """Rejected before ``when`` (a row rejected without a moment counts as rejected when booked)."""
    return Q(state=REJECTED) & (Q(rejected_at__lt=when) | Q(rejected_at__isnull=True, created_at__lt=when))


def _sums(since: Any, until: Any) -> dict[str, Any]:
    """The conditional sums of a statement, grouped by the caller (``since``/``until``: instants or
    expressions)."""
    booked = Q(created_at__gte=since)
    rejected_in = _rejected_before(until) & ~_rejected_before(since)
    return {
        "opening_booked": Sum("amount", filter=Q(created_at__lt=since)),
        "opening_rejected": Sum("amount", filter=_rejected_before(since)),
        "earned": Sum("amount", filter=booked & ~Q(kind=Kind.PAYOUT)),
        "rejected": Sum("amount", filter=rejected_in),
        "payouts": Sum("amount", filter=booked & Q(kind=Kind.PAYOUT)),
        "lines": Count("id", filter=booked | rejected_in),
    }


def _figures(row: dict[str, Any]) -> dict[str, Decimal]:
    opening = (row["opening_booked"] or ZERO) - (row["opening_rejected"] or ZERO)
    earned = (row["earned"] or ZERO) - (row["rejected"] or ZERO)
    paid = -(row["payouts"] or ZERO)
    return {"opening": opening, "earned": earned, "paid": paid, "closing": opening + earned - paid}


def _booked_before(until: datetime.datetime) -> Any:
    """The rows a statement ending at ``until`` can count (events that earned nothing left out)."""
    return LedgerEntry.objects.filter(created_at__lt=until).exclude(amount=0)


def statement_window(statement: Statement) -> tuple[datetime.datetime, datetime.datetime]:
    """The booking instants ``[start, end)`` of a statement (see the module docstring)."""
    item = statement.payout_item
    end = item.paid_at + TICK if item is not None and item.paid_at else None
    end = end or _start_of(statement.period_end + datetime.timedelta(days=1))
    start = _start_of(statement.period_start)
    previous = (
        Statement.objects.filter(
            partner_id=statement.partner_id,
            currency=statement.currency,
            period_end=statement.period_start,
            payout_item__paid_at__isnull=False,
            payout_item__paid_at__lt=end,
        )
        .exclude(pk=statement.pk)
        .order_by("-payout_item__paid_at")
        .values_list("payout_item__paid_at", flat=True)
        .first()
    )
    if previous is not None and previous + TICK > start:
        start = previous + TICK
    return start, end


def totals(*, partner_id: int, currency: str, start: datetime.date, end: datetime.date) -> dict[str, Decimal]:
    """A monthly-style statement's figures for whole days ``start``..``end``."""
    since, until = _start_of(start), _start_of(end + datetime.timedelta(days=1))
    rows = _booked_before(until).filter(partner_id=partner_id, currency=currency)
    return _figures(rows.aggregate(**_sums(since, until)))


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
    """One statement per partner paid in ``run``: from where their previous statement in the run's
    currency ended (or their first entry) to the moment paid. Two queries for the previous statements
    and first entries, one grouped aggregate for every partner's figures, whatever their number."""
    actor.require(Perm.PAYOUT_MANAGE)
    items = {
        i.partner_id: i
        for i in run.items.filter(status=PayoutItem.Status.PAID).exclude(paid_at=None).order_by("id")
    }
    if not items:
        return []
    ids, currency = list(items), run.currency
    paid_at = max(i.paid_at for i in items.values() if i.paid_at is not None)
    until = paid_at + TICK
    paid_on = paid_at.astimezone(datetime.UTC).date()
    since: dict[int, datetime.datetime] = {}
    starts: dict[int, datetime.date] = {}
    rows = (
        Statement.objects.filter(partner_id__in=ids, currency=currency, period_end__lte=paid_on)
        .exclude(payout_item__run=run)
        .order_by("partner_id", "-period_end", "-id")
        .values_list("partner_id", "period_end", "payout_item__paid_at")
    )
    for partner_id, period_end, previous_paid in rows:
        if partner_id in since:
            continue  # the latest first
        if previous_paid is not None:  # a run's statement ends at its payment's moment
            since[partner_id], starts[partner_id] = previous_paid + TICK, period_end
        else:
            since[partner_id] = _start_of(period_end + datetime.timedelta(days=1))
            starts[partner_id] = min(period_end + datetime.timedelta(days=1), paid_on)
    first = dict(
        LedgerEntry.objects.filter(partner_id__in=[p for p in ids if p not in since], currency=currency)
        .values_list("partner_id")
        .annotate(m=Min("created_at"))
        .order_by()
    )
    for partner_id in ids:
        if partner_id not in since:  # no statement yet: everything booked so far
            since[partner_id] = EPOCH
            booked = first.get(partner_id)
            starts[partner_id] = min(booked.astimezone(datetime.UTC).date(), paid_on) if booked else paid_on
    groups: dict[datetime.datetime, list[int]] = {}
    for partner_id, start in since.items():
        groups.setdefault(start, []).append(partner_id)
    start_of_partner = Case(
        *[When(partner_id__in=group, then=Value(start)) for start, group in groups.items()],
        output_field=DateTimeField(),
    )
    grouped = {
        row["partner_id"]: _figures(row)
        for row in _booked_before(until)
        .filter(partner_id__in=ids, currency=currency)
        .annotate(since=start_of_partner)
        .values("partner_id")
        .annotate(**_sums(F("since"), until))
        .order_by()
    }
    empty = {"opening": ZERO, "earned": ZERO, "paid": ZERO, "closing": ZERO}
    return [
        _save(
            actor,
            partner_id=partner_id,
            currency=currency,
            start=starts[partner_id],
            end=paid_on,
            payout_item=items[partner_id],
            figures=grouped.get(partner_id, dict(empty)),
        )
        for partner_id in ids
    ]


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
    first, after = _start_of(start), _start_of(end + datetime.timedelta(days=1))
    rows = _booked_before(after)
    if partner_ids is not None:
        rows = rows.filter(partner_id__in=partner_ids)
    # one grouped aggregate for every partner and currency at once (not a query per partner)
    grouped: dict[tuple[int, str], dict[str, Decimal]] = {}
    active: set[tuple[int, str]] = set()
    for row in rows.values("partner_id", "currency").annotate(**_sums(first, after)).order_by():
        key = (row["partner_id"], row["currency"])
        grouped[key] = _figures(row)
        if row["lines"]:
            active.add(key)
    made = []
    for (partner_id, currency), figures in sorted(grouped.items()):
        if figures["opening"] == ZERO and (partner_id, currency) not in active:
            continue  # nothing owed and nothing booked: no statement
        made.append(
            _save(actor, partner_id=partner_id, currency=currency, start=start, end=end, figures=figures)
        )
    return made
