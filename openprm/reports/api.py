"""Reports over HTTP (staff only; admins and partner managers write): definitions CRUD, runs with their
delivery log, "send now" (idempotent per key) and the preview (HTML or PDF). Partner users get 404."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router, Status

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.partners.selectors import partner_get
from openprm.reports import render, selectors, services
from openprm.reports.schemas import (
    DefinitionCreate,
    DefinitionOut,
    DefinitionPage,
    DefinitionPatch,
    PageQuery,
    PreviewQuery,
    RunPage,
    SendNowIn,
    SendNowOut,
    definition_out,
    run_out,
)

router = Router(tags=["reports"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    return actor


@router.get("/reports", response={200: DefinitionPage, **ERRORS}, operation_id="openprm_reports_list")
def definition_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Report definitions, enabled first (`limit`, `offset`)."""
    queryset = selectors.definition_list(actor=_staff(request))
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [definition_out(d) for d in rows], "count": queryset.count()}


@router.post("/reports", response={201: DefinitionOut, **ERRORS}, operation_id="openprm_reports_post")
def definition_post(request: HttpRequest, payload: DefinitionCreate) -> Status[dict[str, Any]]:
    """Create a report; every offending field is named (`field`, `errors`)."""
    definition = services.definition_create(actor=_staff(request), data=payload.model_dump())
    return Status(201, definition_out(definition))


@router.get(
    "/reports/{uuid:public_id}", response={200: DefinitionOut, **ERRORS}, operation_id="openprm_reports_get"
)
def definition_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    return definition_out(selectors.definition_get(actor=_staff(request), public_id=public_id))


@router.patch(
    "/reports/{uuid:public_id}", response={200: DefinitionOut, **ERRORS}, operation_id="openprm_reports_patch"
)
def definition_patch(request: HttpRequest, public_id: uuid.UUID, payload: DefinitionPatch) -> dict[str, Any]:
    actor = _staff(request)
    definition = selectors.definition_get(actor=actor, public_id=public_id)
    data = payload.model_dump(exclude_unset=True)
    return definition_out(services.definition_update(actor=actor, definition=definition, data=data))


@router.delete(
    "/reports/{uuid:public_id}", response={204: None, **ERRORS}, operation_id="openprm_reports_delete"
)
def definition_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _staff(request)
    services.definition_delete(
        actor=actor, definition=selectors.definition_get(actor=actor, public_id=public_id)
    )
    return Status(204, None)


@router.get(
    "/reports/{uuid:public_id}/runs", response={200: RunPage, **ERRORS}, operation_id="openprm_reports_runs"
)
def run_list(request: HttpRequest, public_id: uuid.UUID, page: Query[PageQuery]) -> dict[str, Any]:
    """The report's runs, newest first, each with its deliveries (status, error, sizes, attempts)."""
    actor = _staff(request)
    queryset = selectors.run_list(
        actor=actor, definition=selectors.definition_get(actor=actor, public_id=public_id)
    )
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [run_out(r) for r in rows], "count": queryset.count()}


@router.post(
    "/reports/{uuid:public_id}/send",
    response={200: SendNowOut, 201: SendNowOut, **ERRORS},
    operation_id="openprm_reports_send_now",
)
def send_now(request: HttpRequest, public_id: uuid.UUID, payload: SendNowIn) -> Status[dict[str, Any]]:
    """Send the report now. With the same `key` (or `Idempotency-Key` header) a retry sends nothing again
    and answers 200 with the first run; a new run answers 201."""
    actor = _staff(request)
    definition = selectors.definition_get(actor=actor, public_id=public_id)
    key = payload.key or request.headers.get("Idempotency-Key", "")
    run, created = services.send_now(actor=actor, definition=definition, key=key)
    run = selectors.run_list(actor=actor).get(pk=run.pk)
    return Status(201 if created else 200, {"created": created, "run": run_out(run)})


@router.get(
    "/reports/{uuid:public_id}/preview",
    response={200: None, **ERRORS},
    operation_id="openprm_reports_preview",
    openapi_extra={"responses": {"200": {"description": "text/html, or application/pdf with format=pdf"}}},
)
def preview(request: HttpRequest, public_id: uuid.UUID, query: Query[PreviewQuery]) -> HttpResponse:
    """The document a run would send now, as HTML or PDF: `partner` (id) picks the partner of a QBR or a
    partner's copy; `as_partner` builds it as that partner's contacts get it."""
    actor = _staff(request)
    definition = selectors.definition_get(actor=actor, public_id=public_id)
    partner = partner_get(actor=actor, public_id=query.partner) if query.partner else None
    document = selectors.preview(
        actor=actor, definition=definition, partner=partner, as_partner=query.as_partner
    )
    html = render.to_html(document, footer="Preview: the figures as of now.")
    if query.format == "pdf":
        return HttpResponse(render.to_pdf(html), content_type=render.PDF_TYPE)
    return HttpResponse(html, content_type="text/html; charset=utf-8")
