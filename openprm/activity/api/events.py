"""``POST /api/v1/events``: batch ingestion (JSON array or NDJSON, up to 10,000 events per request).

The body is read as is (not through a schema): every item is checked by the ingestion service so that a
bad item gets an error with its index while the good ones are stored (or none with ``?atomic=true``).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from openprm.activity.rollups import workspace_kinds
from openprm.activity.schemas.events import (
    INGEST_BODY,
    EventTypeIn,
    EventTypeOut,
    IngestOut,
    IngestQuery,
)
from openprm.activity.services.events import (
    MAX_BATCH,
    EventError,
    IngestResult,
    event_type_create,
    events_ingest,
)
from openprm.core.api import ERRORS, request_actor
from openprm.core.db import retry_on_dropped_connection
from openprm.core.schemas import ErrorOut

router = Router(tags=["events"])


def _items(request: HttpRequest) -> tuple[list[Any], list[EventError]]:
    """The body's events; NDJSON lines that are not JSON become per-index errors.

    Nesting is counted before anything is read, as for every other endpoint (``config.api``'s parser, in
    linear time): a JSON array nested more than 100 levels deep is the API's usual 422 ``too_deep`` naming
    the event and field (``[3].properties.a``); an NDJSON line is its own document, so a line nested too
    deep is that index's ``too_deep`` error (``properties.a``) and the other lines are stored."""
    # config.api mounts this router: imported here, when the API is whole (not while it is being built)
    from config.api import TOO_DEEP, BodyTooDeep, check_body_depth

    content_type = request.content_type or ""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "The request body is not UTF-8.") from None
    if "ndjson" in content_type or "jsonl" in content_type:
        items: list[Any] = []
        errors: list[EventError] = []
        # lines end at "\n" (and a "\r" before it) only: a string may hold U+2028, U+2029 or U+0085 raw,
        # where str.splitlines() would cut the event in two
        for line in text.split("\n"):
            line = line.removesuffix("\r")
            if not line.strip(" \t\r"):  # JSON's whitespace only: anything else is an event to read
                continue
            try:
                check_body_depth(line.encode("utf-8"))
            except BodyTooDeep as exc:  # the field inside the event; "" when the line itself nests
                field = exc.field if exc.path else ""
                message = f"{field}: {TOO_DEEP}" if field else f"The event is {TOO_DEEP}."
                errors.append(EventError(len(items), field, "too_deep", message))
                items.append(None)
                continue
            except ValueError:
                pass  # brackets that do not pair: the reader below says where
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                errors.append(EventError(len(items), "", "invalid_json", f"Not JSON: {exc}"))
                items.append(None)
            except RecursionError:  # unpaired brackets opened deeper than the reader's stack
                errors.append(
                    EventError(len(items), "", "invalid_json", "Not JSON: its brackets do not pair up.")
                )
                items.append(None)
        return items, errors
    try:
        check_body_depth(request.body)
        parsed = json.loads(text)
    except BodyTooDeep as exc:
        if not exc.path and text.lstrip().startswith("["):
            exc.path = [0]  # the first event is a list of lists: its index, not the whole body
        raise HttpError(400, f"Cannot parse request body: {exc.field}: {TOO_DEEP}") from exc  # a 422
    except ValueError:
        raise HttpError(400, "Cannot parse request body: send a JSON array of events (or NDJSON).") from None
    if not isinstance(parsed, list):
        raise HttpError(400, "Cannot parse request body: expected a JSON array of events.")
    return parsed, []


@router.post(
    "/events",
    # 422: the batch refused (atomic=true), or a bad query parameter (the API's usual error)
    response={200: IngestOut, 422: IngestOut | ErrorOut, 413: ErrorOut, **ERRORS},
    openapi_extra=INGEST_BODY,
)
def events_post(request: HttpRequest, filters: Query[IngestQuery]) -> Status[IngestResult]:
    """Send events in bulk: a JSON array or NDJSON (`Content-Type: application/x-ndjson`), at most 10,000.

    Each bad event gets an error with its index and reason; the good ones are stored (or, with
    `atomic=true`, nothing is stored when any is bad: 422). An event whose `event_id` is already stored
    is counted as a duplicate and not stored again, so a failed request can simply be re-sent.
    """
    actor = request_actor(request)
    items, parse_errors = _items(request)
    if len(items) > MAX_BATCH:
        raise HttpError(413, f"At most {MAX_BATCH} events per request; this one has {len(items)}.")
    unparsed = {e.index for e in parse_errors}
    valid_items = [None if i in unparsed else item for i, item in enumerate(items)]
    if parse_errors and filters.atomic:
        result = IngestResult(
            received=len(items), rejected=len(parse_errors), errors=parse_errors, refused=True
        )
        return Status(422, result)
    # A dropped database connection is retried once; re-sent event ids are skipped, so never stored twice.
    result = retry_on_dropped_connection(
        lambda: events_ingest(actor=actor, items=valid_items, atomic=filters.atomic)
    )
    if parse_errors:  # their items were None ("must be an object"): report the parse error instead
        result.errors = sorted(
            [*parse_errors, *(e for e in result.errors if e.index not in unparsed)], key=lambda e: e.index
        )
    return Status(422 if result.refused else 200, result)


@router.get("/event-types", response={200: list[EventTypeOut], **ERRORS})
def event_types(request: HttpRequest) -> list[EventTypeOut]:
    """The event types this workspace accepts: the built-in catalog and its own custom types."""
    actor = request_actor(request)
    kinds = workspace_kinds(actor.workspace_id)
    return [
        EventTypeOut(
            key=k.key,
            label=k.label,
            category=k.category,
            contact=k.contact,
            qualifying=k.qualifying,
            builtin=k.builtin,
        )
        for k in sorted(kinds.values(), key=lambda k: (not k.builtin, k.key))
    ]


@router.post("/event-types", response={201: EventTypeOut, **ERRORS})
def event_type_add(request: HttpRequest, payload: EventTypeIn) -> Status[EventTypeOut]:
    """Admins: add a custom event type (its key is then accepted by POST /events and the CSV import)."""
    actor = request_actor(request)
    created = event_type_create(actor=actor, **payload.model_dump())
    return Status(
        201,
        EventTypeOut(
            key=created.key,
            label=created.label,
            category=created.category,
            contact=created.contact,
            qualifying=created.qualifying,
            builtin=False,
        ),
    )
