"""Schemas of the events API: the ingestion answer and the event types.

``POST /events`` reads its body as is (each item is checked by the ingestion service, so a bad item gets
an error with its index), so its request body is documented by hand: ``INGEST_BODY``."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from openprm.activity.services.events import MAX_BATCH

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event_id", "type", "occurred_at"],
    "properties": {
        "event_id": {
            "type": "string",
            "maxLength": 100,
            "description": "Unique per workspace; re-sent ids are ignored",
        },
        "partner": {"type": "string", "format": "uuid", "description": "The partner's public id"},
        "partner_external_id": {"type": "string", "description": "Or the partner's external id"},
        "type": {"type": "string", "description": "A built-in or custom event type key (GET /event-types)"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "direction": {"type": "string", "enum": ["", "inbound", "outbound"]},
        "value": {"type": "number"},
        "properties": {"type": "object", "description": "At most 16 KB of JSON"},
        "actor_email": {"type": "string", "description": "A contact of the partner or a workspace user"},
        "source": {"type": "string", "enum": ["api", "integration", "csv"]},
    },
    "additionalProperties": False,
}
"""One event of a ``POST /events`` batch, as the OpenAPI document shows it."""

INGEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "maxItems": MAX_BATCH, "items": EVENT_SCHEMA}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One event object per line"}
            },
        },
    }
}
"""The ``openapi_extra`` of ``POST /events``: a JSON array of events, or NDJSON."""


class EventErrorOut(Schema):
    index: int
    field: str
    code: str
    message: str


class IngestOut(Schema):
    received: int
    stored: int = Field(description="New events stored by this request")
    duplicates: int = Field(description="Events whose event_id was already stored (or repeated in the batch)")
    rejected: int
    refused: bool = Field(description="atomic=true and some event was bad: nothing was stored")
    errors: list[EventErrorOut]


class IngestQuery(Schema):
    atomic: bool = Field(False, description="All or nothing: store nothing if any event is bad")


class EventTypeOut(Schema):
    key: str
    label: str
    category: str
    contact: bool = Field(description="Communication with the partner (last contact, reply times)")
    qualifying: bool = Field(description="Counts towards the program's active-partner share")
    builtin: bool


class EventTypeIn(Schema):
    key: str = Field(max_length=60, description="Lower-case letters, digits and _, e.g. webinar_attended")
    label: str = Field(max_length=120)
    contact: bool = False
    qualifying: bool = True
