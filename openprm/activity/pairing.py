"""Pairs events into intervals: reply times, ticket resolution times, campaign deliveries. Pure.

* **Replies.** Messages with a direction (inbound = partner → us, outbound = us → partner), in time
  order, are paired *within a conversation* only (``reply.partner`` when the partner answers us,
  ``reply.vendor`` when we answer the partner):

  1. **Explicit reply.** A message whose ``in_reply_to`` property is the ``event_id`` of an earlier,
     not yet answered message of the other side (same partner) answers that message, however long after.
  2. **Thread.** Messages with the same ``thread_id`` property form one conversation: the first
     unanswered message of one side waits, the other side's next message in the thread answers it (if
     it comes within ``MAX_REPLY_GAP``) and itself starts waiting.
  3. **Gap rule** (messages without a thread). The partner's other messages form conversations split by
     silence: a message more than ``CONVERSATION_GAP`` (4 days) after the previous message of either
     side opens a new conversation and answers nothing — the next conversation's opening message is not
     a reply to the last one. Inside a conversation the first unanswered message of one side waits and
     the other side's next message answers it if it comes within ``REPLY_WINDOW`` (7 days) of it (a
     run of follow-ups keeps the conversation open, not the wait unbounded).

  So a reply slower than 4 days with no thread id or ``in_reply_to`` is not measured (it reads as a new
  conversation): send those properties to measure slow replies exactly.
* **Tickets.** ``support_ticket_opened`` and ``support_ticket_resolved`` with the same ``ticket_id``
  property: ``ticket.resolved``, from opening to the first resolution after it.
* **Deliverables.** ``campaign_deliverable_due`` (at the due time) and ``campaign_deliverable_submitted``
  with the same ``deliverable_id``: ``deliverable``, seconds late (≤ 0 is on time).

Every rule looks only at earlier messages, so an interval depends only on events up to its end (the
incremental re-pairing from a day on relies on it). An interval belongs to the (UTC) day it ended.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

MAX_REPLY_GAP = datetime.timedelta(days=30)  # in a thread: a later answer is not a reply any more
CONVERSATION_GAP = datetime.timedelta(days=4)  # no thread: this much silence opens a new conversation
REPLY_WINDOW = datetime.timedelta(days=7)  # no thread: a reply comes within this of the message it answers
TICKET, DELIVERABLE = "support_ticket_", "campaign_deliverable_"  # type prefixes of items paired by ref
REF_PREFIXES = (TICKET, DELIVERABLE)
"""Only these items pair by their ``ref``; no other item's ``ref`` changes a result."""


@dataclass(frozen=True)
class Item:
    type: str
    at: datetime.datetime
    direction: str = ""  # inbound / outbound for messages
    ref: str = ""  # ticket_id / deliverable_id
    event_id: str = ""  # messages: the event's own id (what an ``in_reply_to`` names)
    thread: str = ""  # messages: the ``thread_id`` property
    reply_to: str = ""  # messages: the ``in_reply_to`` property


@dataclass(frozen=True)
class Interval:
    kind: str  # reply.partner, reply.vendor, ticket.resolved, deliverable
    start: datetime.datetime
    end: datetime.datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


@dataclass
class _Conversation:
    waiting: list[Item]  # the unanswered run of one side (first one first)
    last: datetime.datetime | None = None  # the latest message of either side


def _replies(messages: list[Item]) -> list[Interval]:
    found: list[Interval] = []
    by_id: dict[str, Item] = {}
    answered: set[str] = set()  # event ids of messages already answered (each is answered once)
    conversations: dict[str, _Conversation] = {}
    home: dict[str, str] = {}  # event id → its conversation key

    def reply(start: Item, end: Item) -> None:
        kind = "reply.partner" if start.direction == "outbound" else "reply.vendor"
        found.append(Interval(kind, start.at, end.at))

    for message in messages:
        target = by_id.get(message.reply_to) if message.reply_to else None
        if target is not None and (target.direction == message.direction or target.event_id in answered):
            target = None  # not an answer to the other side, or that message was answered already
        key = f"t:{message.thread}" if message.thread else ""
        if not message.thread and target is not None:
            key = home.get(target.event_id, "")  # an explicit reply continues its target's conversation
        conversation = conversations.setdefault(key, _Conversation(waiting=[]))
        limit = MAX_REPLY_GAP if message.thread else REPLY_WINDOW
        if not message.thread and (
            conversation.last is not None and message.at - conversation.last > CONVERSATION_GAP
        ):
            conversation.waiting = []  # a new conversation: nothing before the silence is answered
        waiting = conversation.waiting
        if target is not None:
            reply(target, message)
            answered.add(target.event_id)
            if not waiting or waiting[0].direction != message.direction:
                conversation.waiting = [message]  # the other side's run is closed (only ``target`` answered)
            else:
                waiting.append(message)
        elif waiting and waiting[0].direction != message.direction:
            if message.at - waiting[0].at <= limit:
                reply(waiting[0], message)
                answered.update(i.event_id for i in waiting if i.event_id)
            conversation.waiting = [message]
        else:
            waiting.append(message)
        conversation.last = message.at
        if message.event_id:
            by_id.setdefault(message.event_id, message)
            home.setdefault(message.event_id, key)
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
    ordered = sorted(items, key=lambda i: (i.at, i.type, i.direction, i.ref, i.event_id))
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
