"""Interactions logged by staff (notes, calls, meetings, e-mails) — stored as events, the one timeline.

A logged interaction is an :class:`~openprm.activity.models.Event` with ``source="ui"``: the kind maps to
an event type (an e-mail becomes ``email_sent`` or ``email_received`` by its direction), the subject and
body go into ``properties`` and the internal direction is stored as "". Its public id is the UUID inside
its ``event_id`` (``ui-<hex>`` for logged ones, ``interaction-<uuid>`` for those migrated from the old
interaction log), so ids handed out before the move keep working.

Every write adds its rollup deltas in the same transaction (a removal adds them negated) and marks the
partner for re-pairing, so reply times and the other rollups stay exactly what a rebuild would give.
A correction of the type, date or subject and body, or a removal, is recorded as an ``EventChange``: the
commission accrual re-reads it (an interaction type may earn a commission).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.activity.models import Event, EventChange
from openprm.activity.rollups import Cell, event_deltas, rollups_add, rollups_filled, workspace_kinds
from openprm.activity.tasks import refresh_pairs
from openprm.core.actors import Actor
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.partners.models import Contact, Partner

KINDS = [("note", "Note"), ("call", "Call"), ("meeting", "Meeting"), ("email", "E-mail")]
DIRECTIONS = [
    ("outbound", "Outbound (us → partner)"),
    ("inbound", "Inbound (partner → us)"),
    ("internal", "Internal"),
]
TYPES = ("note", "call", "meeting", "email_sent", "email_received")
"""Event types a logged interaction may have."""
UI_PREFIX, MIGRATED_PREFIX = "ui-", "interaction-"
MAX_FUTURE = datetime.timedelta(days=1)


def event_type_for(kind: str, direction: str) -> str:
    """The event type of an interaction kind: an e-mail is sent or received, by its direction."""
    if kind == "email":
        return "email_received" if direction == "inbound" else "email_sent"
    return kind


def kind_of(event: Event) -> str:
    return "email" if event.type.startswith("email_") else event.type


def direction_of(event: Event) -> str:
    if event.type == "email_sent":
        return "outbound"
    if event.type == "email_received":
        return "inbound"
    return event.direction or "internal"


def public_id_of(event: Event) -> uuid.UUID | None:
    """The interaction's public id: the UUID inside its event id (None for events not logged here)."""
    for prefix in (UI_PREFIX, MIGRATED_PREFIX):
        if event.event_id.startswith(prefix):
            try:
                return uuid.UUID(event.event_id[len(prefix) :])
            except ValueError:
                return None
    return None


def event_ids_for(public_id: uuid.UUID) -> list[str]:
    """The event ids an interaction with this public id may have (logged here, or migrated)."""
    return [f"{UI_PREFIX}{public_id.hex}", f"{MIGRATED_PREFIX}{public_id}"]


def _choice(errors: dict[str, str], key: str, raw: Any, choices: list[tuple[str, str]]) -> str:
    value = str(raw or "").strip().lower()
    if value not in {c for c, _ in choices}:
        errors[key] = f"Choose one of: {', '.join(c for c, _ in choices)}."
    return value


def _clean(data: dict[str, Any], *, current: Event | None, partner: Partner) -> dict[str, Any]:
    """Validated values (kind, direction, occurred_at, subject, body, contact) merged over ``current``."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = (
        {
            "kind": kind_of(current),
            "direction": direction_of(current),
            "occurred_at": current.occurred_at,
            "subject": (current.properties or {}).get("subject", ""),
            "body": (current.properties or {}).get("body", ""),
            "contact": current.actor_contact,
        }
        if current is not None
        else {"direction": "outbound", "body": "", "contact": None}
    )
    if current is None or "kind" in data:
        out["kind"] = _choice(errors, "kind", data.get("kind"), KINDS)
    if data.get("direction") is not None:
        out["direction"] = _choice(errors, "direction", data["direction"], DIRECTIONS)
    if current is None or "occurred_at" in data:
        when = data.get("occurred_at")
        if not isinstance(when, datetime.datetime):
            errors["occurred_at"] = "Give a date and time (ISO 8601)."
        else:
            when = timezone.make_aware(when) if timezone.is_naive(when) else when
            if when > timezone.now() + MAX_FUTURE:
                errors["occurred_at"] = "An interaction cannot be in the future."
            out["occurred_at"] = when
    if current is None or "subject" in data:
        out["subject"] = clean_text(errors, "subject", data.get("subject"), 200, required=True)
    if "body" in data:
        out["body"] = clean_text(errors, "body", data["body"], 20000)
    if "contact" in data:
        contact = data["contact"]
        if contact is not None and (not isinstance(contact, Contact) or contact.partner_id != partner.pk):
            errors["contact"] = "The contact must belong to this partner."
        out["contact"] = contact
    if out.get("kind") == "email" and out["direction"] == "internal":
        errors.setdefault("direction", "An e-mail is inbound or outbound.")
    if errors:
        raise ValidationError(errors)
    return out


def _apply(event: Event, values: dict[str, Any]) -> None:
    event.type = event_type_for(values["kind"], values["direction"])
    event.direction = "" if values["direction"] == "internal" else values["direction"]
    event.occurred_at = values["occurred_at"]
    event.actor_contact = values["contact"]
    event.properties = {"subject": values["subject"], "body": values["body"]}


def _row(event: Event) -> tuple[int, str, datetime.datetime, str, Decimal | None, dict[str, Any]]:
    return (event.partner_id, event.type, event.occurred_at, event.direction, event.value, event.properties)


def _rollup(workspace_id: int, *, added: Iterable[Event] = (), removed: Iterable[Event] = ()) -> None:
    """Add the rollup deltas of ``added`` events and subtract those of ``removed`` ones (same transaction);
    partners whose paired metrics change are marked dirty and re-paired by a job after the commit."""
    kinds = workspace_kinds(workspace_id)
    plus, gauges, dirty = event_deltas([_row(e) for e in added], kinds)
    minus, _, dirty_removed = event_deltas([_row(e) for e in removed], kinds)
    # Interaction types carry no gauge (only content posts do), so nothing is lost by not undoing one.
    sums: dict[Cell, Decimal] = dict(plus)
    for cell, value in minus.items():
        sums[cell] = sums.get(cell, Decimal(0)) - value
    for partner_id, day in dirty_removed.items():
        dirty[partner_id] = min(day, dirty.get(partner_id, day))
    rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges, dirty=dirty)
    if dirty:
        refresh_pairs.delay_on_commit(workspace_id, once=True)
    transaction.on_commit(lambda: rollups_filled(workspace_id=workspace_id))


def snapshot(event: Event) -> dict[str, Any]:
    """What the audit trail records of an interaction."""
    properties = event.properties or {}
    return {
        "type": event.type,
        "direction": direction_of(event),
        "occurred_at": event.occurred_at.isoformat(),
        "subject": properties.get("subject", ""),
        "body": properties.get("body", ""),
        "contact": str(event.actor_contact) if event.actor_contact_id else None,
    }


def _audit(*, actor: Actor, action: str, event: Event, before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }
    if action == AuditEntry.Action.UPDATE and not changes:
        return
    AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=event.partner_id,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=action,
        object_type="activity.interaction",
        object_id=public_id_of(event) or uuid.UUID(int=0),
        object_repr=str((event.properties or {}).get("subject") or event.type)[:300],
        changes=changes,
    ).save()


def _changed(event: Event, *, occurred_at: datetime.datetime, deleted: bool) -> None:
    """Record that a stored event changed (what it earned is re-evaluated by the commission accrual's
    next run: a deleted event keeps nothing, a changed type, date or subject is evaluated again)."""
    EventChange.objects.create(
        workspace_id=event.workspace_id,
        partner_id=event.partner_id,
        event_pk=event.pk,
        occurred_at=occurred_at,
        changed_at=timezone.now(),
        deleted=deleted,
    )


@transaction.atomic
def interaction_create(*, actor: Actor, partner: Partner, data: dict[str, Any]) -> Event:
    """Log an interaction with the partner on its timeline."""
    actor.require(Perm.PARTNER_EDIT)
    values = _clean(data, current=None, partner=partner)
    now = timezone.now()
    event = Event(
        workspace_id=actor.workspace_id,
        partner=partner,
        event_id=f"{UI_PREFIX}{uuid.uuid4().hex}",
        received_at=now,
        actor_user_id=actor.user_id,
        source=Event.Source.UI,
    )
    _apply(event, values)
    event.save()
    _rollup(actor.workspace_id, added=[event])
    _audit(actor=actor, action=AuditEntry.Action.CREATE, event=event, before={}, after=snapshot(event))
    return event


@transaction.atomic
def interaction_update(*, actor: Actor, event: Event, data: dict[str, Any]) -> Event:
    """Correct a logged interaction (its rollups move with it)."""
    actor.require(Perm.PARTNER_EDIT)
    values = _clean(data, current=event, partner=cast(Partner, event.partner))
    before = Event(
        partner_id=event.partner_id,
        type=event.type,
        occurred_at=event.occurred_at,
        direction=event.direction,
        value=event.value,
        properties=event.properties,
    )
    previous = snapshot(event)
    _apply(event, values)
    event.save(update_fields=["type", "direction", "occurred_at", "actor_contact", "properties"])
    _rollup(actor.workspace_id, added=[event], removed=[before])
    read = (event.type, event.occurred_at, event.properties)  # what a commission rule reads
    if read != (before.type, before.occurred_at, before.properties):
        _changed(event, occurred_at=before.occurred_at, deleted=False)
    _audit(actor=actor, action=AuditEntry.Action.UPDATE, event=event, before=previous, after=snapshot(event))
    return event


@transaction.atomic
def interaction_delete(*, actor: Actor, event: Event) -> None:
    """Remove a logged interaction from the timeline (and from the rollups)."""
    actor.require(Perm.PARTNER_EDIT)
    _audit(actor=actor, action=AuditEntry.Action.DELETE, event=event, before=snapshot(event), after={})
    Event.objects.filter(pk=event.pk).delete()
    _rollup(actor.workspace_id, removed=[event])
    _changed(event, occurred_at=event.occurred_at, deleted=True)
