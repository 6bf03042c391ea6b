"""Programs and their tiers over HTTP: staff read them, admins create and change them (audited).

Partner users get 404 here (programs are set-up data of the vendor); read-only staff get 403 on writes.
Operation ids are pinned to those the endpoints had in the flat ``partners/api_programs.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors, services
from openprm.partners.models import Program, Tier
from openprm.partners.schemas import (
    ProgramCreate,
    ProgramOut,
    ProgramPatch,
    TierCreate,
    TierOut,
    TierPatch,
)

router = Router(tags=["programs"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    return actor


def _program(actor: Actor, public_id: uuid.UUID) -> Program:
    return selectors.program_get(actor=actor, public_id=public_id)


@router.get(
    "/programs",
    response={200: list[ProgramOut], **ERRORS},
    operation_id="openprm_partners_api_programs_program_list",
)
@paginate(Pagination)
def program_list(request: HttpRequest) -> QuerySet[Program]:
    return selectors.program_list(actor=_staff(request))


@router.post(
    "/programs",
    response={201: ProgramOut, **ERRORS},
    operation_id="openprm_partners_api_programs_program_create",
)
def program_create(request: HttpRequest, payload: ProgramCreate) -> Status[Program]:
    actor = _staff(request)
    program = services.program_create(actor=actor, data=payload.to_input())
    return Status(201, _program(actor, program.public_id))


@router.get(
    "/programs/{public_id}",
    response={200: ProgramOut, **ERRORS},
    operation_id="openprm_partners_api_programs_program_get",
)
def program_get(request: HttpRequest, public_id: uuid.UUID) -> Program:
    return _program(_staff(request), public_id)


@router.patch(
    "/programs/{public_id}",
    response={200: ProgramOut, **ERRORS},
    operation_id="openprm_partners_api_programs_program_update",
)
def program_update(request: HttpRequest, public_id: uuid.UUID, payload: ProgramPatch) -> Program:
    actor = _staff(request)
    services.program_update(actor=actor, program=_program(actor, public_id), data=payload.to_input())
    return _program(actor, public_id)


@router.post(
    "/programs/{public_id}/tiers",
    response={201: TierOut, **ERRORS},
    operation_id="openprm_partners_api_programs_tier_create",
)
def tier_create(request: HttpRequest, public_id: uuid.UUID, payload: TierCreate) -> Status[Tier]:
    """Add a tier above the program's highest one."""
    actor = _staff(request)
    program = _program(actor, public_id)
    return Status(201, services.tier_create(actor=actor, program=program, name=payload.name))


@router.patch(
    "/tiers/{tier_id}",
    response={200: TierOut, **ERRORS},
    operation_id="openprm_partners_api_programs_tier_update",
)
def tier_update(request: HttpRequest, tier_id: uuid.UUID, payload: TierPatch) -> Tier:
    """Rename a tier and/or move it one rank up or down (swapping with its neighbour)."""
    actor = _staff(request)
    tier = selectors.tier_get(actor=actor, public_id=tier_id)
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "name" in data:
        tier = services.tier_rename(actor=actor, tier=tier, name=data["name"])
    if "move" in data:
        tier = services.tier_move(actor=actor, tier=tier, direction=data["move"])
    return tier


@router.delete(
    "/tiers/{tier_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_partners_api_programs_tier_delete",
)
def tier_delete(request: HttpRequest, tier_id: uuid.UUID) -> Status[None]:
    """Remove a tier no partner holds (the tiers above move down a rank)."""
    actor = _staff(request)
    services.tier_delete(actor=actor, tier=selectors.tier_get(actor=actor, public_id=tier_id))
    return Status(204, None)
