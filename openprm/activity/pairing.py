"""Pairs events into intervals: reply times, ticket resolution times, campaign deliveries. Pure.

* **Replies.** Messages with a direction (inbound = partner → us, outbound = us → partner), in time
  order. The first unanswered message of one side waits for the other side; the other side's next
  message answers it (``reply.partner`` when the partner answers us, ``reply.vendor`` when we answer the
  partner) and itself starts waiting. A message left unanswered for more than ``MAX_REPLY_GAP`` is
  dropped: the next message starts afresh.
* **Tickets.** ``support_ticket_opened`` and ``support_ticket_resolved`` with the same ``ticket_id``
  property: ``ticket.resolved``, from opening to the first resolution after it.
* **Deliverables.** ``campaign_deliverable_due`` (at the due time) and ``campaign_deliverable_submitted``
  with the same ``deliverable_id``: ``deliverable``, seconds late (≤ 0 is on time).

An interval belongs to the (UTC) day it ended.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

MAX_REPLY_GAP = datetime.timedelta(days=30)
TICKET, DELIVERABLE = "support_ticket_", "campaign_deliverable_"  # type prefixes of items paired by ref
REF_PREFIXES = (TICKET, DELIVERABLE)
"""Only these items pair by their ``ref``; no other item's ``ref`` changes a result."""


@dataclass(frozen=True)
class Item:
    type: str
    at: datetime.datetime
    direction: str = ""  # inbound / outbound for messages
    ref: str = ""  # ticket_id / deliverable_id


@dataclass(frozen=True)
class Interval:
    kind: str  # reply.partner, reply.vendor, ticket.resolved, deliverable
    start: datetime.datetime
    end: datetime.datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def _replies(messages: list[Item]) -> list[Interval]:
    found: list[Interval] = []
    waiting: Item | None = None
    for message in messages:
        if waiting is not None and message.at - waiting.at > MAX_REPLY_GAP:
            waiting = None
        if waiting is None or message.direction == waiting.direction:
            waiting = waiting or message
            continue
        kind = "reply.partner" if waiting.direction == "outbound" else "reply.vendor"
        found.append(Interval(kind, waiting.at, message.at))
        waiting = message
    return found


def _tickets(items: list[Item]) -> list[Interval]:
    opened: dict[str, datetime.datetime] = {}
    found: list[Interval] = []
    for item in items:
        if item.type == "support_ticket_opened":
            opened.setdefault(item.ref, item.at)
        elif item.ref in opened and item.at >= opened[item.ref]:
            found.append(Interval("ticket.resolved", opened.pop(item.ref), item.at))
    return found


def _deliverables(items: list[Item]) -> list[Interval]:
    due: dict[str, datetime.datetime] = {}
    submitted: dict[str, datetime.datetime] = {}
    for item in items:
        target = due if item.type == "campaign_deliverable_due" else submitted
        target.setdefault(item.ref, item.at)
    return [Interval("deliverable", due[ref], at) for ref, at in submitted.items() if ref in due]


def pair(items: Iterable[Item]) -> list[Interval]:
    """Every interval the items form (any order in, chronological per kind out)."""
    ordered = sorted(items, key=lambda i: (i.at, i.type, i.direction, i.ref))
    messages = [
        i
        for i in ordered
        if i.direction in ("inbound", "outbound") and not i.type.startswith(("support_", "campaign_"))
    ]
    tickets = [i for i in ordered if i.type.startswith(TICKET) and i.ref]
    deliverables = [i for i in ordered if i.type.startswith(DELIVERABLE) and i.ref]
    return [*_replies(messages), *_tickets(tickets), *_deliverables(deliverables)]


def interval_metrics(
    partner_id: int, intervals: Iterable[Interval]
) -> dict[tuple[int, datetime.date, str], Decimal]:
    """Rollup cells of intervals: ``<kind>.count`` and ``<kind>.seconds``; deliverables on time / late."""
    cells: Counter[tuple[int, datetime.date, str]] = Counter()
    for interval in intervals:
        day = interval.end.astimezone(datetime.UTC).date()
        if interval.kind == "deliverable":
            cells[
                (partner_id, day, "deliverable.on_time" if interval.seconds <= 0 else "deliverable.late")
            ] += 1
            continue
        cells[(partner_id, day, f"{interval.kind}.count")] += 1
        cells[(partner_id, day, f"{interval.kind}.seconds")] += interval.seconds
    return {cell: Decimal(value) for cell, value in cells.items()}
