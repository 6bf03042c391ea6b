"""Evaluations the accrual's reads of sales do not reach, closed when their source changed under them:

- a conversion that lost its partner (its attribution removed): the sales the accrual reads are the
  attributed ones, so nothing else would ever look at it again;
- a conversion whose type changed (a purchase corrected to a recurring payment, a signup, a refund): its
  evaluation is keyed by the old event, and the new event is evaluated as a new one.

Both are closed as a move is (``corrections.close_rows``): reversal rows linked to the rows they correct,
clawbacks once paid, the parents' overrides following, the periods they leave re-evaluated. A partner
regained, or the old type restored, is a new generation (``sources.stem``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.corrections import close_rows, evaluations

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


def _evaluated_events(workspace_id: int, ids: list[int]) -> set[tuple[int, str]]:
    """(conversion id, event) of every evaluation of these conversions (one light read per block)."""
    found: set[tuple[int, str]] = set()
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
) -> list[list[Any]]:
    """Close the evaluations of the conversions that lost their partner (read with the same filters as the
    run's) and of those evaluated under another type than the one ``conversions`` (the run's attributed,
    accepted conversions) now have; ``evaluated``: the (kind, id, event) the accrual read for ``sales``."""
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
    for source_id, event in _evaluated_events(workspace_id, unknown):
        known[source_id].add(event)
    retyped = sorted(i for i, events in known.items() if events - {event_of.get(i)})
    for (source_id, event), evaluation in sorted(evaluations(workspace_id, "conversion", retyped).items()):
        if event != event_of.get(source_id) and not evaluation.closed:
            note = f"conversion type {event} → {event_of.get(source_id)}"
            rows += close_rows(evaluation, "retyped", now, note)
    return rows
