"""Deterministic replay: re-run the engine over the sources of a window, from the ledger's state at the
window's start, without writing, and compare every amount with the ledger's to the cent.

The same events (and the same partner facts, rates and plan versions) give byte-identical amounts. What
replay compares is each evaluation row's **net**: the row plus every correction linked to it (an
amount or another input re-evaluated, a rule no longer chosen ``:outN`` or chosen again ``:inN``, the
parents' override follow-ups, a period re-evaluated, a moved lifetime amount, the reversal that closed
it), generations together (a deal won again: the closed ``#1`` nets to 0, ``#2`` holds what the win
earns now, and replay evaluates the source as it stands). Rows netting to zero that replay does not
produce (a rule that no longer pays, a closed evaluation), and zero rows of an event that earns nothing
(``:-``) that the ledger does not hold, are not differences.

Refunds are compared at the refund-adjusted net: the ledger's refund reversals (``r<refund>:…``, and
their give-backs) count, and the replay takes the sale's refunded share as it stands — prorated like the
ledger for commissions and bonuses per event (percent and flat: the replayed amount less its refunded
share, to the cent), and from a second engine run at every sale's net amount for the rules with period
state (tiers, thresholds, period caps), whose periods the ledger re-evaluates at net amounts.

A difference means an input changed since the accrual and was not re-evaluated (an FX rate imported
late, a tier), that events arrived late, out of order (the ledger continued the period where it stood:
the adjustments are in the ledger, the replay orders by occurrence), or that a row is wrong. Rejected
rows count with their amounts (the engine's decision, not finance's)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.accrual import (
    _POS,
    AccrualResult,
    Fx,
    evaluate_sources,
    workspace_scope,
)
from openprm.commissions.services.context import Context, load_context
from openprm.commissions.services.inputs import KEY as INPUTS
from openprm.commissions.services.periods import stateful
from openprm.commissions.services.running import load_state, refunded_shares

KIND = LedgerEntry.Kind
ZERO = Decimal(0)
ONE = Decimal(1)
_GENERATION = re.compile(r"#\d+(?=:|$)")
_TRUEUP = re.compile(r":trueup(?=:|$)")


@dataclass(slots=True)
class ReplayResult:
    compared: int = 0
    identical: int = 0
    differences: list[dict[str, str]] = field(default_factory=list)
    total_replayed: Decimal = Decimal(0)
    total_ledger: Decimal = Decimal(0)
    estimates: int = 0  # registration and approval bounties of deals edited since: kept, not compared

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "identical": self.identical,
            "differences": self.differences[:50],
            "total_replayed": f"{self.total_replayed:.2f}",
            "total_ledger": f"{self.total_ledger:.2f}",
            "estimates_kept": self.estimates,
        }


def replay(*, workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> ReplayResult:
    """Replay the sales, wins and events that occurred in ``[start, end)`` (corrections are not replayed:
    they are netted into the rows they correct)."""
    with workspace_scope(workspace_id):
        return _replay(workspace_id, start, end)


def key_of(key: str) -> str:
    """What replay compares a row under: the event and the rule (and the override level), without the
    generation (``d12:deal_won#2:resale`` → ``d12:deal_won:resale``: the replay evaluates a source as it
    stands, which is its latest generation) and with a tier's true-up in its rule's amount
    (``c9:purchase:sales:trueup`` → ``c9:purchase:sales``: a period re-evaluated settles the rule's
    difference on the commission row)."""
    return _TRUEUP.sub("", _GENERATION.sub("", key, count=1), count=1)


def _replay(workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> ReplayResult:
    result = ReplayResult()
    ctx = load_context(workspace_id)
    if ctx.empty:
        return result
    replayed, estimated = _replayed(ctx, workspace_id, start, end)
    ledger = ledger_net(workspace_id, start, end)
    recorded = _estimates_recorded(workspace_id, start, end)
    for stem, now in estimated.items():
        if stem in recorded and recorded[stem] != now:
            # the deal was edited after its registration's or approval's bounty: the deal then was an
            # estimate, the accrual keeps what it paid (``corrections.amount_counts``); the replay, which
            # reads the deal as it is now, cannot evaluate it as it was
            result.estimates += 1
            for found in (replayed, ledger):
                for key in [k for k in found if k.startswith(stem + ":")]:
                    del found[key]
    for key in sorted(set(replayed) | set(ledger)):
        mine, theirs = replayed.get(key), ledger.get(key)
        if not mine and not theirs and (mine is None or theirs is None):
            # zero on one side, nothing on the other: a rule no longer chosen or a closed evaluation
            # netted to zero, the zero row (``:-``) of an event that earns nothing now or earned nothing then
            continue
        result.compared += 1
        result.total_replayed += mine or 0
        result.total_ledger += theirs or 0
        if mine is not None and theirs is not None and str(mine) == str(theirs):
            result.identical += 1
        else:
            result.differences.append(
                {
                    "key": key,
                    "replayed": "-" if mine is None else str(mine),
                    "ledger": "-" if theirs is None else str(theirs),
                }
            )
    return result


def _sources(ctx: Context, workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> list[Any]:
    wanted = ctx.events()
    sales = [
        c
        for c in src.conversions(workspace_id, start=start, end=end, customers=ctx.needs_customers())
        if c.event in wanted
    ]
    sales += [
        s for d in src.deals(workspace_id, start=start, end=end) for s in d.sources if s.event in wanted
    ]
    custom = [e for e in wanted if e.startswith("custom:") or e in ("lead_accepted", "target_reached")]
    if custom:
        sales += src.activity_events(workspace_id, types=custom, start=start, end=end)
    return sorted(sales, key=lambda s: s.order)


def _replayed(
    ctx: Context, workspace_id: int, start: datetime.datetime, end: datetime.datetime
) -> tuple[dict[str, Decimal], dict[str, Estimate]]:
    """The amount of every row the engine writes for the window's sources, at the refund-adjusted net;
    and what the registration and approval bounties were evaluated at (``_estimates``)."""
    todo = _sources(ctx, workspace_id, start, end)
    if not todo:
        return {}, {}
    ctx.partners = src.partner_facts(workspace_id, {s.partner_id for s in todo})
    days = [s.occurred_at.date() for s in todo]
    fx = Fx(workspace_id, min(days), max(days))

    def run(sources: list[Any]) -> list[list[Any]]:
        state = load_state(ctx, sources, before=start)
        return evaluate_sources(ctx, sources, state, fx, timezone.now(), AccrualResult())

    rows = run(todo)
    estimated = _estimates(rows)
    shares = refunded_shares(workspace_id, {s.id for s in todo if s.kind == "conversion"})
    if not shares:
        return _by_key(rows), estimated
    # Refunded sales: per-event rows prorated as the ledger prorates them; rows of rules with period
    # state from a run at every sale's net amount (the ledger re-evaluates their periods at net amounts).
    periodic = {
        (vid, rule.key)
        for versions in ctx.versions.values()
        for _, vid, plan in versions
        for rule in plan.rules
        if stateful(rule)
    }
    net = [
        dataclasses.replace(s, amount=s.amount - s.amount * shares[s.id])
        if s.kind == "conversion" and s.id in shares
        else s
        for s in todo
    ]
    at_net = _by_key(r for r in run(net) if (r[_POS["plan_version_id"]], r[_POS["rule_key"]]) in periodic)
    prorated = []
    for r in rows:
        if (r[_POS["plan_version_id"]], r[_POS["rule_key"]]) in periodic:
            continue
        share = shares.get(r[_POS["source_id"]]) if r[_POS["source_kind"]] == "conversion" else None
        if share:
            r = r.copy()
            r[_POS["amount"]] -= engine.cents(r[_POS["amount"]] * min(share, ONE))
        prorated.append(r)
    return {**_by_key(prorated), **at_net}, estimated


Estimate = tuple[Decimal, str | None]  # the deal's amount and the fingerprint of the other inputs read
ESTIMATES = ("deal_registered", "deal_approved")


def _estimates(rows: Iterable[list[Any]]) -> dict[str, Estimate]:
    """What each registration's or approval's evaluation reads (by stem): its amount and inputs."""
    out: dict[str, Estimate] = {}
    for r in rows:
        if r[_POS["source_kind"]] == "deal" and r[_POS["source_event"]] in ESTIMATES:
            explanation = r[_POS["explanation"]]
            if isinstance(explanation, str):
                explanation = json.loads(explanation)
            stem = src.stem("deal", r[_POS["source_id"]], r[_POS["source_event"]])
            out.setdefault(stem, (engine.cents(r[_POS["base_amount"]]), explanation.get(INPUTS)))
    return out


def _estimates_recorded(
    workspace_id: int, start: datetime.datetime, end: datetime.datetime
) -> dict[str, Estimate]:
    """The same for the ledger's registration and approval evaluations of the window (latest generation)."""
    found: dict[str, tuple[int, Estimate]] = {}
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        occurred_at__gte=start,
        occurred_at__lt=end,
        source_kind="deal",
        source_event__in=ESTIMATES,
        kind__in=[KIND.ACCRUAL, KIND.BONUS],
        reverses__isnull=True,
    ).values_list("source_id", "source_event", "idempotency_key", "base_amount", f"explanation__{INPUTS}")
    for source_id, event, key, base, seen in rows.order_by():
        generation = src.generation_of("deal", source_id, event, key) or 0
        stem = src.stem("deal", source_id, event)
        if stem not in found or found[stem][0] < generation:
            found[stem] = (generation, (engine.cents(base), seen))
    return {stem: estimate for stem, (_, estimate) in found.items()}


def _by_key(rows: Iterable[list[Any]]) -> dict[str, Decimal]:
    """The replayed rows' amounts summed by ``key_of`` (a true-up with its rule's commission)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[key_of(r[_POS["idempotency_key"]])] += r[_POS["amount"]]
    return dict(out)


def ledger_net(workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> dict[str, Decimal]:
    """The net of every evaluation row of the window (keyed without its generation): the row and every
    correction linked to it, through the rows they link to (an override's follow-up links the override)."""
    rows: dict[int, tuple[str, Decimal | None, int | None]] = {
        pk: (key, amount, reverses)
        for pk, key, amount, reverses in LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            source_kind__in=["conversion", "deal", "event"],
        )
        .values_list("id", "idempotency_key", "amount", "reverses_id")
        .order_by()
    }
    missing = {r for _, _, r in rows.values() if r is not None and r not in rows}
    while missing:  # linked rows recorded in another window (they share the moment: rare)
        found = LedgerEntry.objects.filter(pk__in=sorted(missing)).values_list(
            "id", "idempotency_key", "reverses_id"
        )
        for pk, key, parent in found.order_by():
            rows[pk] = (key, None, parent)
        missing = {r for _, _, r in rows.values() if r is not None and r not in rows}
    net: dict[str, Decimal] = defaultdict(Decimal)
    for key, amount, link in rows.values():
        if amount is None:
            continue
        root, seen = key, 0
        while link is not None and link in rows and seen < 100:
            root, _, link = rows[link]
            seen += 1
        net[key_of(root)] += amount
    return dict(net)
