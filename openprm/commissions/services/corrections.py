"""Corrections the accrual writes as new rows, never edits: reversals of refunded sales (prorated by the
cumulative refunded share, at the original entry's rate and FX, on what the entry stands at after its
re-evaluations; clawbacks once the entry was paid), and the closing of an evaluation whose source no longer
counts for it (a deal moved out of won, a rejected conversion, a conversion moved to another partner, a
source whose currency or moment was corrected; a conversion whose attribution was removed or whose type
changed, an activity event retyped or deleted: ``services.stale``). Decreases inherit the approval of the
rows they correct; increases wait pending with a fresh hold, like new commissions.

An evaluation is the rows one source's event earned (key stem ``c12:purchase``); corrections link to its
rows (``reverses``). A closed evaluation is never reopened: a deal won again, a conversion's new partner
or a source in its corrected currency is a new generation (``c12:purchase#2``), evaluated like a new
event. Amount changes, and changes of the other inputs the rules read (``services.inputs``), are
re-evaluated through the engine (``services.periods``); a rule no longer chosen for an event is taken out
of its period's volume by a marked adjustment (``toggle``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.selectors.running import closes as closes
from openprm.commissions.selectors.running import toggle as toggle
from openprm.commissions.services import sources as src
from openprm.commissions.services.inputs import KEY as INPUTS
from openprm.commissions.services.inputs import Inputs, latest, recorded
from openprm.commissions.services.rows import POS as _POS
from openprm.commissions.services.rows import row as _row
from openprm.core.bulk import uuid4_hex

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State


def fresh_hold(entry: dict[str, Any], now: datetime.datetime, hold_days: int | None) -> datetime.date:
    """The hold of a raised commission: the plan's hold from the correction (the event's day when later),
    as a new accrual's; the linked row's own hold when the plan is not known."""
    if hold_days is None:
        return entry["hold_until"]
    day = max(entry["occurred_at"].date(), now.date())
    return day + datetime.timedelta(days=hold_days)


def _reversal(
    entry: dict[str, Any],
    key: str,
    amount: Decimal,
    now: datetime.datetime,
    note: str,
    *,
    hold_days: int | None = None,
) -> list[Any]:
    """A row linked to ``entry`` for ``amount``: a decrease inherits the entry's approval (a clawback once
    it was paid); an increase is earned anew, pending with a fresh hold (``fresh_hold``) like a new
    accrual, whatever the entry's state."""
    raised = amount > 0
    paid = entry["state"] == STATE.PAID and not raised
    approved = not raised and (paid or entry["state"] == STATE.APPROVED)
    base = engine.cents(entry["base_amount"] * amount / entry["amount"]) if entry["amount"] else ZERO
    return _row(
        public_id=uuid4_hex(),
        workspace_id=entry["workspace_id"],
        partner_id=entry["partner_id"],
        kind=KIND.CLAWBACK if paid else KIND.REVERSAL,
        state=STATE.APPROVED if approved else STATE.PENDING,
        approved_at=now if approved else None,
        source_kind=entry["source_kind"],
        source_id=entry["source_id"],
        source_event=entry["source_event"],
        idempotency_key=key,
        plan_id=entry["plan_id"],
        plan_version_id=entry["plan_version_id"],
        rule_key=entry["rule_key"],
        occurred_at=entry["occurred_at"],
        period=entry["period"],
        base_amount=base,
        base_currency=entry["base_currency"],
        fx_rate=entry["fx_rate"],
        fx_date=entry["fx_date"],
        amount=amount,
        currency=entry["currency"],
        rate=entry["rate"],
        caps=[],
        explanation={"reverses": str(entry["public_id"]), "detail": note},
        hold_until=fresh_hold(entry, now, hold_days) if raised else entry["hold_until"],
        reverses_id=entry["id"],
        note=note[:300],
        created_at=now,
    )


ENTRY_FIELDS = (
    "id",
    "public_id",
    "workspace_id",
    "partner_id",
    "kind",
    "state",
    "source_kind",
    "source_id",
    "source_event",
    "idempotency_key",
    "plan_id",
    "plan_version_id",
    "rule_key",
    "occurred_at",
    "period",
    "base_amount",
    "base_currency",
    "fx_rate",
    "fx_date",
    "amount",
    "currency",
    "rate",
    "hold_until",
    "derived_from_id",
)
PRINCIPAL: list[str] = [KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT, KIND.OVERRIDE]


def with_links(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add to each entry what the rows linked to it (``reverses``) sum to: ``undone`` (reversals and
    clawbacks), ``adjusted`` (adjustments, and override follow-ups of an override), ``base_adjusted``
    (the base those adjustments re-evaluated), ``fixes`` (how many rows, rejected ones too: their keys
    stay taken), ``closed`` (a reversal closed its evaluation: deal no longer won, rejected, moved) and
    ``out`` (its rule is no longer chosen for the event: ``toggle``)."""
    for entry in entries:
        entry.update(undone=ZERO, adjusted=ZERO, base_adjusted=ZERO, fixes=0, closed=False, out=False)
    outs: dict[int, int] = defaultdict(int)
    by_id = {e["id"]: e for e in entries}
    ids = sorted(by_id)
    for i in range(0, len(ids), 5000):
        for reverses, kind, state, key, amount, base in (
            LedgerEntry.objects.filter(reverses_id__in=ids[i : i + 5000])
            .values_list("reverses_id", "kind", "state", "idempotency_key", "amount", "base_amount")
            .order_by()
        ):
            entry = by_id[reverses]
            entry["fixes"] += 1
            if state == STATE.REJECTED:
                continue
            if kind in (KIND.REVERSAL, KIND.CLAWBACK):
                entry["undone"] += amount
                entry["closed"] = entry["closed"] or closes(key)
            else:
                entry["adjusted"] += amount
                entry["base_adjusted"] += base
                outs[reverses] += toggle(key)
    for reverses, net in outs.items():
        by_id[reverses]["out"] = net > 0
    return entries


def _entries_of(
    workspace_id: int, source_kind: str, ids: Iterable[int], kinds: list[str]
) -> dict[int, list[dict[str, Any]]]:
    """The rows an evaluation wrote (not the corrections linked to them), by source id, with their links."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = sorted(set(ids))
    if not ids:
        return out
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        source_kind=source_kind,
        source_id__in=ids,
        kind__in=kinds,
        reverses__isnull=True,
    ).exclude(state=STATE.REJECTED)
    for entry in with_links(list(rows.order_by("id").values(*ENTRY_FIELDS))):
        out[entry["source_id"]].append(entry)
    return out


@dataclass(slots=True)
class Evaluation:
    """The latest evaluation of one source's event: the rows it wrote (rows of period corrections without
    a generation go with the latest), whose partner, and whether a reversal closed it."""

    kind: str
    source_id: int
    event: str
    generation: int
    entries: list[dict[str, Any]]

    @property
    def stem(self) -> str:
        return src.stem(self.kind, self.source_id, self.event, self.generation)

    @property
    def closed(self) -> bool:
        return any(e["closed"] for e in self.entries)

    @property
    def anchors(self) -> list[dict[str, Any]]:
        """The commission and bonus rows (one per rule; rule key "" for an event nothing paid)."""
        return [e for e in self.entries if e["kind"] in (KIND.ACCRUAL, KIND.BONUS)]

    @property
    def partner_id(self) -> int | None:
        anchors = self.anchors
        return anchors[0]["partner_id"] if anchors else None

    @property
    def base(self) -> Decimal | None:
        """The source amount (its currency) the evaluation stands at: the first row's base and the
        re-evaluations posted to it."""
        anchors = self.anchors
        return anchors[0]["base_amount"] + anchors[0]["base_adjusted"] if anchors else None


def evaluations(
    workspace_id: int, kind: str, ids: Iterable[int], *, partner_id: int | None = None
) -> dict[tuple[int, str], Evaluation]:
    """The latest evaluation of each (source id, event) of ``ids``."""
    found: dict[tuple[int, str], dict[int | None, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for source_id, entries in _entries_of(workspace_id, kind, ids, PRINCIPAL).items():
        for e in entries:
            generation = src.generation_of(kind, source_id, e["source_event"], e["idempotency_key"])
            found[(source_id, e["source_event"])][generation].append(e)
    out: dict[tuple[int, str], Evaluation] = {}
    for (source_id, event), by_generation in found.items():
        numbered = [g for g in by_generation if g is not None]
        if not numbered:
            continue
        latest = max(numbered)
        entries = by_generation[latest] + by_generation.get(None, [])
        out[(source_id, event)] = Evaluation(kind, source_id, event, latest, entries)
    return out


def close_rows(evaluation: Evaluation, tag: str, now: datetime.datetime, note: str) -> list[list[Any]]:
    """Reverse whatever is left of an evaluation (its commissions, bonuses, true-ups and overrides, with
    what was adjusted since): the source no longer counts for it. Every row gets its reversal, a zero one
    too, so the ledger says the evaluation is closed (a later win or the new partner's evaluation then
    starts a new generation)."""
    rows = []
    for entry in evaluation.entries:
        remaining = entry["amount"] + entry["adjusted"] + entry["undone"]
        if not remaining and entry["kind"] not in (KIND.ACCRUAL, KIND.BONUS):
            continue
        prefix = src.PREFIX[evaluation.kind]
        key = f"{prefix}{evaluation.source_id}:{tag}:{entry['id']}:{entry['fixes']}"
        entry["fixes"] += 1
        row = _reversal(entry, key, -remaining, now, note)
        row[_POS["base_amount"]] = -(entry["base_amount"] + entry["base_adjusted"])  # the whole volume
        rows.append(row)
    return rows


def refund_rows(workspace_id: int, refunds: list[src.Source], now: datetime.datetime) -> list[list[Any]]:
    """Reversals (or clawbacks) of the sales ``refunds`` refund, prorated by the cumulative refunded share."""
    sales = sorted({r.refund_of for r in refunds if r.refund_of})
    if not sales:
        return []
    from openprm.activity.models import Conversion

    sale_amount = dict(
        Conversion.objects.filter(workspace_id=workspace_id, pk__in=sales).values_list("id", "amount")
    )
    all_refunds: dict[int, list[tuple[Any, int, Decimal]]] = defaultdict(list)
    for rid, of, at, amount in Conversion.objects.filter(
        workspace_id=workspace_id, refund_of_id__in=sales, status=Conversion.Status.ACCEPTED
    ).values_list("id", "refund_of_id", "occurred_at", "amount"):
        all_refunds[of].append((at, rid, abs(amount)))
    entries = refunded_entries(workspace_id, sales)
    hold_days = plan_hold_days(e for found in entries.values() for e in found)
    rows = []
    for refund in sorted(refunds, key=lambda r: r.order):
        if refund.refund_of not in sale_amount or not sale_amount[refund.refund_of]:
            continue
        so_far = sum(
            (
                a
                for at, rid, a in sorted(all_refunds[refund.refund_of])
                if (at, rid) <= (refund.occurred_at, refund.id)
            ),
            ZERO,
        )
        share = min(so_far / sale_amount[refund.refund_of], Decimal(1))
        for entry in entries.get(refund.refund_of, []):
            amount = reprorated(entry, share)
            if amount == 0:
                continue
            entry["undone"] += amount
            note = f"refund of {share * 100:.2f}% of the sale"
            # The fix counter: a refund re-read after its amount (or the sale's) changed posts a new
            # difference under a new key, never the first key again.
            key = f"r{refund.id}:{entry['id']}:{entry['fixes']}"
            entry["fixes"] += 1
            rows.append(_reversal(entry, key, amount, now, note, hold_days=hold_days.get(entry["plan_id"])))
    return rows


def reprorated(entry: dict[str, Any], share: Decimal) -> Decimal:
    """The reversal that makes a refunded ``entry`` stand at ``share`` refunded (``undone`` is negative:
    what was reversed already): nothing for a closed evaluation's rows (its closing took what was left),
    and for a rule no longer chosen (``out``, with the overrides derived from it) what takes it to zero
    (its adjustment already netted it: then nothing; a difference settled before refunds: what they took
    is given back)."""
    if entry["closed"]:
        return ZERO
    held = entry["amount"] + entry["adjusted"]
    target = held if entry["out"] else engine.cents(held * share)
    return -(target + entry["undone"])


def _threshold_rules(entries: Iterable[dict[str, Any]]) -> set[tuple[int, str]]:
    """(version, rule key) of the threshold bonuses among the rules these rows were paid by."""
    from openprm.commissions.models import PlanVersion

    ids = sorted({e["plan_version_id"] for e in entries if e["kind"] == KIND.BONUS and e["rate"] is None})
    out: set[tuple[int, str]] = set()
    for vid, rules in PlanVersion.objects.filter(pk__in=ids).values_list("id", "rules") if ids else ():
        for rule in (rules or {}).get("rules", []):
            if isinstance(rule, dict) and (rule.get("reward") or {}).get("type") == "threshold":
                out.add((vid, str(rule.get("key"))))
    return out


def refunded_entries(workspace_id: int, sales: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The rows a refund of each sale prorates, with their links: commissions (percent and flat), bonuses
    paid per event (a percentage of the sale or flat: a full refund leaves nothing of them) and their
    true-ups, and the overrides derived from those (a threshold bonus is not prorated: its period is
    re-evaluated, and the parent's override follows it from there). Every row of a closed generation
    counts as closed (its zero rows get no closing reversal), and an override of a rule no longer chosen
    as out."""
    kinds: list[str] = [KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT, KIND.OVERRIDE]
    entries = _entries_of(workspace_id, "conversion", sales, kinds)
    thresholds = _threshold_rules(e for found in entries.values() for e in found)
    for sale, found in entries.items():
        found = [
            e
            for e in found
            if (e["kind"] != KIND.BONUS or (e["plan_version_id"], e["rule_key"]) not in thresholds)
            and (
                e["kind"] != KIND.ADJUSTMENT
                or src.generation_of("conversion", sale, e["source_event"], e["idempotency_key"]) is not None
            )
        ]  # a true-up; not a period correction of an earlier version (its period is re-evaluated)
        prorated = {e["id"] for e in found if e["kind"] != KIND.OVERRIDE}
        found = [e for e in found if e["kind"] != KIND.OVERRIDE or e["derived_from_id"] in prorated]
        generation = {
            e["id"]: (
                e["source_event"],
                src.generation_of("conversion", sale, e["source_event"], e["idempotency_key"]),
            )
            for e in found
        }
        closed = {generation[e["id"]] for e in found if e["closed"]}
        out = {e["id"] for e in found if e["out"]}
        for e in found:
            e["closed"] = e["closed"] or generation[e["id"]] in closed
            e["out"] = e["out"] or e["derived_from_id"] in out
        entries[sale] = found
    return entries


def plan_hold_days(entries: Iterable[dict[str, Any]]) -> dict[int, int]:
    from openprm.commissions.models import Plan

    ids = sorted({e["plan_id"] for e in entries if e["plan_id"] is not None})
    return dict(Plan.objects.filter(pk__in=ids).values_list("id", "hold_days")) if ids else {}


def deal_correction_rows(
    workspace_id: int, deals: list[src.DealState], now: datetime.datetime
) -> list[list[Any]]:
    """A deal moved out of won: reverse what its win earned (a new win is evaluated again, as a new
    generation). A won deal's amount or partner changed is re-evaluated by the accrual (``periods``)."""
    lost = [d.id for d in deals if not d.won]
    rows: list[list[Any]] = []
    for (_, event), evaluation in sorted(evaluations(workspace_id, "deal", lost).items()):
        if event == "deal_won" and not evaluation.closed:
            rows += close_rows(evaluation, "unwon", now, "deal no longer won")
    return rows


def void_rows(
    workspace_id: int, kind: str, ids: list[int], now: datetime.datetime, note: str
) -> list[list[Any]]:
    """Reverse whatever is left of the evaluations of sources that no longer count (a rejected conversion)."""
    rows: list[list[Any]] = []
    for _, evaluation in sorted(evaluations(workspace_id, kind, ids).items()):
        if not evaluation.closed:
            rows += close_rows(evaluation, "void", now, note)
    return rows


@dataclass(slots=True)
class Revisit:
    """What the accrual does with sources evaluated before: evaluate again as a new generation, close
    (their partner changed), or re-evaluate (their amount changed)."""

    renewed: list[src.Source]
    closing: list[list[Any]]
    changed: list[tuple[src.Source, Evaluation]]
    closed: list[Evaluation]
    inputs: dict[tuple[str, int, str], str] = field(default_factory=dict)  # changed: their fingerprint now


def amount_counts(source: src.Source) -> bool:
    """Whether a changed amount (or other inputs: products, metadata) re-evaluates the event: not a deal's
    registration or approval (the deal then was an estimate; the pipeline moves it), every other event."""
    return source.kind != "deal" or source.event == "deal_won"


def currency_changed(source: src.Source, base_currency: str) -> bool:
    """Whether the source's currency is no longer the one its evaluation converted (a source without a
    currency is in the plan's, which its rows name)."""
    return bool(source.currency) and source.currency != base_currency


def _worth_a_look(
    workspace_id: int, kind: str, group: list[src.Source], inputs: Inputs | None = None
) -> set[int]:
    """The sources whose evaluation may need something: another partner, amount or other inputs
    (``services.inputs``) than their first row's, a later generation, or rows linked to theirs (closed,
    adjusted, refunded). One light read of the commission rows, so a re-run over everything evaluated
    stays cheap."""
    wanted = {(s.id, s.event): s for s in group}
    ids = sorted({s.id for s in group})
    out: set[int] = set()
    for i in range(0, len(ids), 5000):
        part = ids[i : i + 5000]
        anchors = LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            source_kind=kind,
            source_id__in=part,
            kind__in=[KIND.ACCRUAL, KIND.BONUS],
            reverses__isnull=True,
        ).exclude(state=STATE.REJECTED)
        for source_id, event, partner, base, currency, key, at, version, seen, plan in anchors.values_list(
            "source_id",
            "source_event",
            "partner_id",
            "base_amount",
            "base_currency",
            "idempotency_key",
            "occurred_at",
            "plan_version_id",
            f"explanation__{INPUTS}",
            "plan_id",
        ).order_by():
            s = wanted.get((source_id, event)) if source_id is not None else None
            if s is None or source_id is None:
                continue
            if (
                partner != s.partner_id
                or at != s.occurred_at
                or ((base != engine.cents(s.amount) or currency_changed(s, currency)) and amount_counts(s))
                or src.generation_of(kind, source_id, event, key) != 1
                or (inputs is not None and inputs.may_move(s, plan))
                or (
                    inputs is not None
                    and seen is not None
                    and amount_counts(s)
                    and inputs.current(s, version) not in (None, seen)  # None: its plan archived
                )
            ):
                out.add(source_id)
        linked = LedgerEntry.objects.filter(
            workspace_id=workspace_id, source_kind=kind, source_id__in=part, reverses__isnull=False
        )
        found = linked.values_list("source_id", flat=True).distinct().order_by()
        out.update(i for i in found if i is not None)
    return out


def revisit(
    workspace_id: int, sources: list[src.Source], now: datetime.datetime, inputs: Inputs | None = None
) -> Revisit:
    """Compare sources evaluated before with their latest evaluation: closed → a new generation; another
    partner, currency or moment → close and a new generation (the new partner's, converted at the new
    currency's rate, in the new moment's period); another amount, other inputs of its rules' conditions
    (``services.inputs``: products, metadata, customer facts), or an activity event edited (its
    properties may answer the conditions otherwise) → re-evaluate."""
    out = Revisit([], [], [], [])
    by_kind: dict[str, list[src.Source]] = defaultdict(list)
    for s in sources:
        by_kind[s.kind].append(s)
    edited = edited_events(workspace_id, [s.id for s in by_kind.get("event", [])])
    for kind, group in sorted(by_kind.items()):
        look = _worth_a_look(workspace_id, kind, group, inputs) | (edited if kind == "event" else set())
        group = [s for s in group if s.id in look]
        found = evaluations(workspace_id, kind, [s.id for s in group])
        seen = recorded(workspace_id, kind, [s.id for s in group]) if inputs is not None else {}
        plans = {(kind, i, ev): e.anchors[0]["plan_id"] for (i, ev), e in found.items() if e.anchors}
        moved = inputs.plan_moved(group, plans) if inputs is not None else set()
        for s in sorted(group, key=lambda s: s.order):
            evaluation = found.get((s.id, s.event))
            if evaluation is None or evaluation.partner_id is None:
                continue
            now_inputs = inputs.current(s, evaluation.anchors[0]["plan_version_id"]) if inputs else None
            was = latest(seen, {e["id"] for e in evaluation.entries}) if inputs else None
            renewed = replace(s, generation=evaluation.generation + 1)
            if evaluation.closed:
                out.renewed.append(renewed)
            elif evaluation.partner_id != s.partner_id:
                out.closing += close_rows(evaluation, "moved", now, "attributed to another partner")
                out.closed.append(evaluation)
                out.renewed.append(renewed)
            elif s.id in moved:  # in another program: another plan applies (or none), from its start
                out.closing += close_rows(evaluation, "moved", now, "another plan applies (program changed)")
                out.closed.append(evaluation)
                out.renewed.append(renewed)
            elif amount_counts(s) and currency_changed(s, evaluation.anchors[0]["base_currency"]):
                # converted again at the new currency's rate on the event's day: a new generation
                note = f"currency {evaluation.anchors[0]['base_currency']} → {s.currency}"
                out.closing += close_rows(evaluation, "currency", now, note)
                out.closed.append(evaluation)
                out.renewed.append(renewed)
            elif evaluation.anchors[0]["occurred_at"] != s.occurred_at:
                # another moment (a deal's close date corrected): its period, version, rate and place
                # in the tiers are the new moment's, so a new generation, as for a move
                was = evaluation.anchors[0]["occurred_at"]
                note = f"occurred {was:%Y-%m-%d %H:%M} → {s.occurred_at:%Y-%m-%d %H:%M} UTC"
                out.closing += close_rows(evaluation, "redated", now, note)
                out.closed.append(evaluation)
                out.renewed.append(renewed)
            elif (
                (evaluation.base != engine.cents(s.amount) and amount_counts(s))
                or (kind == "event" and s.id in edited)
                or (was is not None and now_inputs not in (None, was) and amount_counts(s))
            ):  # an edited event or other inputs: its rules' conditions are evaluated again
                out.changed.append((s, evaluation))
                if now_inputs is not None and now_inputs != was:  # to record (``inputs.markers``)
                    out.inputs[(s.kind, s.id, s.event)] = now_inputs
    return out


def edited_events(workspace_id: int, ids: list[int]) -> set[int]:
    """The events of ``ids`` that were edited after they were stored (``activity.EventChange``)."""
    from openprm.activity.models import EventChange

    found: set[int] = set()
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), 5000):
        rows = EventChange.objects.filter(
            workspace_id=workspace_id, event_pk__in=ordered[i : i + 5000], deleted=False
        )
        found.update(rows.values_list("event_pk", flat=True).order_by())
    return found
