"""Later events re-evaluated when a partner's lifetime amount moved under them.

A sale accrued late, a refund, a deal won, lost or corrected, a conversion rejected or moved to another
partner changes the partner's lifetime amount (``services.lifetime``) for every day after it. The events
evaluated before with a rule testing it recorded the figure they read (the explanation's
``lifetime_amount``); those whose figure is no longer the partner's are evaluated again through the
engine, with the version, exchange rate and day of their rows and at their current amount before refunds,
as an amount correction is (``services.periods.changed_rows``); the sale's refunds are then prorated on
the new rows (``refunds_after``), so a rule chosen now pays its share once:

- a rule chosen now that paid nothing, or one that paid and is no longer chosen, gets the difference
  posted as a new row (an adjustment linked to the rule's row, or the rule's first row for the event);
  a rule chosen then and now keeps what it earned (the lifetime amount decides whether a rule applies,
  never how much it pays); the parent's overrides follow;
- the periods of rules with period state (tiers, thresholds, period caps) are re-evaluated by the periods'
  re-evaluation, which reads the same figure.

A partner whose lifetime amount moved is known from the run's sources and the rows its corrections wrote;
a source without rows of its own (a plan paying purchases only: a won deal, a recurring payment) moved to
another partner or detached names no former partner, so every partner holding lifetime-recorded rows after
its day is looked at (``_unknown_former``).

Nothing is edited; the new rows record the figure read now, so the next run compares with it."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openprm.activity.models import Conversion
from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import corrections
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import Context, LifetimeFields, PlanInfo
from openprm.commissions.services.lifetime import EXPLAINED, SALE_KINDS, reads_lifetime
from openprm.commissions.services.periods import Settler, apply_fx, current_sources, stateful
from openprm.commissions.services.rows import POS
from openprm.commissions.services.running import refunded_shares
from openprm.deals.models import Deal
from openprm.finance.selectors.fx import MissingRate

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State
EARLIEST = datetime.date(1900, 1, 1)
Moved = dict[int, datetime.date]  # partner → the earliest day a sale of theirs changed


def moved(
    workspace_id: int,
    *,
    convs: Iterable[src.Source],
    deals: Iterable[src.DealState],
    written: Iterable[tuple[int, datetime.date]],
    rejected: Iterable[int],
    run: tuple[bool, datetime.datetime | None, datetime.datetime | None, datetime.datetime | None],
) -> Moved | None:
    """The partners whose lifetime amount may have moved in a run, each from the earliest day it may
    have: the conversions and deals the run read (a deal from the day it was registered: it was won no
    earlier; a run over a period reads every deal, only its wins in the period count), the (partner,
    day) of the rows its corrections wrote (a conversion's former partner) and the rejected conversions.
    ``run``: (by ids, changed after, start, end) of the accrual; None for a run over everything."""
    only_ids, changed_after, start, end = run
    if not only_ids and changed_after is None and start is None and end is None:
        return None
    ranged = not only_ids and changed_after is None
    days: Moved = {}

    def note(partner: int | None, day: datetime.date) -> None:
        if partner is not None and (partner not in days or day < days[partner]):
            days[partner] = day

    for c in convs:
        if c.event in SALE_KINDS or c.event == "refund":
            note(c.partner_id, c.occurred_at.date())
    for d in deals:
        if ranged:
            for s in d.sources:
                if s.event == "deal_won":
                    note(s.partner_id, s.occurred_at.date())
        else:
            note(d.partner_id, d.since or EARLIEST)
    for partner, day in written:
        note(partner, day)
    if not ranged:  # a source that earned nothing moved or detached: its former partner is not known
        former = _unknown_former(workspace_id, convs, deals, changed_after)
        if former is not None:
            for partner in _lifetime_holders(workspace_id, former):
                note(partner, former)
    ids = sorted(set(rejected))
    for i in range(0, len(ids), 5000):
        rows = Conversion.objects.filter(workspace_id=workspace_id, pk__in=ids[i : i + 5000])
        for partner, at in rows.values_list("partner_id", "occurred_at").order_by():
            note(partner, at.date())
    return days


def _unknown_former(
    workspace_id: int,
    convs: Iterable[src.Source],
    deals: Iterable[src.DealState],
    changed_after: datetime.datetime | None,
) -> datetime.date | None:
    """The earliest day of the run's sales and deals whose former partner the ledger cannot name: stored
    before the run's window (an edit, not a new one; any for a run by ids) and without rows of their own
    (a move of a source with rows closes them, and the rows name the partner), and of the sales whose
    attribution was removed in the window."""
    sales = {c.id: c.occurred_at.date() for c in convs if c.event in SALE_KINDS}
    won = {d.id: d.since or EARLIEST for d in deals}
    days: list[datetime.date] = []
    for kind, model, found in (("conversion", Conversion, sales), ("deal", Deal, won)):
        ids = sorted(found)
        for i in range(0, len(ids), 5000):
            part = ids[i : i + 5000]
            if changed_after is not None:
                older = model.objects.filter(pk__in=part, created_at__lte=changed_after)
                part = list(older.values_list("id", flat=True).order_by())
            earned = LedgerEntry.objects.filter(
                workspace_id=workspace_id, source_kind=kind, source_id__in=part
            )
            part_set = set(part) - set(earned.values_list("source_id", flat=True).distinct().order_by())
            days += [found[j] for j in part_set]
    if changed_after is not None:
        detached = Conversion.objects.filter(
            workspace_id=workspace_id,
            partner_id__isnull=True,
            kind__in=SALE_KINDS,
            updated_at__gt=changed_after,
        )
        days += [at.date() for at in detached.values_list("occurred_at", flat=True).order_by()]
    return min(days) if days else None


def _lifetime_holders(workspace_id: int, day: datetime.date) -> set[int]:
    """The partners with rows after ``day`` that recorded the lifetime amount they read."""
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT],
        occurred_at__gte=_utc(day + datetime.timedelta(days=1)),
        explanation__has_key=EXPLAINED,
    )
    return set(rows.values_list("partner_id", flat=True).distinct().order_by())


def reread(
    workspace_id: int, changed: list[tuple[src.Source, corrections.Evaluation]]
) -> list[tuple[src.Source, corrections.Evaluation]]:
    """The evaluations of ``changed`` read again from the ledger (after rows written to them in the run,
    a rejected refund's given back); those closed since are left out."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for s, _ in changed:
        wanted[s.kind].add(s.id)
    found = {kind: corrections.evaluations(workspace_id, kind, ids) for kind, ids in wanted.items()}
    out = []
    for s, _ in changed:
        evaluation = found[s.kind].get((s.id, s.event))
        if evaluation is not None and not evaluation.closed and evaluation.anchors:
            out.append((s, evaluation))
    return out


def _utc(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


Record = tuple[int, int, datetime.datetime, str, str]  # row id, partner, occurred, currency, figure read


def _records(
    ctx: Context, versions: Iterable[int], days: Moved | None, now: datetime.datetime
) -> dict[tuple[str, int, str, int], Record]:
    """The latest figure each evaluation (kind, source, event, generation) of the partners recorded,
    for events after the day their lifetime moved (``days`` None: every partner, every day), from rows
    written before this run."""
    rows = LedgerEntry.objects.filter(
        workspace_id=ctx.workspace_id,
        plan_version_id__in=sorted(versions),
        kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT],
        created_at__lt=now,
        explanation__has_key=EXPLAINED,
    ).exclude(state=STATE.REJECTED)
    if days is not None:
        rows = rows.filter(
            partner_id__in=sorted(days),
            occurred_at__gte=_utc(min(days.values()) + datetime.timedelta(days=1)),
        )
    latest: dict[tuple[str, int, str, int], Record] = {}
    for rid, kind, source_id, event, key, partner, at, currency, said in rows.values_list(
        "id",
        "source_kind",
        "source_id",
        "source_event",
        "idempotency_key",
        "partner_id",
        "occurred_at",
        "currency",
        f"explanation__{EXPLAINED}",
    ).order_by():
        if source_id is None or (days is not None and at.date() <= days[partner]):
            continue
        generation = src.generation_of(kind, source_id, event, key)
        if generation is None:
            continue
        k = (kind, source_id, event, generation)
        if k not in latest or rid > latest[k][0]:
            latest[k] = (rid, partner, at, currency, _said(said))
    return latest


def _said(value: Any) -> str:
    """A recorded figure as written (SQLite's key extraction reads "90000.00" back as a number)."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except (ArithmeticError, ValueError):
        return str(value)


def _figure(ctx: Context, partner: int, day: datetime.date, currency: str) -> str:
    assert ctx.lifetime is not None
    try:
        return f"{ctx.lifetime.amount(partner, day, currency):.2f}"
    except MissingRate:
        return "unknown"


def lifetime_rows(
    ctx: Context,
    days: Moved | None,
    now: datetime.datetime,
    *,
    touched: set[tuple[int, datetime.date]],
) -> list[list[Any]]:
    """The rows re-evaluating the events whose lifetime amount moved (``days`` None: every partner's,
    a run over everything); the (partner, day) of those with period state join ``touched``."""
    table = ctx.lifetime
    if table is None or days == {}:
        return []
    versions: dict[int, tuple[PlanInfo, engine.Plan]] = {
        vid: (ctx.plans[plan_id], compiled)
        for plan_id, found in ctx.versions.items()
        for _, vid, compiled in found
        if any(reads_lifetime(r) for r in compiled.rules)
    }
    if not versions:
        return []
    records = _records(ctx, versions, days, now)
    table.expect({r[1] for r in records.values()})
    figures = {k: _figure(ctx, r[1], r[2].date(), r[3]) for k, r in records.items()}
    # a figure unknown now (a sale without its rate) leaves the event as it stands until it is known
    stale = {k: r for k, r in records.items() if figures[k] not in (r[4], "unknown")}
    if not stale:
        return []
    wanted: dict[str, set[int]] = defaultdict(set)
    for kind, source_id, _, _ in stale:
        wanted[kind].add(source_id)
    found = {kind: corrections.evaluations(ctx.workspace_id, kind, ids) for kind, ids in wanted.items()}
    current = current_sources(ctx, wanted)
    shares = refunded_shares(ctx.workspace_id, wanted.get("conversion", set()))
    partners = src.partner_facts(ctx.workspace_id, {r[1] for r in stale.values()})
    settler = Settler(ctx, now)
    order = sorted(stale.items(), key=lambda kv: (kv[1][2], src.RANK.get(kv[0][2], 7), kv[0][1], kv[0][3]))
    for (kind, source_id, event, generation), (_, partner, _, _, said) in order:
        evaluation = found[kind].get((source_id, event))
        source = current.get((kind, source_id, event))
        if (
            evaluation is None
            or evaluation.generation != generation
            or evaluation.closed
            or evaluation.partner_id != partner
            or source is None
            or source.partner_id != partner
        ):
            continue  # closed, moved or evaluated anew: its corrections are the accrual's
        share = shares.get(source_id, ZERO) if kind == "conversion" else ZERO
        anchor = evaluation.anchors[0]
        version = versions.get(anchor["plan_version_id"])
        if version is None or share >= 1:
            continue
        info, compiled = version
        gross = source.amount if corrections.amount_counts(source) else (evaluation.base or ZERO)
        amount = gross * anchor["fx_rate"]  # before refunds: they are prorated on the rows after
        fields = LifetimeFields(source, partners.get(partner), amount, table, info.currency, strict=False)
        day = anchor["occurred_at"].date()
        facts = engine.Facts(source.event, partner, day, amount, fields, source.customer_months)
        outcome = engine.evaluate(compiled, facts, engine.State())
        apply_fx(outcome, anchor)
        figure = "unknown" if fields.lifetime_value is None else f"{fields.lifetime_value:.2f}"
        outcome.explanation[EXPLAINED] = figure
        with_state = {r.key for r in compiled.rules if stateful(r)}
        if with_state:
            touched.add((partner, day))
        chosen = {line.rule_key for line in outcome.lines} - with_state
        net: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for e in evaluation.entries:
            if e["kind"] != KIND.OVERRIDE:
                net[e["rule_key"]] += e["amount"] + e["adjusted"] + e["undone"]
        paid = {rule for rule, value in net.items() if value} - with_state
        keys = (chosen ^ paid) - {""}
        if keys:
            note = f"the partner's lifetime amount {said} → {figure} {info.currency}"
            settler.settle(evaluation, source, outcome, keys, compiled, new_base=None, note=note, gross=True)
    return settler.rows


def refunds_after(
    workspace_id: int, rows: list[list[Any]], now: datetime.datetime, held: set[int]
) -> list[list[Any]]:
    """The refunds of the sales ``lifetime_rows`` wrote rows for (written already) prorated again on them
    (the re-evaluation posts what the sale earns before its refunds); ``held``: sales waiting for a rate."""
    sales = {r[POS["source_id"]] for r in rows if r[POS["source_kind"]] == "conversion"} - held
    if not sales:
        return []
    refunds = src.conversions(workspace_id, refunds_of=sales, customers=False)
    return corrections.refund_rows(workspace_id, refunds, now)
