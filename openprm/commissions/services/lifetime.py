"""The partner's lifetime amount: the condition field ``partner.lifetime_amount``.

Definition: the total of the partner's counted sales **before the event's day** (UTC days) — deals won
(``closed_at`` of a deal in a won stage) and accepted ``purchase`` and ``recurring_payment`` conversions,
net of their accepted refunds — each converted to the plan's currency at the exchange rate of that sale's
own day (the FX table the accrual converts with; a refund at its sale's rate, so a full refund takes the
sale out exactly, from the refund's day on), rounded to cents at the end.

Why the day before: every event of one day sees the same figure whatever the order, batch or worker that
evaluates it, so the accrual, the replay and the what-if agree to the cent; a sale counts from the day
after it (the threshold crossed mid-month pays from the next day). Why every sale rather than the sales a
plan paid for: the figure is the partner's, not a plan's (a plan paying purchases may reward partners who
also close deals), and it does not depend on which version was in force.

The totals are read once per run, for the partners a run evaluates, in one grouped query per kind
(partner × day × currency), and kept as running totals per partner and plan currency: a lookup is a
bisection. Nothing is read when no rule of the workspace tests the field (``Context.needs_lifetime``).
A sale whose rate is missing makes the figure unknown from the next day on (``MissingRate``): the
accrual keeps such events waiting, like an event without its own rate."""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Abs, Coalesce, Greatest, Least, TruncDate

from openprm.activity.models import Conversion
from openprm.commissions import engine
from openprm.commissions.engine.conditions import Cond
from openprm.deals.models import Deal, Outcome
from openprm.finance.selectors.fx import FxTable, MissingRate, fx_table

FIELD = "partner.lifetime_amount"
EXPLAINED = "lifetime_amount"  # the explanation's key: the figure the conditions read
SALE_KINDS = (Conversion.Kind.PURCHASE.value, Conversion.Kind.RECURRING.value)
ZERO = Decimal(0)
UTC = datetime.UTC
CHUNK = 5000

# One contribution: (counts from this day on, the day of its rate, currency, amount)
Entry = tuple[datetime.date, datetime.date, str, Decimal]


def reads(condition: Cond | None, name: str = FIELD) -> bool:
    """Whether a compiled condition tree tests the field ``name``."""
    if condition is None:
        return False
    if condition[0] == "cond":
        return bool(condition[1] == name)
    return any(reads(child, name) for child in condition[1])


def reads_lifetime(rule: engine.CompiledRule) -> bool:
    return reads(rule.condition)


def _next_day(day: datetime.date) -> datetime.date:
    return day + datetime.timedelta(days=1)


class Lifetime:
    """Running lifetime totals of a workspace's partners, loaded on the first lookup for the partners
    ``expect`` named (one grouped query per kind), any other partner on its own first lookup."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._expected: set[int] = set()
        self._entries: dict[int, list[Entry]] = {}
        # (partner, currency) → (days, totals before each day's next, first day unknown and why)
        self._series: dict[
            tuple[int, str],
            tuple[list[datetime.date], list[Decimal], tuple[datetime.date, MissingRate] | None],
        ] = {}
        self._fx: FxTable | None = None

    def expect(self, partner_ids: Iterable[int]) -> None:
        """Partners whose totals the next load reads together."""
        self._expected.update(p for p in partner_ids if p not in self._entries)

    def amount(self, partner_id: int, day: datetime.date, currency: str) -> Decimal:
        """The partner's lifetime amount in ``currency`` before ``day``; ``MissingRate`` when a sale
        before it cannot be converted."""
        series = self._series.get((partner_id, currency))
        if series is None:
            series = self._series[(partner_id, currency)] = self._build(partner_id, currency)
        days, totals, unknown = series
        if unknown is not None and unknown[0] <= day:
            raise unknown[1]
        i = bisect.bisect_right(days, day)  # the entries counting from ``day`` or earlier
        return totals[i - 1] if i else engine.cents(ZERO)

    def _build(
        self, partner_id: int, currency: str
    ) -> tuple[list[datetime.date], list[Decimal], tuple[datetime.date, MissingRate] | None]:
        if partner_id not in self._entries:
            self._load({partner_id} | self._expected)
        entries = sorted(self._entries.get(partner_id, []))
        foreign = [fx_day for _, fx_day, ccy, _ in entries if ccy and ccy != currency]
        if foreign:
            self._cover(min(foreign), max(foreign))
        days: list[datetime.date] = []
        totals: list[Decimal] = []
        running = ZERO
        unknown: tuple[datetime.date, MissingRate] | None = None
        for counts_from, fx_day, ccy, value in entries:
            if ccy and ccy != currency:
                assert self._fx is not None
                try:
                    rate, _ = self._fx.rate(ccy, currency, fx_day)
                except MissingRate as exc:
                    unknown = (counts_from, exc)
                    break
                value = value * rate
            running += value
            if days and days[-1] == counts_from:
                totals[-1] = engine.cents(running)
            else:
                days.append(counts_from)
                totals.append(engine.cents(running))
        return days, totals, unknown  # totals[i]: every entry counting from days[i] or earlier

    def _cover(self, start: datetime.date, end: datetime.date) -> None:
        table = self._fx
        if table is not None and table.start <= start and end <= table.end:
            return
        if table is not None:
            start, end = min(start, table.start), max(end, table.end)
        self._fx = fx_table(workspace_id=self.workspace_id, start=start, end=end)

    def _load(self, partner_ids: set[int]) -> None:
        ids = sorted(p for p in partner_ids if p not in self._entries)
        found: dict[int, list[Entry]] = defaultdict(list)
        for i in range(0, len(ids), CHUNK):
            for partner, entry in _read(self.workspace_id, ids[i : i + CHUNK]):
                found[partner].append(entry)
        for partner in ids:
            self._entries[partner] = found.get(partner, [])
        self._expected.difference_update(ids)


def _read(workspace_id: int, part: list[int]) -> Iterable[tuple[int, Entry]]:
    """(partner, entry) of the partners ``part``: sales counting from the day after theirs, refunds
    (negative) from the day after the refund at their sale's day and currency, never more of a sale
    than it was (``_capped_refund``). Three grouped queries."""
    sales = Conversion.objects.filter(
        workspace_id=workspace_id,
        status=Conversion.Status.ACCEPTED,
        kind__in=SALE_KINDS,
        partner_id__in=part,
    )
    rows: Any = (
        sales.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values_list("partner_id", "day", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for partner, day, ccy, total in rows:
        yield partner, (_next_day(day), day, ccy or "", _money(total))
    refunds = Conversion.objects.filter(
        workspace_id=workspace_id,
        status=Conversion.Status.ACCEPTED,
        kind=Conversion.Kind.REFUND,
        refund_of__status=Conversion.Status.ACCEPTED,
        refund_of__kind__in=SALE_KINDS,
        refund_of__partner_id__in=part,
    )
    rows = (
        refunds.annotate(
            day=TruncDate("occurred_at", tzinfo=UTC),
            sale_day=TruncDate("refund_of__occurred_at", tzinfo=UTC),
            taken=_capped_refund(),
        )
        .values_list("refund_of__partner_id", "day", "sale_day", "refund_of__currency")
        .annotate(total=Sum("taken"))
        .order_by()
    )
    for partner, day, sale_day, ccy, total in rows:
        yield partner, (_next_day(day), sale_day, ccy or "", -_money(total))
    won = Deal.objects.filter(
        workspace_id=workspace_id,
        stage__outcome=Outcome.WON,
        closed_at__isnull=False,
        partner_id__in=part,
    )
    rows = (
        won.annotate(day=TruncDate("closed_at", tzinfo=UTC))
        .values_list("partner_id", "day", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for partner, day, ccy, total in rows:
        yield partner, (_next_day(day), day, ccy or "", _money(total))


def _capped_refund() -> Any:
    """What one refund takes from the lifetime amount: its amount, but no more of its sale than is left
    once the sale's earlier refunds (by moment, then id, as the ledger prorates them) took theirs, so
    refunds summing to more than a sale take the sale out once (60,000 refunded 40,000 twice: 40,000 then
    20,000). A correlated sum of the sale's refunds up to this one, inside the one grouped query."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)
    so_far = (
        Conversion.objects.filter(
            refund_of_id=OuterRef("refund_of_id"),
            status=Conversion.Status.ACCEPTED,
            kind=Conversion.Kind.REFUND,
        )
        .filter(
            Q(occurred_at__lt=OuterRef("occurred_at"))
            | Q(occurred_at=OuterRef("occurred_at"), id__lte=OuterRef("id"))
        )
        .order_by()
        .values("refund_of_id")
        .annotate(total=Sum(Abs("amount")))
        .values("total")
    )
    upto = Coalesce(Subquery(so_far, output_field=money), Value(ZERO), output_field=money)
    sale = F("refund_of__amount")
    before = ExpressionWrapper(upto - Abs("amount"), output_field=money)
    return ExpressionWrapper(
        Greatest(Least(upto, sale) - Least(before, sale), Value(ZERO)), output_field=money
    )


def _money(value: Any) -> Decimal:
    """A sum as an exact amount (SQLite sums decimals as floats: back to cents)."""
    return engine.cents(Decimal(str(value or 0)))
