"""What a stored row adds to the rollups: the pure part (no writes). Events, clicks and conversions
become deltas per (partner, UTC day, metric) cell; the metric names are listed in the package docstring."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from openprm.activity.catalog import BUILTIN_TYPES, CONTENT_PROPERTIES, EventKind
from openprm.activity.models import Conversion, EventType
from openprm.core.tasks import workspace_scope

Cell = tuple[int, datetime.date, str]  # (partner_id, day, metric)
Sums = defaultdict[Cell, Decimal]
GAUGES = frozenset({"content.followers"})
SURVEY_TYPE = "survey_response"
PROMOTER = 9  # a survey score (0–10) of 9 or more: a promoter
DETRACTOR = 6  # a score of 6 or less: a detractor
PAIRED_TYPES = frozenset(
    {
        "support_ticket_opened",
        "support_ticket_resolved",
        "campaign_deliverable_due",
        "campaign_deliverable_submitted",
    }
)


def workspace_kinds(workspace_id: int) -> dict[str, EventKind]:
    """The built-in catalog plus the workspace's custom types."""
    with workspace_scope(workspace_id):
        custom = {
            t.key: EventKind(
                t.key, t.label, t.category, contact=t.contact, qualifying=t.qualifying, builtin=False
            )
            for t in EventType.objects.filter(workspace_id=workspace_id)
        }
    return {**custom, **BUILTIN_TYPES}


def day_of(moment: datetime.datetime) -> datetime.date:
    """The UTC day of a moment (rollup days are UTC)."""
    return moment.astimezone(datetime.UTC).date()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None


Number = int | Decimal
Counts = defaultdict[Cell, Number]  # counts stay ints while they are summed (cheaper than Decimal)
DayRow = tuple[int, str, datetime.date, str, Decimal | None, Mapping[str, Any] | None]
_Handler = tuple[str, str, bool, str, bool, bool, bool]  # names, contact, direction, paired, content, survey


def _handler(type_key: str, kinds: Mapping[str, EventKind]) -> _Handler:
    """What an event of the type adds to: resolved once per type, not once per event."""
    kind = kinds.get(type_key)
    return (
        f"events.{type_key}",
        f"value.{type_key}",
        bool(kind and kind.contact),
        kind.direction if kind else "",
        type_key in PAIRED_TYPES,
        type_key == "content_post",
        type_key == SURVEY_TYPE,
    )


def day_deltas(
    rows: Iterable[DayRow],
    kinds: Mapping[str, EventKind],
    sums: Counts,
    gauges: dict[Cell, Decimal],
    dirty: dict[int, datetime.date],
) -> None:
    """Add the deltas of events given with their UTC day — (partner_id, type, day, direction, value,
    properties) — to ``sums``, ``gauges`` and ``dirty`` (partner → earliest day to re-pair).

    Partners are marked dirty only by events that pair (directed messages, tickets, deliverables)."""
    handlers: dict[str, _Handler] = {}
    for partner_id, type_key, day, direction, value, properties in rows:
        handler = handlers.get(type_key)
        if handler is None:
            handler = handlers[type_key] = _handler(type_key, kinds)
        count_name, value_name, contact, implied, paired, content, survey = handler
        sums[(partner_id, day, count_name)] += 1
        if value is not None:
            sums[(partner_id, day, value_name)] += value
            if survey:
                sums[(partner_id, day, "survey.responses")] += 1
                sums[(partner_id, day, "survey.score")] += value
                if value >= PROMOTER:
                    sums[(partner_id, day, "survey.promoters")] += 1
                elif value <= DETRACTOR:
                    sums[(partner_id, day, "survey.detractors")] += 1
        if contact:
            sums[(partner_id, day, "contact")] += 1
            if direction := direction or implied:
                sums[(partner_id, day, f"contact.{direction}")] += 1
                paired = True
        if content and properties:
            for name in CONTENT_PROPERTIES:
                number = _number(properties.get(name))
                if number is None:
                    continue
                cell = (partner_id, day, f"content.{name}")
                if f"content.{name}" in GAUGES:
                    gauges[cell] = max(gauges.get(cell, number), number)
                else:
                    sums[cell] += number
        if paired:
            since = dirty.get(partner_id)
            if since is None or day < since:
                dirty[partner_id] = day


def event_deltas(
    rows: Iterable[tuple[int, str, datetime.datetime, str, Decimal | None, Mapping[str, Any]]],
    kinds: Mapping[str, EventKind],
) -> tuple[Sums, dict[Cell, Decimal], dict[int, datetime.date]]:
    """Additive deltas, gauge values and dirty partners (partner → earliest day) of new events.

    ``rows``: (partner_id, type, occurred_at, direction, value, properties) of events just stored.
    """
    counts: Counts = defaultdict(int)
    gauges: dict[Cell, Decimal] = {}
    dirty: dict[int, datetime.date] = {}
    day_deltas(
        ((p, t, day_of(at), d, v, props) for p, t, at, d, v, props in rows), kinds, counts, gauges, dirty
    )
    return defaultdict(Decimal, {cell: Decimal(v) for cell, v in counts.items()}), gauges, dirty


def click_deltas(rows: Iterable[tuple[int, datetime.datetime]]) -> Sums:
    """(partner_id, clicked_at) of new clicks → ``clicks`` per partner and day."""
    sums: Sums = defaultdict(Decimal)
    for partner_id, at in rows:
        sums[(partner_id, day_of(at), "clicks")] += 1
    return sums


def conversion_deltas(
    rows: Iterable[tuple[int | None, str, datetime.datetime, Decimal, str]], *, sign: int = 1
) -> Sums:
    """(partner_id, kind, occurred_at, amount, status) of conversions → counts and amounts.

    Only attributed, accepted conversions count; ``sign=-1`` takes one back (a status change)."""
    sums: Sums = defaultdict(Decimal)
    for partner_id, kind, occurred_at, amount, status in rows:
        if partner_id is None or status != Conversion.Status.ACCEPTED:
            continue
        day = day_of(occurred_at)
        sums[(partner_id, day, f"conversions.{kind}")] += sign
        sums[(partner_id, day, f"conversions.{kind}.amount")] += sign * Decimal(amount)
    return sums


def add_into(sums: Counts | Sums, more: Mapping[Cell, Decimal]) -> None:
    """Add ``more`` to ``sums`` cell by cell."""
    for cell, value in more.items():
        sums[cell] += value
