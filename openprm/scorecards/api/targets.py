"""Targets over HTTP: staff list, set (one or in bulk), change and remove them; partner users list and
read their own partner's, tiers' and programs' targets (never notes, never another partner's: 404) and
partner admins accept their partner's targets."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from openprm.accounts.selectors import staff_user_list
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.partners.selectors import partner_get, program_get, tier_get
from openprm.scorecards import selectors, services
from openprm.scorecards.schemas.targets import (
    BulkOut,
    HistoryOut,
    TargetBulk,
    TargetCreate,
    TargetOut,
    TargetPage,
    TargetPatch,
    TargetQuery,
    history_out,
    target_out,
)

router = Router(tags=["targets"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    return actor


def _owner(actor: Actor, owner_id: uuid.UUID | None) -> Any:
    if owner_id is None:
        return None
    owner = staff_user_list(actor=actor).filter(public_id=owner_id).first()
    if owner is None:
        raise ValidationError({"owner_id": "Not a staff user of this workspace."})
    return owner


def _scope(actor: Actor, payload: TargetCreate) -> dict[str, Any]:
    """The partner, tier or program the ids name (422 naming the field when one is unknown)."""
    out: dict[str, Any] = {}
    lookups = (
        ("partner_id", "partner", partner_get),
        ("tier_id", "tier", tier_get),
        ("program_id", "program", program_get),
    )
    for field, key, get in lookups:
        value = getattr(payload, field)
        if value is None:
            continue
        try:
            out[key] = get(actor=actor, public_id=value)
        except ObjectDoesNotExist:
            raise ValidationError({field: f"No {key} with this id."}) from None
    return out


def _one(actor: Actor, target: Any) -> dict[str, Any]:
    return target_out(selectors.target_progress(actor=actor, targets=[target])[0])


@router.get(
    "/targets", response={200: TargetPage, **ERRORS}, operation_id="openprm_scorecards_api_target_list"
)
def target_list(request: HttpRequest, filters: Query[TargetQuery]) -> dict[str, Any]:
    """Targets you may see, newest period first, each with attainment and pace (`limit`, `offset`)."""
    actor = request_actor(request)
    queryset = selectors.target_list(actor=actor, filters=filters.to_filters())
    page = list(queryset[filters.offset : filters.offset + filters.limit])
    progress = selectors.target_progress(actor=actor, targets=page)
    return {"items": [target_out(p) for p in progress], "count": queryset.count()}


@router.post(
    "/targets", response={201: TargetOut, **ERRORS}, operation_id="openprm_scorecards_api_target_post"
)
def target_post(request: HttpRequest, payload: TargetCreate) -> Status[dict[str, Any]]:
    """Set a target for exactly one of a partner, a tier or a program (the baseline is captured)."""
    actor = _staff(request)
    data: dict[str, Any] = {
        "metric": payload.metric,
        "period": payload.period,
        "value": payload.value,
        "owner": _owner(actor, payload.owner_id),
        "notes": payload.notes,
        **_scope(actor, payload),
    }
    target = services.target_create(actor=actor, data=data)  # type: ignore[arg-type]
    return Status(201, _one(actor, target))


@router.post(
    "/targets/bulk", response={200: BulkOut, **ERRORS}, operation_id="openprm_scorecards_api_target_bulk"
)
def target_bulk(request: HttpRequest, payload: TargetBulk) -> dict[str, Any]:
    """Set many targets (rows with the canonical CSV columns): all or none. Errors name the item
    (`items.3.value`); re-sending the same rows changes nothing."""
    actor = _staff(request)
    rows = [{**item.model_dump(), "line": str(index)} for index, item in enumerate(payload.items)]
    result = services.targets_bulk_set(actor=actor, rows=rows, dry_run=payload.dry_run)
    if result.errors:
        raise ValidationError({f"items.{e.line}.{e.field}": e.message for e in result.errors})
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "dry_run": payload.dry_run,
    }


@router.get(
    "/targets/{target_id}",
    response={200: TargetOut, **ERRORS},
    operation_id="openprm_scorecards_api_target_get",
)
def target_get(request: HttpRequest, target_id: uuid.UUID) -> dict[str, Any]:
    actor = request_actor(request)
    return _one(actor, selectors.target_get(actor=actor, public_id=target_id))


@router.patch(
    "/targets/{target_id}",
    response={200: TargetOut, **ERRORS},
    operation_id="openprm_scorecards_api_target_patch",
)
def target_patch(request: HttpRequest, target_id: uuid.UUID, payload: TargetPatch) -> dict[str, Any]:
    """Change the value, owner or notes (a changed value withdraws an acceptance)."""
    actor = _staff(request)
    target = selectors.target_get(actor=actor, public_id=target_id)
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "owner_id" in data:
        data["owner"] = _owner(actor, data.pop("owner_id"))
    return _one(actor, services.target_update(actor=actor, target=target, data=data))


@router.delete(
    "/targets/{target_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_scorecards_api_target_delete",
)
def target_delete(request: HttpRequest, target_id: uuid.UUID) -> Status[None]:
    actor = _staff(request)
    services.target_delete(actor=actor, target=selectors.target_get(actor=actor, public_id=target_id))
    return Status(204, None)


@router.post(
    "/targets/{target_id}/accept",
    response={200: TargetOut, **ERRORS},
    operation_id="openprm_scorecards_api_target_accept",
)
def target_accept(request: HttpRequest, target_id: uuid.UUID) -> dict[str, Any]:
    """A partner admin agrees to their partner's target (who and when are recorded)."""
    actor = request_actor(request)
    target = selectors.target_get(actor=actor, public_id=target_id)
    return _one(actor, services.target_accept(actor=actor, target=target))


@router.get(
    "/targets/{target_id}/history",
    response={200: list[HistoryOut], **ERRORS},
    operation_id="openprm_scorecards_api_target_history",
)
def target_history(request: HttpRequest, target_id: uuid.UUID) -> list[dict[str, Any]]:
    """The target's audit trail, newest first (staff)."""
    actor = _staff(request)
    target = selectors.target_get(actor=actor, public_id=target_id)
    return [history_out(item) for item in selectors.target_history(actor=actor, target=target)]
