"""What a partner user reads about their own commissions in the portal: balances by state, the upcoming
payout and why it may be carried forward, their ledger entries (without staff fields), their statements and
payments (this module); every commission in words (``words``); the rate that applies now and what
raises it (``rates``). Every read runs inside the partner user's scope (``LedgerEntry``, ``PayoutItem``,
``Statement`` and ``PayoutDetails`` are scoped by partner), and each function also filters on the partner
explicitly.

Plans and payout runs are staff-only models: their few fields a partner may know (a plan's minimum payout
and hold, a run's cutoff) are read through the partner's own rows (``select_related``), never listed.

Balances (per currency; ``payout`` rows are the money out and are left out of every state):
- *pending*: earned, still in the plan's holding period (the refund window);
- *approved*: due to be paid — reversals and clawbacks that are approved count against it;
- *paid*: paid out;
- *clawbacks*: refunds of commissions already paid, not yet netted (they are netted against the next
  payout; a negative balance carries forward and is never charged).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum

from openprm.commissions.models import (
    LedgerEntry,
    PayoutDetails,
    PayoutItem,
    PayoutRun,
    Statement,
)
from openprm.core.actors import Actor

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind
State = LedgerEntry.State
OPEN_RUNS = (PayoutRun.Status.DRAFT, PayoutRun.Status.EXPORTED, PayoutRun.Status.FAILED)
# The ledger fields a partner may read (docs/visibility.md): no note, no author, no approver, no
# idempotency key, no internal plan fields.
PARTNER_ENTRY_FIELDS = (
    "id",
    "public_id",
    "partner_id",
    "kind",
    "state",
    "source_kind",
    "source_event",
    "rule_key",
    "plan_version_id",
    "plan_version__number",
    "occurred_at",
    "period",
    "base_amount",
    "base_currency",
    "fx_rate",
    "fx_date",
    "amount",
    "currency",
    "rate",
    "caps",
    "explanation",
    "hold_until",
    "reverses_id",
    "paid_at",
    "approved_at",
    "rejected_reason",
)


@dataclass
class Balance:
    """One currency's balances for the partner."""

    currency: str
    pending: Decimal = ZERO
    approved: Decimal = ZERO
    paid: Decimal = ZERO
    clawbacks: Decimal = ZERO  # outstanding (pending or approved) clawbacks, negative
    next_release: datetime.date | None = None  # the earliest end of a hold
    next_release_amount: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.pending + self.approved + self.paid


def balances(*, actor: Actor, partner_id: int) -> list[Balance]:
    """The partner's balances per currency (the one with most money first): one grouped query, plus one
    for the next hold release."""
    del actor  # the active scope (the partner user's) does the scoping; the partner filter narrows it
    entries = LedgerEntry.objects.filter(partner_id=partner_id).exclude(kind=Kind.PAYOUT)
    rows = (
        entries.order_by()
        .values("currency")
        .annotate(
            pending=Sum("amount", filter=Q(state=State.PENDING)),
            approved=Sum("amount", filter=Q(state=State.APPROVED)),
            paid=Sum("amount", filter=Q(state=State.PAID)),
            clawbacks=Sum("amount", filter=Q(kind=Kind.CLAWBACK, state__in=(State.PENDING, State.APPROVED))),
        )
    )
    found = {
        r["currency"]: Balance(
            currency=r["currency"],
            pending=r["pending"] or ZERO,
            approved=r["approved"] or ZERO,
            paid=r["paid"] or ZERO,
            clawbacks=r["clawbacks"] or ZERO,
        )
        for r in rows
    }
    releases = (
        entries.filter(state=State.PENDING, hold_until__isnull=False)
        .order_by()
        .values("currency", "hold_until")
        .annotate(amount=Sum("amount"))
        .order_by("currency", "hold_until")
    )
    for r in releases:
        balance = found.get(r["currency"])
        if balance is not None and balance.next_release is None:
            balance.next_release, balance.next_release_amount = r["hold_until"], r["amount"] or ZERO
    return sorted(found.values(), key=lambda b: (-abs(b.total), b.currency))


@dataclass
class UpcomingPayout:
    """What the next payout in one currency looks like from the partner's side."""

    currency: str
    due: Decimal  # approved and not yet in a payout: what the next run would net
    minimum: Decimal
    expected_on: datetime.date | None  # the next cutoff, estimated from past runs (else the month's end)
    estimated_from_runs: bool
    in_payment: Decimal = ZERO  # already in an open run (exported, not yet marked paid)
    in_payment_cutoff: datetime.date | None = None
    has_details: bool = False
    last_paid_on: datetime.date | None = None
    last_paid_amount: Decimal | None = None

    @property
    def status(self) -> str:
        """``in_payment``, ``no_details``, ``negative``, ``nothing``, ``below_minimum`` or ``due``."""
        if self.in_payment > ZERO:
            return "in_payment"
        if self.due < ZERO:
            return "negative"
        if self.due == ZERO:
            return "nothing"
        if self.due < self.minimum:
            return "below_minimum"
        if not self.has_details:
            return "no_details"
        return "due"

    @property
    def to_minimum(self) -> Decimal:
        return max(ZERO, self.minimum - self.due)


def _month_end(day: datetime.date) -> datetime.date:
    following = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return following - datetime.timedelta(days=1)


def _next_cutoff(cutoffs: list[datetime.date], today: datetime.date) -> tuple[datetime.date, bool]:
    """The next cutoff after ``today``: the last cutoffs' usual interval carried forward (monthly when
    there is only one), or the end of this month when the partner was never in a run."""
    if not cutoffs:
        return _month_end(today), False
    cutoffs = sorted(set(cutoffs))
    last = cutoffs[-1]
    gap = (cutoffs[-1] - cutoffs[-2]).days if len(cutoffs) > 1 else 0
    if gap < 7:
        # monthly: the same day of the month (or the month's end when the runs cut at month ends)
        month_ends = last == _month_end(last)
        day = last
        while day <= today:
            day = _month_end(day + datetime.timedelta(days=1)) if month_ends else _add_month(day)
        return day, True
    day = last
    while day <= today:
        day += datetime.timedelta(days=gap)
    return day, True


def _add_month(day: datetime.date) -> datetime.date:
    following = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return following.replace(day=min(day.day, _month_end(following).day))


def upcoming_payouts(*, actor: Actor, partner_id: int, today: datetime.date) -> list[UpcomingPayout]:
    """Per currency the partner has approved money, money in payment or a history of payouts in: what the
    next payout nets, the minimum it must reach (the partner's own, else the highest of their plans'),
    and when it is expected."""
    del actor
    entries = LedgerEntry.objects.filter(partner_id=partner_id).exclude(kind=Kind.PAYOUT)
    due_rows = (
        entries.filter(state=State.APPROVED, paid_item__isnull=True)
        .order_by()
        .values("currency")
        .annotate(due=Sum("amount"), minimum=Max("plan__min_payout"))
    )
    due = {r["currency"]: (r["due"] or ZERO, r["minimum"] or ZERO) for r in due_rows}
    items = list(
        PayoutItem.objects.filter(partner_id=partner_id)
        .exclude(run__status=PayoutRun.Status.CANCELLED)
        .values("currency", "status", "amount", "run__cutoff", "run__status", "paid_at")
        .order_by("run__cutoff", "id")
    )
    details = PayoutDetails.objects.filter(partner_id=partner_id).values("min_payout").first()
    own_minimum = details["min_payout"] if details else None
    currencies = set(due) | {i["currency"] for i in items}
    result = []
    for currency in sorted(currencies, key=lambda c: (-due.get(c, (ZERO,))[0], c)):
        mine = [i for i in items if i["currency"] == currency]
        cutoffs = [i["run__cutoff"] for i in mine]
        expected, estimated = _next_cutoff(cutoffs, today)
        open_items = [i for i in mine if i["run__status"] in OPEN_RUNS and i["status"] == "pending"]
        paid = [i for i in mine if i["status"] == PayoutItem.Status.PAID]
        amount, plan_minimum = due.get(currency, (ZERO, ZERO))
        result.append(
            UpcomingPayout(
                currency=currency,
                due=amount,
                minimum=own_minimum if own_minimum is not None else plan_minimum,
                expected_on=expected,
                estimated_from_runs=estimated,
                in_payment=sum((i["amount"] for i in open_items), ZERO),
                in_payment_cutoff=open_items[-1]["run__cutoff"] if open_items else None,
                has_details=details is not None,
                last_paid_on=paid[-1]["paid_at"].date() if paid and paid[-1]["paid_at"] else None,
                last_paid_amount=paid[-1]["amount"] if paid else None,
            )
        )
    return result


def entry_list(
    *, actor: Actor, partner_id: int, state: str = "", kind: str = "", source: str = ""
) -> QuerySet[LedgerEntry]:
    """The partner's ledger entries, newest first, with only the fields a partner may read. Payout rows
    are listed with the payments, not here."""
    del actor
    queryset = (
        LedgerEntry.objects.filter(partner_id=partner_id)
        .exclude(kind=Kind.PAYOUT)
        .select_related("plan_version")
        .only(*[f for f in PARTNER_ENTRY_FIELDS if "__" not in f], "plan_version__number")
        .annotate(payout_status=F("paid_item__status"))  # an abandoned payment: "carried forward"
        .order_by("-occurred_at", "-id")
    )
    if state in State.values:
        queryset = queryset.filter(state=state)
    if kind in Kind.values:
        queryset = queryset.filter(kind=kind)
    if source:
        queryset = queryset.filter(source_kind=source)
    return queryset


def entry_counts(*, actor: Actor, partner_id: int) -> dict[str, int]:
    """How many entries per state (for the filter's labels)."""
    del actor
    rows = (
        LedgerEntry.objects.filter(partner_id=partner_id)
        .exclude(kind=Kind.PAYOUT)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
    )
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["state"]] = r["n"]
    return dict(counts)


def statement_list(*, actor: Actor, partner_id: int) -> QuerySet[Statement]:
    """The partner's statements, newest period first."""
    del actor
    return Statement.objects.filter(partner_id=partner_id).order_by("-period_end", "-id")


def payments(*, actor: Actor, partner_id: int, limit: int = 12) -> list[PayoutItem]:
    """The partner's payouts (paid, in payment or failed; not skipped, not in a draft or cancelled run —
    a draft's items are only a preview that a refresh replaces), newest first."""
    del actor
    return list(
        PayoutItem.objects.filter(partner_id=partner_id)
        .exclude(status=PayoutItem.Status.SKIPPED)
        .exclude(run__status__in=(PayoutRun.Status.CANCELLED, PayoutRun.Status.DRAFT))
        .only(
            "public_id",
            "amount",
            "currency",
            "status",
            "reference",
            "paid_at",
            "details_display",
            "created_at",
        )
        .order_by("-created_at", "-id")[:limit]
    )


def earning_currency(*, actor: Actor, partner_id: int) -> str:
    """The currency the partner earns in (their latest entry's), "" before their first commission."""
    del actor
    row = LedgerEntry.objects.filter(partner_id=partner_id).order_by("-occurred_at", "-id").values("currency")
    first = row.first()
    return first["currency"] if first else ""


from openprm.commissions.selectors.portal.rates import RatesNow, RuleNow, plan_in_force, rates_now  # noqa: E402
from openprm.commissions.selectors.portal.words import Explained, explain, money, percent  # noqa: E402

__all__ = [
    "Balance",
    "Explained",
    "RatesNow",
    "RuleNow",
    "UpcomingPayout",
    "balances",
    "earning_currency",
    "entry_counts",
    "entry_list",
    "explain",
    "money",
    "payments",
    "percent",
    "plan_in_force",
    "rates_now",
    "statement_list",
    "upcoming_payouts",
]
