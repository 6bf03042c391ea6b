"""Reads of a partner's timeline: its events (logged interactions included) and its deals' registrations
and stage changes, newest first, and the logged interactions on their own.

The deal rows come from deals' selectors (``deals.selectors.timeline``): activity reads no deals model."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, QuerySet, Value

from openprm.activity.catalog import BUILTIN_TYPES, TYPE_KEY
from openprm.activity.models import Event
from openprm.activity.rollups import workspace_kinds
from openprm.activity.services.interactions import TYPES, event_ids_for, public_id_of
from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.deals.selectors.timeline import (
    StageChangeEntry,
    partner_stage_changes,
    stage_change_entries,
)
from openprm.partners.models import Partner

DEALS = "deal"
"""The timeline filter value for deal registrations and stage changes."""
INTERACTIONS = "interactions"
"""The timeline filter value for logged interactions (notes, calls, meetings, e-mails)."""


def interaction_list(*, actor: Actor, partner: Partner | None = None) -> QuerySet[Event]:
    """Interactions logged in the app (or migrated from the old log), newest first."""
    actor.require(Perm.PARTNER_VIEW)
    queryset = Event.objects.filter(source=Event.Source.UI, type__in=TYPES).select_related(
        "partner", "actor_contact", "actor_user"
    )
    if actor.is_partner_user:  # internal notes are the vendor's own: a partner never sees them
        queryset = queryset.exclude(type="note")
    return queryset.filter(partner=partner) if partner is not None else queryset


def interaction_get(*, actor: Actor, public_id: Any) -> Event:
    """The logged interaction, or Event.DoesNotExist when missing *or* out of the actor's scope."""
    parsed = parse_uuid(public_id)
    if not isinstance(parsed, uuid.UUID):
        raise Event.DoesNotExist
    return interaction_list(actor=actor).get(event_id__in=event_ids_for(parsed))


@dataclass(frozen=True)
class TimelineFilters:
    type: str = ""  # an event type, INTERACTIONS, DEALS or "" for everything
    start: datetime.date | None = None
    end: datetime.date | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> TimelineFilters:
        def day(key: str) -> datetime.date | None:
            try:
                return datetime.date.fromisoformat(str(data.get(key) or "")[:10])
            except ValueError:
                return None

        return cls(type=str(data.get("type") or "").strip(), start=day("from"), end=day("to"))

    @property
    def type_error(self) -> str:
        """Why ``type`` cannot be a filter ("" when it can): it must look like an event type key."""
        if not self.type or TYPE_KEY.match(self.type):
            return ""
        return "Type: not an event type (lower-case letters, digits and _); showing everything."


BUILTIN_LABELS = {key: kind.label for key, kind in BUILTIN_TYPES.items()}
"""The built-in types' labels ("E-mail sent to the partner", never the key run together)."""


def type_labels(*, workspace_id: int) -> dict[str, str]:
    """Every event type's label: the built-in catalog, then the workspace's custom types (one query)."""
    return {key: kind.label for key, kind in workspace_kinds(workspace_id).items()}


def type_choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    """What the timeline can be filtered by: built-in types in catalog order, then custom ones."""
    builtin = [(key, labels[key]) for key in BUILTIN_TYPES if key in labels]
    custom = sorted(((k, v) for k, v in labels.items() if k not in BUILTIN_TYPES), key=lambda kv: kv[1])
    return [
        ("", "Everything"),
        (INTERACTIONS, "Logged interactions"),
        (DEALS, "Deal registrations and stage changes"),
        *builtin,
        *custom,
    ]


@dataclass(frozen=True)
class Entry:
    """One row of the timeline: an event or a deal stage change."""

    at: datetime.datetime
    event: Event | None = None
    stage_change: StageChangeEntry | None = None
    interaction_id: uuid.UUID | None = None  # set for logged interactions (they can be removed)


def _bounds(filters: TimelineFilters) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    def moment(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)

    start = moment(filters.start) if filters.start else None
    end = moment(filters.end + datetime.timedelta(days=1)) if filters.end else None
    return start, end


def timeline(*, actor: Actor, partner: Partner, filters: TimelineFilters) -> QuerySet[Any]:
    """The partner's timeline as (source, id, at) rows, newest first — paginate it, then :func:`entries`.

    One UNION query over events and deal stage changes, so pages and counts are done by the database.
    """
    actor.require(Perm.PARTNER_VIEW)
    start, end = _bounds(filters)
    events = Event.objects.filter(partner=partner)
    changes = partner_stage_changes(actor=actor, partner=partner, start=start, end=end)
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    if filters.type == INTERACTIONS:
        events = events.filter(source=Event.Source.UI, type__in=TYPES)
    elif filters.type and filters.type != DEALS:
        events = events.filter(type=filters.type)
    event_rows = events.order_by().annotate(src=Value("event", CharField()), at=F("occurred_at"))
    change_rows = changes.annotate(src=Value(DEALS, CharField()))
    event_rows_v = event_rows.values_list("src", "id", "at")
    change_rows_v = change_rows.values_list("src", "id", "at")
    if filters.type == DEALS:
        return change_rows_v.order_by("-at", "-id")
    if filters.type:
        return event_rows_v.order_by("-at", "-id")
    return event_rows_v.union(change_rows_v, all=True).order_by("-at", "-src", "-id")


def entries(rows: Any) -> list[Entry]:
    """The timeline rows of one page, with their events and stage changes (two queries)."""
    rows = list(rows)
    event_ids = [pk for src, pk, _ in rows if src == "event"]
    change_ids = [pk for src, pk, _ in rows if src == DEALS]
    events = (
        Event.objects.select_related("actor_user", "actor_contact").in_bulk(event_ids) if event_ids else {}
    )
    changes = stage_change_entries(ids=change_ids)
    found = []
    for src, pk, _ in rows:
        if src == "event" and pk in events:
            event = events[pk]
            logged = event.source == Event.Source.UI and event.type in TYPES
            found.append(
                Entry(
                    at=event.occurred_at,
                    event=event,
                    interaction_id=public_id_of(event) if logged else None,
                )
            )
        elif src == DEALS and pk in changes:
            found.append(Entry(at=changes[pk].changed_at, stage_change=changes[pk]))
    return found
