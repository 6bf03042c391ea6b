"""What-if and forecast, without writing anything.

``simulate_version``: apply a version (typically a draft) to the last N months of real events — every
source the version's plan applies to, in the engine's order, from an empty running state at the window's
start — and put what it would have paid next to what the ledger accrued, per partner.

``payout_forecast``: for the coming months, per plan currency: the approved balance (due at the next
payout), pending entries by the month their hold ends, and the open pipeline (deals expected to close
that month × their stage's win probability × what the plan in force pays for a win)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry, PlanVersion
from openprm.commissions.services import sources as src
from openprm.commissions.services.accrual import AccrualResult, Fx, evaluate_sources
from openprm.commissions.services.context import load_context
from openprm.commissions.services.rows import POS
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.partners.models import Partner

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PartnerWhatIf:
    partner_id: int
    partner_public_id: str
    partner_name: str
    would_pay: Decimal
    actual: Decimal
    events: int


@dataclass(slots=True)
class Simulation:
    version: PlanVersion
    months: int
    start: datetime.date
    end: datetime.date
    currency: str
    partners: list[PartnerWhatIf] = field(default_factory=list)
    missing_fx: int = 0

    @property
    def would_pay(self) -> Decimal:
        return sum((p.would_pay for p in self.partners), ZERO)

    @property
    def actual(self) -> Decimal:
        return sum((p.actual for p in self.partners), ZERO)


def _months_back(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _utc(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def simulate_version(
    *, actor: Actor, version: PlanVersion, months: int = 6, today: datetime.date | None = None
) -> Simulation:
    """What ``version`` would have paid over the last ``months`` whole months and this one so far."""
    actor.require(Perm.COMMISSION_VIEW)
    months = max(1, min(int(months), 36))
    today = today or timezone.localdate()
    start, end = _months_back(today, months), today + datetime.timedelta(days=1)
    plan = version.plan
    result = Simulation(version, months, start, today, plan.currency)
    ctx = load_context(actor.workspace_id, draft=_as_of(version, start))
    wanted = ctx.events()
    w_start, w_end = _utc(start), _utc(end)
    sales = [
        c
        for c in src.conversions(
            actor.workspace_id, start=w_start, end=w_end, customers=ctx.needs_customers()
        )
        if c.event in wanted
    ]
    sales += [
        s
        for d in src.deals(actor.workspace_id, start=w_start, end=w_end)
        for s in d.sources
        if s.event in wanted
    ]
    custom = [e for e in wanted if e.startswith("custom:") or e in ("lead_accepted", "target_reached")]
    if custom:
        sales += src.activity_events(actor.workspace_id, types=custom, start=w_start, end=w_end)
    ctx.partners = src.partner_facts(actor.workspace_id, {s.partner_id for s in sales})
    todo = sorted(
        (s for s in sales if (found := ctx.plan_for(s)) and found[0].id == plan.pk), key=lambda s: s.order
    )
    would: dict[int, Decimal] = defaultdict(lambda: ZERO)
    events: dict[int, int] = defaultdict(int)
    if todo:
        fx = Fx(actor.workspace_id, start, today)
        outcome = AccrualResult()
        for row in evaluate_sources(ctx, todo, engine.State(), fx, timezone.now(), outcome):
            would[row[POS["partner_id"]]] += row[POS["amount"]]
        result.missing_fx = len(outcome.missing_fx)
        for s in todo:
            events[s.partner_id] += 1
    actual = dict(
        LedgerEntry.objects.filter(plan_id=plan.pk, occurred_at__gte=_utc(start), occurred_at__lt=_utc(end))
        .exclude(kind=LedgerEntry.Kind.PAYOUT)
        .exclude(state=LedgerEntry.State.REJECTED)
        .values_list("partner_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    ids = set(would) | set(actual)
    names = {
        pid: (str(pub), name)
        for pid, pub, name in Partner.objects.filter(pk__in=ids).values_list("id", "public_id", "name")
    }
    for pid in sorted(ids, key=lambda p: names.get(p, ("", ""))[1]):
        if pid not in names:
            continue  # outside the actor's partners
        result.partners.append(
            PartnerWhatIf(
                pid,
                names[pid][0],
                names[pid][1],
                engine.cents(would.get(pid, ZERO)),
                engine.cents(Decimal(str(actual.get(pid) or 0))),
                events.get(pid, 0),
            )
        )
    return result


def _as_of(version: PlanVersion, start: datetime.date) -> PlanVersion:
    """The version standing in for its plan over the whole window (from its start)."""
    stand_in = PlanVersion(
        pk=version.pk,
        plan_id=version.plan_id,
        rules=version.rules,
        effective_from=min(start, version.effective_from),
    )
    return stand_in


@dataclass(frozen=True, slots=True)
class ForecastRow:
    period: datetime.date
    currency: str
    pending: Decimal
    approved: Decimal
    pipeline: Decimal


def payout_forecast(
    *, actor: Actor, periods: int = 3, today: datetime.date | None = None
) -> list[ForecastRow]:
    """Per month from this one and plan currency: approved balance, pending by hold end, pipeline."""
    actor.require(Perm.COMMISSION_VIEW)
    periods = max(1, min(int(periods), 12))
    today = today or timezone.localdate()
    first = today.replace(day=1)
    months = [_months_back(first, -i) for i in range(periods)]
    horizon = _months_back(first, -periods)
    cells: dict[tuple[datetime.date, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    live = LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.PAYOUT)
    for ccy, total in (
        live.filter(state=LedgerEntry.State.APPROVED, paid_item__isnull=True)
        .values_list("currency")
        .annotate(t=Sum("amount"))
        .order_by()
    ):
        cells[(months[0], ccy)][1] += Decimal(str(total or 0))
    pending = live.filter(state=LedgerEntry.State.PENDING, hold_until__lt=horizon)
    for hold, ccy, amount in pending.values_list("hold_until", "currency", "amount"):
        month = max(hold.replace(day=1), months[0]) if hold else months[0]
        cells[(month, ccy)][0] += amount
    for (month, ccy), value in _pipeline(actor, months[0], horizon).items():
        cells[(month, ccy)][2] += value
    return [
        ForecastRow(month, ccy, engine.cents(v[0]), engine.cents(v[1]), engine.cents(v[2]))
        for (month, ccy), v in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def _pipeline(
    actor: Actor, first: datetime.date, horizon: datetime.date
) -> dict[tuple[datetime.date, str], Decimal]:
    """Open deals expected to close in the window × win probability × the plan's pay for a win."""
    from openprm.deals.models import Deal, Outcome

    ctx = load_context(actor.workspace_id)
    out: dict[tuple[datetime.date, str], Decimal] = defaultdict(lambda: ZERO)
    if ctx.empty or "deal_won" not in ctx.events():
        return out
    rows = list(
        Deal.objects.filter(
            stage__outcome=Outcome.OPEN, expected_close_date__gte=first, expected_close_date__lt=horizon
        )
        .order_by()
        .values_list(
            "id",
            "partner_id",
            "program_id",
            "amount",
            "currency",
            "source",
            "expected_close_date",
            "stage__win_probability",
        )
    )
    ctx.partners = src.partner_facts(actor.workspace_id, {r[1] for r in rows})
    if ctx.lifetime is not None:
        ctx.lifetime.expect(ctx.partners)
    fx = Fx(actor.workspace_id, first, horizon) if rows else None
    for did, partner, program, amount, ccy, source, close, probability in rows:
        if close is None:
            continue
        at = _utc(close)
        fields = {"currency": ccy, "source": source, "program": program, "product": []}
        s = src.Source("deal", did, "deal_won", partner, program, at, amount, ccy, fields)
        found = ctx.plan_for(s)
        if found is None or fx is None:
            continue
        info, _, compiled = found
        try:
            rate, _ = fx.rate(ccy, info.currency, close)
        except fx.missing:
            continue
        value = amount * rate
        read = ctx.fields(s, ctx.partners.get(partner), value, info.currency)  # lifetime: before close
        facts = engine.Facts("deal_won", partner, close, value, read)
        earned = engine.evaluate(compiled, facts, engine.State()).total
        out[(close.replace(day=1), info.currency)] += earned * Decimal(probability or 0)
    return out
