"""The interactions staff log with a partner, over HTTP (stored as events, on the partner's timeline).

Thin endpoints: parse (``schemas.interactions``) → one selector/service call → render. The paths and
shapes are those they had in the partner API: an interaction's ``public_id`` is the UUID inside its event
id, so ids handed out before the move keep working. Operation ids are pinned (``operation_id``): they are
the API's public names, not the module path (this module was ``api/engagement.py``).
"""

# No ``from __future__ import annotations``: Ninja reads the parameter annotations at import time.

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from openprm.activity.models import Event
from openprm.activity.schemas.interactions import InteractionCreate, InteractionOut, InteractionPatch
from openprm.activity.selectors import timeline as selectors
from openprm.activity.services import interactions as services
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Contact

router = Router(tags=["interactions"])


def _contact_for(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Swap the contact's public id for the Contact (a 422, not a 404, when unknown)."""
    if data.get("contact") is not None:
        try:
            data["contact"] = partner_selectors.contact_get(actor=actor, public_id=data["contact"])
        except Contact.DoesNotExist:
            raise ValidationError({"contact": "No such contact."}) from None
    return data


@router.get(
    "/partners/{public_id}/interactions",
    response={200: list[InteractionOut], **ERRORS},
    operation_id="openprm_activity_api_engagement_interaction_list",
)
@paginate(Pagination)
def interaction_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Event]:
    actor = request_actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.interaction_list(actor=actor, partner=partner)


@router.post(
    "/partners/{public_id}/interactions",
    response={201: InteractionOut, **ERRORS},
    operation_id="openprm_activity_api_engagement_interaction_create",
)
def interaction_create(
    request: HttpRequest, public_id: uuid.UUID, payload: InteractionCreate
) -> Status[Event]:
    actor = request_actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump())
    return Status(201, services.interaction_create(actor=actor, partner=partner, data=data))


@router.get(
    "/interactions/{public_id}",
    response={200: InteractionOut, **ERRORS},
    operation_id="openprm_activity_api_engagement_interaction_get",
)
def interaction_get(request: HttpRequest, public_id: uuid.UUID) -> Event:
    return selectors.interaction_get(actor=request_actor(request), public_id=public_id)


@router.patch(
    "/interactions/{public_id}",
    response={200: InteractionOut, **ERRORS},
    operation_id="openprm_activity_api_engagement_interaction_update",
)
def interaction_update(request: HttpRequest, public_id: uuid.UUID, payload: InteractionPatch) -> Event:
    actor = request_actor(request)
    event = selectors.interaction_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump(exclude_unset=True))
    return services.interaction_update(actor=actor, event=event, data=data)


@router.delete(
    "/interactions/{public_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_activity_api_engagement_interaction_delete",
)
def interaction_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    event = selectors.interaction_get(actor=actor, public_id=public_id)
    services.interaction_delete(actor=actor, event=event)
    return Status(204, None)
