"""Re-evaluation through the engine: a source whose amount changed, and the periods corrections land in.

- A source evaluated before whose amount changed (a won deal's amount corrected, a sale's amount
  corrected) is evaluated again with the plan version that earned its rows, at their exchange rate and
  date: its conditions, selection, flat rewards and per-event caps as for a new event. Each rule's
  difference is posted as an adjustment linked to the rule's row (or a new row for a rule that matches
  only now); zero adjustments record the new base amount.
- A period a correction lands in (a refund, a deal moved out of won, a rejected or moved conversion, an
  amount changed) is re-evaluated from its start, in the engine's order, at every event's current net
  amount (refunded shares out, sources that no longer count left out): the rules with period state —
  volume tiers (marginal and retroactive, with their true-ups), thresholds and period caps — get each
  event's difference posted. The window is the longest period a stateful rule of the workspace uses, so
  every tier and cap period starts inside it. Caps hold: the engine trims every event as it would.
- A rule no longer chosen for an event (its condition fails at the new amount, another rule now wins)
  gets an adjustment keyed ``…:out<n>`` (``…:in<n>`` when chosen again): its row and the rows linked to
  it leave the period's tier volume and count (``running.load_state``). A rule without period state
  whose choice the period's state turned (selection ``highest`` against a tiered rule) is settled too.
- The parent's overrides follow every adjustment, at their own rate (new override rows).

Nothing is edited: every difference is a new row with its explanation (the engine's, and what changed).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import Context, PlanInfo
from openprm.commissions.services.corrections import Evaluation, _reversal, amount_counts, evaluations
from openprm.commissions.services.rows import POS
from openprm.commissions.services.rows import row as _row
from openprm.commissions.services.running import refunded_shares
from openprm.core.bulk import uuid4_hex

ZERO = Decimal(0)
ONE = Decimal(1)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State
GRAIN = {"month": 0, "quarter": 1, "year": 2}
Touched = tuple[int, datetime.date]  # partner, a day in the period


def stateful(rule: engine.CompiledRule) -> bool:
    return rule.reward in ("tiered", "threshold") or rule.cap_period is not None


def window_kind(ctx: Context) -> str | None:
    """The longest period a stateful rule uses (tiers, thresholds, period caps); None: no such rule."""
    found = [
        period
        for versions in ctx.versions.values()
        for _, _, plan in versions
        for rule in plan.rules
        if stateful(rule)
        for period in (
            rule.period if rule.reward in ("tiered", "threshold") else "month",
            rule.cap_period_kind if rule.cap_period is not None else "month",
        )
    ]
    return max(found, key=GRAIN.__getitem__) if found else None


def _next(start: datetime.date, period: str) -> datetime.date:
    month = start.month - 1 + {"month": 1, "quarter": 3, "year": 12}[period]
    return datetime.date(start.year + month // 12, month % 12 + 1, 1)


def _versions(ctx: Context) -> dict[int, tuple[PlanInfo, engine.Plan]]:
    return {
        vid: (ctx.plans[plan_id], compiled)
        for plan_id, versions in ctx.versions.items()
        for _, vid, compiled in versions
    }


def touched_by_refunds(workspace_id: int, sale_ids: Iterable[int]) -> set[Touched]:
    """(partner, day) of the refunded sales' commissions."""
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        source_kind="conversion",
        source_id__in=sorted(set(sale_ids)),
        kind__in=[KIND.ACCRUAL, KIND.BONUS],
    )
    return {(p, at.date()) for p, at in rows.values_list("partner_id", "occurred_at").order_by()}


def current_sources(ctx: Context, wanted: dict[str, set[int]]) -> dict[tuple[str, int, str], src.Source]:
    """The sources as they are now (only those that count: accepted, won, ...)."""
    ws = ctx.workspace_id
    out: dict[tuple[str, int, str], src.Source] = {}
    found: list[src.Source] = []
    if wanted.get("conversion"):
        found += [
            c
            for c in src.conversions(ws, ids=wanted["conversion"], customers=ctx.needs_customers())
            if c.event != "refund"
        ]
    if wanted.get("deal"):
        found += [s for d in src.deals(ws, ids=wanted["deal"]) for s in d.sources]
    custom = [e for e in ctx.events() if e.startswith("custom:") or e in ("lead_accepted", "target_reached")]
    if wanted.get("event") and custom:
        found += src.activity_events(ws, types=custom, ids=wanted["event"])
    for s in found:
        out[(s.kind, s.id, s.event)] = s
    return out


def _override_level(key: str) -> int:
    tail = key.rsplit(":", 1)[-1]
    return int(tail[1:]) if tail.startswith("o") and tail[1:].isdigit() else 1


class Settler:
    """Posts, for one evaluation, each compared rule's difference between the engine's figure and what
    the ledger holds, with the parent's overrides following."""

    def __init__(self, ctx: Context, now: datetime.datetime) -> None:
        self.ctx = ctx
        self.now = now
        self.rows: list[list[Any]] = []

    def settle(
        self,
        evaluation: Evaluation,
        source: src.Source | None,
        outcome: engine.Outcome | None,
        keys: set[str],
        compiled: engine.Plan | None,
        *,
        new_base: Decimal | None,
        note: str,
        gross: bool = False,
    ) -> None:
        """``gross``: the outcome is the event's before its refunds (the rows' refund reversals are left
        out of what they hold; ``corrections.refund_rows`` prorates the difference after)."""
        targets: dict[str, Decimal] = defaultdict(lambda: ZERO)
        lines: dict[str, list[engine.Line]] = defaultdict(list)
        for line in outcome.lines if outcome else ():
            targets[line.rule_key] += line.amount
            lines[line.rule_key].append(line)
        net: dict[str, Decimal] = defaultdict(lambda: ZERO)
        anchors: dict[str, dict[str, Any]] = {}
        fallback: dict[str, dict[str, Any]] = {}
        for entry in evaluation.entries:
            if entry["kind"] == KIND.OVERRIDE:
                continue
            rule = entry["rule_key"]
            net[rule] += entry["amount"] + entry["adjusted"] + (ZERO if gross else entry["undone"])
            fallback.setdefault(rule, entry)
            if entry["kind"] in (KIND.ACCRUAL, KIND.BONUS):
                anchors.setdefault(rule, entry)
        for rule in sorted(keys):
            target, current = targets[rule], net[rule]
            anchor = anchors.get(rule)
            delta = ZERO
            if anchor is not None and new_base is not None:
                delta = new_base - (anchor["base_amount"] + anchor["base_adjusted"])
            # A rule chosen no more (or again) for an event that still counts: its row goes out of (or
            # back into) the period's tier volume and count, whatever the amounts (``toggle``).
            chosen = outcome is not None and rule in lines
            tag = "fix"
            if anchor is not None and outcome is not None and rule and chosen == anchor["out"]:
                tag = "in" if chosen else "out"
            if target == current and not delta and tag == "fix":
                continue
            detail = f"re-evaluated ({note}): rule {rule or '-'} {current:.2f} → {target:.2f}"
            if tag != "fix":
                detail += " (chosen again)" if chosen else " (no longer chosen: out of the period's volume)"
            reevaluated: dict[str, Any] = {"rule": rule, "was": f"{current:.2f}", "now": f"{target:.2f}"}
            if tag != "fix":
                reevaluated["chosen"] = chosen
            explanation = {
                **(outcome.explanation if outcome else {}),
                "detail": detail,
                "reevaluated": reevaluated,
            }
            line_rate = lines[rule][0].rate if len(lines[rule]) == 1 else None
            caps = [c for line in lines[rule] for c in line.caps]
            linked = anchor or fallback.get(rule)
            if linked is not None:
                key = f"{evaluation.stem}:{rule or '-'}:{tag}{linked['fixes']}"
                linked["fixes"] += 1
                if tag != "fix":
                    linked["out"] = tag == "out"
                row = _reversal(linked, key, target - current, self.now, detail, hold_days=self._hold(linked))
                row[POS["kind"]] = KIND.ADJUSTMENT
                row[POS["base_amount"]] = delta
                row[POS["rate"]] = line_rate
                row[POS["caps"]] = caps
                row[POS["explanation"]] = explanation | {"reverses": str(linked["public_id"])}
            else:
                if source is None or target == current:
                    continue
                template = evaluation.anchors[0] if evaluation.anchors else evaluation.entries[0]
                row = _reversal(
                    template,
                    f"{evaluation.stem}:{rule or '-'}",
                    target - current,
                    self.now,
                    "",
                    hold_days=self._hold(template),
                )
                rule_def = next((r for r in compiled.rules if r.key == rule), None) if compiled else None
                row[POS["kind"]] = KIND.BONUS if rule_def is not None and rule_def.bonus else KIND.ACCRUAL
                row[POS["state"]] = STATE.PENDING
                row[POS["approved_at"]] = None
                row[POS["reverses_id"]] = None
                row[POS["rule_key"]] = rule
                row[POS["base_amount"]] = engine.cents(source.amount)
                row[POS["rate"]] = line_rate
                row[POS["caps"]] = caps
                row[POS["explanation"]] = explanation
                row[POS["note"]] = detail[:300]
            self.rows.append(row)
            self._follow(evaluation, anchor, row, compiled)

    def _hold(self, entry: dict[str, Any]) -> int | None:
        info = self.ctx.plans.get(entry["plan_id"])
        return info.hold_days if info is not None else None

    def _follow(
        self,
        evaluation: Evaluation,
        anchor: dict[str, Any] | None,
        row: list[Any],
        compiled: engine.Plan | None,
    ) -> None:
        """The parent's overrides follow a child's adjustment, at their own rate."""
        amount = row[POS["amount"]]
        if not amount:
            return
        child = row[POS["partner_id"]]
        key = row[POS["idempotency_key"]]
        existing = [
            e
            for e in evaluation.entries
            if anchor is not None and e["kind"] == KIND.OVERRIDE and e["derived_from_id"] == anchor["id"]
        ]
        plans: list[tuple[int, int, Decimal, dict[str, Any] | None]] = []
        if existing:
            plans = [(_override_level(e["idempotency_key"]), e["partner_id"], e["rate"], e) for e in existing]
        elif compiled is not None and compiled.override_levels:
            day = row[POS["occurred_at"]].date()
            parents = self.ctx.parents_of(child, day, len(compiled.override_levels))
            plans = [
                (i + 1, parent, rate, None)
                for i, (rate, parent) in enumerate(zip(compiled.override_levels, parents, strict=False))
            ]
        for level, parent, rate, original in plans:
            value = engine.cents(amount * (rate or ZERO) / 100)
            if not value:
                continue
            detail = f"{rate:f}% of a level-{level} sub-partner's {amount:.2f} (re-evaluated)"
            # a decrease inherits the approval of the override it follows; an increase waits, with the
            # child's row (pending, a fresh hold)
            approved = (
                value < 0 and original is not None and original["state"] in (STATE.APPROVED, STATE.PAID)
            )
            override = _row(
                public_id=uuid4_hex(),
                workspace_id=row[POS["workspace_id"]],
                partner_id=parent,
                kind=KIND.OVERRIDE,
                state=STATE.APPROVED if approved else STATE.PENDING,
                approved_at=self.now if approved else None,
                source_kind=row[POS["source_kind"]],
                source_id=row[POS["source_id"]],
                source_event=row[POS["source_event"]],
                idempotency_key=f"{key}:o{level}",
                plan_id=row[POS["plan_id"]],
                plan_version_id=row[POS["plan_version_id"]],
                rule_key=row[POS["rule_key"]],
                occurred_at=row[POS["occurred_at"]],
                period=row[POS["period"]],
                base_amount=amount,
                base_currency=row[POS["currency"]],
                fx_rate=ONE,
                fx_date=row[POS["fx_date"]],
                amount=value,
                currency=row[POS["currency"]],
                rate=rate,
                caps=[],
                explanation={"override": level, "of_partner": child, "detail": detail},
                hold_until=row[POS["hold_until"]],
                reverses_id=original["id"] if original is not None else None,
                note=detail[:300],
                created_at=self.now,
            )
            if original is None and anchor is not None:
                # the parent's first override of this commission: derived from it, so a refund prorates
                # it and later adjustments follow it like any override
                override[POS["derived_from_id"]] = anchor["id"]
            else:
                override.append(row)  # resolved to derived_from_id at write time
            self.rows.append(override)


def changed_rows(
    ctx: Context, changed: list[tuple[src.Source, Evaluation]], now: datetime.datetime
) -> list[list[Any]]:
    """Sources whose amount changed, evaluated again at their new amount with the version, exchange rate
    and date of their rows: the rules without period state (those are settled with their period)."""
    versions = _versions(ctx)
    partners = src.partner_facts(ctx.workspace_id, {s.partner_id for s, _ in changed})
    settler = Settler(ctx, now)
    for source, evaluation in changed:
        anchor = evaluation.anchors[0]
        found = versions.get(anchor["plan_version_id"])
        if found is None:
            continue
        info, compiled = found
        amount = source.amount * anchor["fx_rate"]
        facts = engine.Facts(
            event=source.event,
            partner_id=source.partner_id,
            day=anchor["occurred_at"].date(),
            amount=amount,
            fields=ctx.fields(source, partners.get(source.partner_id), amount, info.currency),
            customer_months=source.customer_months,
        )
        outcome = engine.evaluate(compiled, facts, engine.State())
        apply_fx(outcome, anchor)
        keys = {r.key for r in compiled.rules if not stateful(r)} | {""}
        keys |= {a["rule_key"] for a in evaluation.anchors} - {r.key for r in compiled.rules if stateful(r)}
        note = f"amount {evaluation.base:f} → {engine.cents(source.amount):f} {source.currency}".strip()
        if evaluation.base == engine.cents(source.amount):  # an edited event (``corrections.revisit``)
            note = f"{source.kind} edited"
        new_base = engine.cents(source.amount)
        settler.settle(evaluation, source, outcome, keys, compiled, new_base=new_base, note=note, gross=True)
    return settler.rows


def apply_fx(outcome: engine.Outcome, anchor: dict[str, Any]) -> None:
    if anchor["fx_rate"] != 1:
        outcome.explanation["fx"] = {
            "rate": f"{anchor['fx_rate'].normalize():f}",
            "date": anchor["fx_date"].isoformat() if anchor["fx_date"] else "",
            "from": anchor["base_currency"],
        }


def prorated_flat(compiled: engine.Plan, outcome: engine.Outcome, share: Decimal) -> engine.Outcome:
    """A flat reward re-evaluated on a refunded sale: the engine pays it whole on the net amount, the
    refund prorated it (``corrections.reprorated``): its refunded share is left out the same way."""
    flat = {r.key for r in compiled.rules if r.reward == "flat"} if share else set()
    if not flat:
        return outcome
    lines = tuple(
        dataclasses.replace(line, amount=line.amount - engine.cents(line.amount * share))
        if line.rule_key in flat
        else line
        for line in outcome.lines
    )
    return dataclasses.replace(outcome, lines=lines)


def _flipped(compiled: engine.Plan, evaluation: Evaluation, outcome: engine.Outcome) -> set[str]:
    """The rules without period state whose choice the period's state turned (a selection of the highest
    against a tiered rule): chosen now and not held, or held and no longer chosen."""
    if compiled.selection == "stack":
        return set()
    chosen = {line.rule_key for line in outcome.lines}
    held = {e["rule_key"] for e in evaluation.anchors if not e["out"]}
    return {r.key for r in compiled.rules if not stateful(r) and (r.key in chosen) != (r.key in held)}


def period_rows(
    ctx: Context,
    touched: set[Touched],
    now: datetime.datetime,
    *,
    changed: Iterable[tuple[str, int, str]] = (),
) -> list[list[Any]]:
    """Each touched (partner, period) re-evaluated from its start: the differences of its stateful rules
    (``changed``: sources whose amount changed, their rows get the new base too)."""
    kind = window_kind(ctx)
    if kind is None or not touched:
        return []
    versions = _versions(ctx)
    changed_set = set(changed)
    windows = sorted({(p, engine.period_start(day, kind)) for p, day in touched})
    settler = Settler(ctx, now)
    # Every window's evaluations, sources, refunded shares and partner facts read at once
    first, last = windows[0][1], max(_next(start, kind) for _, start in windows)
    wanted = set(windows)
    rows = LedgerEntry.objects.filter(
        workspace_id=ctx.workspace_id,
        partner_id__in=sorted({p for p, _ in windows}),
        occurred_at__gte=datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC),
        occurred_at__lt=datetime.datetime.combine(last, datetime.time(), tzinfo=datetime.UTC),
        kind__in=[KIND.ACCRUAL, KIND.BONUS],
        reverses__isnull=True,
    ).exclude(state=STATE.REJECTED)
    ids: dict[str, set[int]] = defaultdict(set)
    for source_kind, source_id, partner, at in (
        rows.values_list("source_kind", "source_id", "partner_id", "occurred_at").distinct().order_by()
    ):
        window = (partner, engine.period_start(at.date(), kind))
        if source_id is not None and window in wanted and source_kind in src.PREFIX:
            ids[source_kind].add(source_id)
    by_window: dict[tuple[int, datetime.date], list[Evaluation]] = defaultdict(list)
    for source_kind, source_ids in sorted(ids.items()):
        for e in evaluations(ctx.workspace_id, source_kind, source_ids).values():
            if not e.anchors:  # its commission rejected: nothing of it counts (revisit: no partner)
                continue
            window = (e.partner_id or 0, engine.period_start(e.anchors[0]["occurred_at"].date(), kind))
            if window in wanted:
                by_window[window].append(e)
    if not by_window:
        return []
    current = current_sources(ctx, ids)
    shares = refunded_shares(ctx.workspace_id, ids.get("conversion", set()))
    partners = src.partner_facts(ctx.workspace_id, {p for p, _ in by_window})
    for (partner, start), found in sorted(by_window.items()):
        found.sort(
            key=lambda e: (e.anchors[0]["occurred_at"], src.RANK.get(e.event, 7), e.source_id, e.generation)
        )
        state = engine.State()
        for evaluation in found:
            anchor = evaluation.anchors[0]
            version = versions.get(anchor["plan_version_id"])
            if version is None:
                continue
            info, compiled = version
            keys = {r.key for r in compiled.rules if stateful(r)}
            if not keys:
                continue
            source = current.get((evaluation.kind, evaluation.source_id, evaluation.event))
            share = shares.get(evaluation.source_id, ZERO) if evaluation.kind == "conversion" else ZERO
            counts = (
                source is not None and not evaluation.closed and source.partner_id == partner and share < 1
            )
            outcome = None
            why = "no longer counts"
            if counts:
                assert source is not None
                gross = source.amount if amount_counts(source) else (evaluation.base or ZERO)
                amount = gross * anchor["fx_rate"] * (1 - share)
                facts = engine.Facts(
                    event=source.event,
                    partner_id=partner,
                    day=anchor["occurred_at"].date(),
                    amount=amount,
                    fields=ctx.fields(source, partners.get(partner), amount, info.currency),
                    customer_months=source.customer_months,
                )
                outcome = prorated_flat(compiled, engine.evaluate(compiled, facts, state), share)
                apply_fx(outcome, anchor)
                why = f"{kind} from {start:%Y-%m-%d} at net {amount.normalize():f}"
                keys = keys | _flipped(compiled, evaluation, outcome)
            key3 = (evaluation.kind, evaluation.source_id, evaluation.event)
            new_base = engine.cents(source.amount) if source is not None and key3 in changed_set else None
            settler.settle(evaluation, source, outcome, keys, compiled, new_base=new_base, note=why)
    return settler.rows
