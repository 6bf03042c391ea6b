"""Evaluations the accrual's reads of sales do not reach, closed when their source changed under them:

- a conversion that lost its partner (its attribution removed): the sales the accrual reads are the
  attributed ones, so nothing else would ever look at it again;
- a conversion whose type changed (a purchase corrected to a recurring payment, a signup, a refund): its
  evaluation is keyed by the old event, and the new event is evaluated as a new one;
- a refund rejected after it reversed part of its sale: the accrual reads accepted refunds only, so the
  sale is prorated again on the refunds still accepted (``unrefunded_rows``: what the rejected refund
  took is given back, pending with a fresh hold like any raise);
- an activity event deleted, or whose type changed (a logged meeting corrected to a call): the accrual
  reads events by receipt time, and an edit or a removal leaves an ``activity.EventChange`` instead
  (``event_closing_rows``; ``changed_events``: the edited events a catch-up re-reads, so a changed date
  closes and renews the evaluation in its new period and changed properties re-evaluate the rules'
  conditions, ``corrections.revisit``).

Lost partners, changed types and deleted events are closed as a move is (``corrections.close_rows``):
reversal rows linked to the rows they correct, clawbacks once paid, the parents' overrides following, the
periods they leave re-evaluated. A partner regained, or the old type restored, is a new generation
(``sources.stem``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import F, Min, Value
from django.db.models.functions import StrIndex, Substr

from openprm.activity.models import Conversion, Event, EventChange
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.corrections import (
    _reversal,
    close_rows,
    evaluations,
    plan_hold_days,
    refunded_entries,
    reprorated,
)
from openprm.commissions.services.rows import POS
from openprm.commissions.services.running import refunded_shares

KIND = LedgerEntry.Kind
STATE = LedgerEntry.State


def unattributed_conversions(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
) -> list[int]:
    """Conversions without a partner (not rejected: those are voided) that earned something once."""
    rows = Conversion.objects.filter(workspace_id=workspace_id, partner_id__isnull=True).exclude(
        status=Conversion.Status.REJECTED
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if changed_after is not None:
        rows = rows.filter(updated_at__gt=changed_after)
    evaluated = LedgerEntry.objects.filter(
        workspace_id=workspace_id, source_kind="conversion", kind__in=[KIND.ACCRUAL, KIND.BONUS]
    ).values("source_id")
    return list(rows.filter(pk__in=evaluated).order_by().values_list("id", flat=True))


def _evaluated_events(workspace_id: int, ids: list[int]) -> set[tuple[int | None, str]]:
    """(conversion id, event) of every evaluation of these conversions (one light read per block)."""
    found: set[tuple[int | None, str]] = set()
    for i in range(0, len(ids), 5000):
        found.update(
            LedgerEntry.objects.filter(
                workspace_id=workspace_id,
                source_kind="conversion",
                source_id__in=ids[i : i + 5000],
                kind__in=[KIND.ACCRUAL, KIND.BONUS],
                reverses__isnull=True,
            )
            .values_list("source_id", "source_event")
            .distinct()
            .order_by()
        )
    return found


def closing_rows(
    workspace_id: int,
    *,
    conversions: list[src.Source],
    sales: list[src.Source],
    evaluated: set[tuple[str, int | None, str]],
    now: datetime.datetime,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    closing: Iterable[list[Any]] = (),
) -> list[list[Any]]:
    """Close the evaluations of the conversions that lost their partner (read with the same filters as the
    run's) and of those evaluated under another type than the one ``conversions`` (the run's attributed,
    accepted conversions) now have; ``evaluated``: the (kind, id, event) the accrual read for ``sales``;
    ``closing``: the run's other closing rows (moved, rejected), before the refunds no longer counting."""
    rows: list[list[Any]] = []
    lost = unattributed_conversions(workspace_id, ids=ids, start=start, end=end, changed_after=changed_after)
    for _, evaluation in sorted(evaluations(workspace_id, "conversion", lost).items()):
        if not evaluation.closed:
            rows += close_rows(evaluation, "detached", now, "attribution removed")
    event_of = {c.id: c.event for c in conversions}
    known: dict[int, set[str]] = defaultdict(set)
    for kind, source_id, event in evaluated:
        if kind == "conversion" and source_id is not None:
            known[source_id].add(event)
    looked = {s.id for s in sales if s.kind == "conversion"}
    unknown = sorted(i for i in event_of if i not in looked)  # not read by the accrual (refunds, ...)
    for found_id, event in _evaluated_events(workspace_id, unknown):
        if found_id is not None:
            known[found_id].add(event)
    retyped = sorted(i for i, events in known.items() if events - {event_of.get(i)})
    for (source_id, event), evaluation in sorted(evaluations(workspace_id, "conversion", retyped).items()):
        if event != event_of.get(source_id) and not evaluation.closed:
            note = f"conversion type {event} → {event_of.get(source_id)}"
            rows += close_rows(evaluation, "retyped", now, note)
    rows += unrefunded_rows(
        workspace_id,
        ids=ids,
        start=start,
        end=end,
        changed_after=changed_after,
        now=now,
        closing=[*closing, *rows],
    )
    return rows


def _stale_refunds(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
) -> dict[int, int]:
    """sale → a conversion (read with the run's filters) whose refund reversals (keys ``r<id>:…``) stand
    on that sale while it is no longer an accepted refund of it: rejected, retyped, pointed at another
    sale (the latest such conversion of each sale: the give-back rows' key)."""
    rows = Conversion.objects.filter(workspace_id=workspace_id)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if changed_after is not None:
        rows = rows.filter(updated_at__gt=changed_after)
    key = F("idempotency_key")
    reversals = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        source_kind="conversion",
        kind__in=[KIND.REVERSAL, KIND.CLAWBACK],
        idempotency_key__startswith="r",
    ).annotate(refund=Substr(key, 2, StrIndex(key, Value(":")) - 2))
    wanted: set[str] | None = None
    if ids is not None or changed_after is not None:  # a few conversions: their reversals, written after them
        first = rows.aggregate(first=Min("created_at"))["first"]
        if first is None:
            return {}
        reversals = reversals.filter(created_at__gte=first)
        wanted = {str(i) for i in rows.values_list("id", flat=True).order_by()}
    pairs: dict[int, set[int]] = defaultdict(set)  # refund → the sales its reversals stand on
    for refund, sale in reversals.values_list("refund", "source_id").distinct().order_by():
        if refund.isdigit() and sale is not None and (wanted is None or refund in wanted):
            pairs[int(refund)].add(sale)
    if not pairs:
        return {}
    found: dict[int, int] = {}
    ordered = sorted(pairs)
    for i in range(0, len(ordered), 5000):
        for refund, kind, status, of in (
            rows.filter(pk__in=ordered[i : i + 5000])
            .values_list("id", "kind", "status", "refund_of_id")
            .order_by("id")
        ):
            accepted = kind == Conversion.Kind.REFUND and status == Conversion.Status.ACCEPTED
            for sale in pairs[refund]:
                if not accepted or of != sale:
                    found[sale] = refund
    return found


def unrefunded_rows(
    workspace_id: int,
    *,
    now: datetime.datetime,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    closing: Iterable[list[Any]] = (),
) -> list[list[Any]]:
    """The sales of refunds rejected, retyped or pointed at another sale, prorated again on the refunds
    still accepted: each prorated row stands at its share of what is refunded now (the rows linked to the
    former refund's key). ``closing``: the run's closing rows, not written yet; the evaluations they close
    are left out (what they reverse is gone, nothing is given back)."""
    stale = _stale_refunds(workspace_id, ids=ids, start=start, end=end, changed_after=changed_after)
    if not stale:
        return []
    shares = refunded_shares(workspace_id, set(stale))
    entries = refunded_entries(workspace_id, sorted(stale))
    closed_now = {r[POS["reverses_id"]] for r in closing}
    hold_days = plan_hold_days(e for found in entries.values() for e in found)
    out: list[list[Any]] = []
    for sale, found in sorted(entries.items()):
        share = shares.get(sale, Decimal(0))
        closed = {
            src.generation_of("conversion", sale, e["source_event"], e["idempotency_key"])
            for e in found
            if e["id"] in closed_now
        }
        for entry in found:
            generation = src.generation_of(
                "conversion", sale, entry["source_event"], entry["idempotency_key"]
            )
            if generation in closed:
                continue
            amount = reprorated(entry, share)
            if not amount:
                continue
            key = f"r{stale[sale]}:{entry['id']}:{entry['fixes']}"
            entry["fixes"] += 1
            note = f"refund no longer counts: {share * 100:.2f}% of the sale refunded now"
            out.append(_reversal(entry, key, amount, now, note, hold_days=hold_days.get(entry["plan_id"])))
    return out


def _event_changes(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    deleted: bool | None = None,
) -> set[int]:
    """The ids of the events changed (edited or deleted) that a run with these filters covers (by the
    event's moment before the change)."""
    rows = EventChange.objects.filter(workspace_id=workspace_id)
    if ids is not None:
        rows = rows.filter(event_pk__in=list(ids))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if changed_after is not None:
        rows = rows.filter(changed_at__gt=changed_after)
    if deleted is not None:
        rows = rows.filter(deleted=deleted)
    return set(rows.values_list("event_pk", flat=True).order_by())


def changed_events(
    workspace_id: int,
    *,
    types: list[str],
    have: list[src.Source],
    changed_after: datetime.datetime | None,
    ids: Iterable[int] | None = None,
) -> list[src.Source]:
    """The events edited since ``changed_after`` that a catch-up's read by receipt time missed (``have``:
    the events it read); nothing for runs that read every event or the given ids."""
    if changed_after is None or ids is not None or not types:
        return []
    edited = _event_changes(workspace_id, changed_after=changed_after, deleted=False)
    missed = sorted(edited - {s.id for s in have})
    if not missed:
        return []
    return src.activity_events(workspace_id, types=types, ids=missed)


def event_closing_rows(
    workspace_id: int,
    *,
    now: datetime.datetime,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
) -> list[list[Any]]:
    """Close the evaluations of the changed events (read with the run's filters) that were deleted, or
    evaluated under another type than the one they have now (the new type is evaluated as a new event;
    the old type restored is a new generation of it)."""
    changed = _event_changes(workspace_id, ids=ids, start=start, end=end, changed_after=changed_after)
    if not changed:
        return []
    found = evaluations(workspace_id, "event", changed)
    if not found:
        return []
    types = dict(
        Event.objects.filter(workspace_id=workspace_id, pk__in=sorted({i for i, _ in found}))
        .values_list("id", "type")
        .order_by()
    )
    rows: list[list[Any]] = []
    for (source_id, event), evaluation in sorted(found.items()):
        if evaluation.closed:
            continue
        if source_id not in types:
            rows += close_rows(evaluation, "deleted", now, "event deleted")
            continue
        now_event = src.EVENT_TYPES.get(types[source_id], f"custom:{types[source_id]}")
        if event != now_event:
            rows += close_rows(evaluation, "retyped", now, f"event type {event} → {now_event}")
    return rows
