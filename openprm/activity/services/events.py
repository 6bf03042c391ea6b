"""Event ingestion: validate a batch, store the new events once, update the rollups — one transaction.

The fast path behind ``POST /api/v1/events`` and `prm import activities`: every item is checked by
plain code (no per-item ORM), the ids already stored are looked up in one query per few thousand, the
new rows are appended with COPY (PostgreSQL) or ``executemany`` (SQLite), and the rollup deltas of
exactly those rows are queued in the same transaction (one row naming their ids) for the job worker,
which adds them right after the commit (``rollups.rollups_fold``). A re-sent ``event_id`` is recognised
and counted as a duplicate, never stored twice — also when two requests race with overlapping ids (the
unique constraint stops the second; its batch re-checks and retries).
"""

from __future__ import annotations

import datetime
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from openprm.activity import rollups
from openprm.activity.catalog import DIRECTIONS, EventKind
from openprm.activity.models import Event
from openprm.core.actors import Actor
from openprm.core.bulk import FastTable
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.partners.models import Contact, Partner

MAX_BATCH = 10_000
MAX_PROPERTIES_BYTES = 16_384
MAX_EVENT_ID = 100
MAX_VALUE = Decimal("1e15")
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
FUTURE_SLACK = datetime.timedelta(days=1)
FIELDS = frozenset(
    {
        "event_id",
        "partner",
        "partner_external_id",
        "type",
        "occurred_at",
        "direction",
        "value",
        "properties",
        "actor_email",
        "source",
    }
)
_COLUMNS = (
    "workspace_id",
    "partner_id",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "actor_contact_id",
    "actor_user_id",
    "direction",
    "value",
    "properties",
    "source",
)
_LOOKUP_CHUNK = 2_000


@dataclass(frozen=True)
class EventError:
    index: int  # position in the batch (0-based); the CSV import reports line numbers instead
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "code": self.code, "message": self.message}


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[EventError] = field(default_factory=list)
    refused: bool = False  # all-or-nothing and some item was bad: nothing stored

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "refused": self.refused,
            "errors": [e.as_dict() for e in self.errors],
        }


class _Lookups:
    """What checking a batch needs from the database, loaded once per batch (partners lazily)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.workspace_id = actor.workspace_id
        self.kinds: dict[str, EventKind] = rollups.workspace_kinds(actor.workspace_id)
        self.known = ", ".join(sorted(self.kinds)[:40])
        self.by_public: dict[str, int | None] = {}
        self.by_external: dict[str, int | None] = {}
        self.emails: dict[str, tuple[int | None, int | None, int | None]] = {}  # → contact, partner, user
        self.latest = timezone.now() + FUTURE_SLACK  # the latest occurred_at accepted

    def preload(self, items: Sequence[Any]) -> None:
        publics = {
            i.get("partner") for i in items if isinstance(i, dict) and isinstance(i.get("partner"), str)
        }
        externals = {
            i.get("partner_external_id")
            for i in items
            if isinstance(i, dict) and isinstance(i.get("partner_external_id"), str)
        }
        emails = {
            i["actor_email"].strip().lower()
            for i in items
            if isinstance(i, dict) and isinstance(i.get("actor_email"), str)
        }
        for key in {*externals, *emails}:  # NUL never matches (and PostgreSQL refuses it in a query)
            if key and "\x00" in key:
                self.by_external[key] = None
                self.emails[key] = (None, None, None)
        externals = {e for e in externals if e and "\x00" not in e}
        emails = {e for e in emails if "\x00" not in e}
        partners = Partner.objects.filter(workspace_id=self.workspace_id)  # the actor's scope applies
        for chunk in _chunks(sorted(p for p in publics if p and p not in self.by_public)):
            valid = {key: parsed for key in chunk if (parsed := _uuid(key)) is not None}
            found = dict(partners.filter(public_id__in=valid.values()).values_list("public_id", "id"))
            for key in chunk:
                self.by_public[key] = found.get(valid[key]) if key in valid else None
        wanted = sorted(e for e in externals if e and e not in self.by_external)
        if len(wanted) > 500:  # most of a program's partners: read them all rather than a long IN list
            found_ext = dict(partners.exclude(external_id="").values_list("external_id", "id"))
            self.by_external.update({key: found_ext.get(key) for key in wanted})
        else:
            for chunk in _chunks(wanted):
                found_chunk = dict(partners.filter(external_id__in=chunk).values_list("external_id", "id"))
                self.by_external.update({key: found_chunk.get(key) for key in chunk})
        pending = sorted(e for e in emails if e and e not in self.emails)
        if pending:
            self._load_emails(pending)

    def _load_emails(self, emails: list[str]) -> None:
        from openprm.accounts.models import Membership

        with unscoped():
            for chunk in _chunks(emails):
                contacts = Contact.objects.filter(workspace_id=self.workspace_id, email__in=chunk)
                for email, contact_id, partner_id in contacts.values_list("email", "id", "partner_id"):
                    self.emails.setdefault(email.lower(), (contact_id, partner_id, None))
                members = Membership.objects.filter(workspace_id=self.workspace_id, user__email__in=chunk)
                for email, user_id in members.values_list("user__email", "user_id"):
                    self.emails.setdefault(email.lower(), (None, None, user_id))
        for email in emails:
            self.emails.setdefault(email, (None, None, None))


def _chunks(values: list[str], size: int = _LOOKUP_CHUNK) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if len(text) in (32, 36) else None
    except ValueError:
        return None


def _has_nul(text: str) -> bool:
    return "\x00" in text


class _Bad(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


def _check(item: Any, lookups: _Lookups, now: datetime.datetime, source: str) -> list[Any]:
    """One item → a row in ``_COLUMNS`` order (properties serialized); raises ``_Bad`` for the first bad
    field, in the order of the checks below."""
    if not isinstance(item, dict):
        raise _Bad("", "invalid_type", "Each event must be a JSON object.")
    if not FIELDS.issuperset(item):
        name = sorted(item.keys() - FIELDS)[0]
        raise _Bad(str(name)[:60], "unknown_field", f"Unknown field '{str(name)[:60]}'.")
    event_id = _event_id(item)
    type_key = item.get("type")
    if not isinstance(type_key, str):
        raise _Bad("type", "required", "type is required (an event type key).")
    kind = lookups.kinds.get(type_key)
    if kind is None:
        raise _Bad("type", "unknown_type", f"Unknown event type '{type_key[:60]}'. Known: {lookups.known}.")
    external = item.get("partner_external_id")
    partner_id = lookups.by_external.get(external) if type(external) is str else None
    if partner_id is None or "partner" in item:
        partner_id = _partner(item, lookups)
    occurred_at = _moment(item.get("occurred_at"), lookups.latest)
    direction = _direction(item, kind, type_key)
    value = _value(item)
    serialized = _properties(item)
    contact_id, user_id = _actor_ids(item, lookups, partner_id)
    return [
        lookups.workspace_id,
        partner_id,
        event_id,
        type_key,
        occurred_at,
        now,
        contact_id,
        user_id,
        direction,
        value,
        serialized,
        _source(item, source),
    ]


def _event_id(item: dict[str, Any]) -> str:
    event_id = item.get("event_id")
    if not isinstance(event_id, str) or not (event_id := event_id.strip()):
        raise _Bad("event_id", "required", "event_id is required (a string unique to this event).")
    if len(event_id) > MAX_EVENT_ID or not event_id.isprintable():  # NUL is not printable
        raise _Bad("event_id", "invalid", f"event_id must be at most {MAX_EVENT_ID} printable characters.")
    return event_id


def _direction(item: dict[str, Any], kind: EventKind, type_key: str) -> str:
    """inbound, outbound or empty; a type with a fixed direction refuses the other one."""
    direction = item.get("direction") or ""
    if not isinstance(direction, str) or (direction and direction not in DIRECTIONS):
        raise _Bad("direction", "invalid", "direction must be 'inbound', 'outbound' or empty.")
    if kind.direction and direction and direction != kind.direction:
        raise _Bad("direction", "invalid", f"A {type_key} event is always {kind.direction}.")
    return direction


def _value(item: dict[str, Any]) -> Decimal | None:
    """The event's number, finite and below 1e15 in size, kept to 4 decimal places (None: none given)."""
    value = item.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("value", "invalid_type", "value must be a number.")
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) >= MAX_VALUE:
        raise _Bad("value", "invalid", "value must be a finite number below 1e15 in size.")
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def _properties(item: dict[str, Any]) -> str:
    """The properties as compact JSON text: an object of at most MAX_PROPERTIES_BYTES, without NUL."""
    properties = item.get("properties")
    if properties is None:
        return "{}"
    if not isinstance(properties, dict):
        raise _Bad("properties", "invalid_type", "properties must be a JSON object.")
    serialized = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
    if len(serialized.encode()) > MAX_PROPERTIES_BYTES:
        raise _Bad("properties", "too_large", f"properties must be at most {MAX_PROPERTIES_BYTES} bytes.")
    if "\\u0000" in serialized or _has_nul(serialized):
        raise _Bad("properties", "invalid", "properties must not contain NUL characters.")
    return serialized


def _actor_ids(item: dict[str, Any], lookups: _Lookups, partner_id: int) -> tuple[int | None, int | None]:
    """(contact id, user id) of ``actor_email``: a contact of this event's partner or a workspace user."""
    email = item.get("actor_email")
    if email is None:
        return None, None
    if not isinstance(email, str):
        raise _Bad("actor_email", "invalid_type", "actor_email must be a string.")
    contact_id, contact_partner, user_id = lookups.emails.get(email.strip().lower(), (None, None, None))
    if contact_id is not None and contact_partner != partner_id:
        contact_id = None  # another partner's contact: not this event's actor
    if contact_id is None and user_id is None:
        raise _Bad(
            "actor_email", "not_found", "No contact of this partner or workspace user has this e-mail."
        )
    return contact_id, user_id


def _source(item: dict[str, Any], default: str) -> str:
    given = item.get("source")
    if given is None:
        return default
    if given not in (Event.Source.API, Event.Source.INTEGRATION, Event.Source.CSV):
        raise _Bad("source", "invalid", "source must be 'api', 'integration' or 'csv'.")
    return str(given)


def _partner(item: dict[str, Any], lookups: _Lookups) -> int:
    public, external = item.get("partner"), item.get("partner_external_id")
    if public is None and external is None:
        if lookups.actor.partner_id is not None:
            return lookups.actor.partner_id
        raise _Bad("partner", "required", "partner (public id) or partner_external_id is required.")
    if public is not None:
        if not isinstance(public, str):
            raise _Bad("partner", "invalid_type", "partner must be a partner's public id (UUID).")
        found = lookups.by_public.get(public)
        if found is None:
            raise _Bad("partner", "not_found", "No partner with this id.")
        return found
    if not isinstance(external, str):
        raise _Bad("partner_external_id", "invalid_type", "partner_external_id must be a string.")
    found = lookups.by_external.get(external)
    if found is None:
        raise _Bad("partner_external_id", "not_found", f"No partner with external id '{external[:60]}'.")
    return found


def _moment(raw: Any, latest: datetime.datetime) -> datetime.datetime:
    if not isinstance(raw, str):
        raise _Bad("occurred_at", "required", "occurred_at is required (ISO 8601 date-time).")
    try:
        moment = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad("occurred_at", "invalid", f"'{raw[:40]}' is not an ISO 8601 date-time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)  # naive times are UTC
    if moment > latest:
        raise _Bad("occurred_at", "in_future", "occurred_at is more than a day in the future.")
    if moment < EARLIEST:
        raise _Bad("occurred_at", "too_old", "occurred_at is before 2000-01-01.")
    return moment


def events_check(
    *, actor: Actor, items: Sequence[Any], source: str = Event.Source.API
) -> tuple[list[tuple[int, list[Any]]], list[EventError]]:
    """Check every item: (index, row) of the valid ones and the errors of the others. Writes nothing."""
    lookups = _Lookups(actor)
    lookups.preload(items)
    now = timezone.now()
    lookups.latest = now + FUTURE_SLACK
    rows: list[tuple[int, list[Any]]] = []
    errors: list[EventError] = []
    for index, item in enumerate(items):
        try:
            rows.append((index, _check(item, lookups, now, source)))
        except _Bad as bad:
            errors.append(EventError(index, bad.field, bad.code, bad.message))
    return rows, errors


def _stored_ids(workspace_id: int, event_ids: list[str]) -> set[str]:
    """Which of these ids the workspace already has: one query with the ids as one parameter (an array
    on PostgreSQL, a JSON list on SQLite), not thousands of placeholders to parse and plan."""
    if not event_ids:
        return set()
    table = connection.ops.quote_name(Event._meta.db_table)
    if connection.vendor == "postgresql":
        query = f"SELECT event_id FROM {table} WHERE workspace_id = %s AND event_id = ANY(%s)"  # noqa: S608
        params: list[Any] = [workspace_id, event_ids]
    else:
        query = (
            f"SELECT event_id FROM {table} WHERE workspace_id = %s "  # noqa: S608
            "AND event_id IN (SELECT value FROM json_each(%s))"
        )
        params = [workspace_id, json.dumps(event_ids)]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {value for (value,) in cursor.fetchall()}


def events_ingest(
    *, actor: Actor, items: Sequence[Any], atomic: bool = False, source: str = Event.Source.API
) -> IngestResult:
    """Store the valid, not yet stored events of a batch; see the module docstring."""
    actor.require(Perm.ACTIVITY_INGEST)
    if len(items) > MAX_BATCH:
        raise ValueError(f"At most {MAX_BATCH} events per batch.")
    rows, errors = events_check(actor=actor, items=items, source=source)
    result = IngestResult(received=len(items), rejected=len(errors), errors=errors)
    if errors and atomic:
        result.refused = True
        return result
    unique: dict[str, list[Any]] = {}
    for _, row in rows:
        unique.setdefault(row[2], row)  # a repeated id inside the batch: the first one counts
    for attempt in range(5):
        try:
            result.stored = _store(actor.workspace_id, unique)
            break
        except IntegrityError:  # a concurrent batch stored some of these ids first: look again
            if attempt == 4:
                raise
    result.duplicates = len(rows) - result.stored
    return result


def _insert(workspace_id: int, rows: list[list[Any]]) -> list[int]:
    table = FastTable(Event, _COLUMNS, with_ids=True)
    position = _COLUMNS.index("properties") + 1
    table.convert = [(p, fn) for p, fn in table.convert if p != position]  # already serialized
    ids = table.ids(len(rows))
    table.insert([[pk, *row] for pk, row in zip(ids, rows, strict=True)])  # copies: a retry needs them
    return ids


def _store(workspace_id: int, unique: dict[str, list[Any]]) -> int:
    """Append the batch optimistically (new events are the common case); when the unique constraint
    says some ids are already stored, roll that back, look them up and append the others."""
    with transaction.atomic():
        new = list(unique.values())
        try:
            with transaction.atomic():
                ids = _insert(workspace_id, new)
        except IntegrityError:
            stored = _stored_ids(workspace_id, list(unique))
            new = [row for key, row in unique.items() if key not in stored]
            if not new:
                return 0
            ids = _insert(workspace_id, new)  # a concurrent batch may still win a race: the caller retries
        rollups.rollups_queue(workspace_id=workspace_id, event_ids=ids)
        return len(new)


def event_type_create(
    *, actor: Actor, key: str, label: str, contact: bool = False, qualifying: bool = True
) -> Any:
    """Add a custom event type to the workspace's catalog (admins)."""
    from django.core.exceptions import ValidationError

    from openprm.activity.catalog import BUILTIN_TYPES, TYPE_KEY
    from openprm.activity.models import EventType
    from openprm.core.audit import audit_record

    actor.require(Perm.WORKSPACE_ADMIN)
    key, label = key.strip(), label.strip()
    if not TYPE_KEY.match(key):
        raise ValidationError({"key": "2-60 lower-case letters, digits or _, starting with a letter."})
    if key in BUILTIN_TYPES:
        raise ValidationError({"key": f"'{key}' is a built-in type."})
    if not label or len(label) > 120 or "\x00" in label:
        raise ValidationError({"label": "Give the type a label of 1-120 characters."})
    with transaction.atomic():
        if EventType.objects.filter(workspace_id=actor.workspace_id, key=key).exists():
            raise ValidationError({"key": f"The workspace already has a type '{key}'."})
        created = EventType.objects.create(
            workspace_id=actor.workspace_id, key=key, label=label, contact=contact, qualifying=qualifying
        )
        audit_record(
            actor=actor,
            instance=created,
            action="create",
            after={"key": key, "label": label, "contact": contact, "qualifying": qualifying},
        )
    return created
