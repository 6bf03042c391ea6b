"""The interactions staff log with a partner, over HTTP (stored as events, on the partner's timeline).

The endpoints keep the paths and shapes they had in the partner API: an interaction's ``public_id`` is the
UUID inside its event id, so ids handed out before the move keep working. The partner's engagement
metrics are served by ``metrics.api``.
"""

import datetime
import uuid
from typing import Annotated, Any, ClassVar, cast

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import WithJsonSchema

from openprm.accounts.models import User
from openprm.activity.models import Event
from openprm.activity.selectors import timeline as selectors
from openprm.activity.services import interactions as services
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Input, Long, Name, Pagination, Patch
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Contact, Partner
from openprm.partners.schemas import When

router = Router(tags=["engagement"])

KindIn = Annotated[str, WithJsonSchema({"type": "string", "enum": [k for k, _ in services.KINDS]})]
DirectionIn = Annotated[str, WithJsonSchema({"type": "string", "enum": [d for d, _ in services.DIRECTIONS]})]


class InteractionCreate(Input):
    kind: KindIn
    direction: DirectionIn = "outbound"
    occurred_at: When = Field(description="ISO 8601; without an offset it is read as UTC")
    subject: Name
    body: Long = ""
    contact: uuid.UUID | None = Field(None, description="Public id of one of this partner's contacts")


class InteractionPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"contact"})

    kind: KindIn | None = None
    direction: DirectionIn | None = None
    occurred_at: When | None = None
    subject: Name | None = None
    body: Long | None = None
    contact: uuid.UUID | None = None


class InteractionOut(Schema):
    public_id: uuid.UUID
    event_id: str = Field(description="The interaction's id on the partner's event timeline")
    type: str = Field(description="Its event type: note, call, meeting, email_sent or email_received")
    partner: uuid.UUID
    kind: str
    direction: str
    occurred_at: datetime.datetime
    subject: str
    body: str
    contact: uuid.UUID | None
    logged_by: str | None = Field(description="E-mail of the user who logged it")
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_public_id(obj: Event) -> uuid.UUID | None:
        return services.public_id_of(obj)

    @staticmethod
    def resolve_partner(obj: Event) -> uuid.UUID:
        return cast(Partner, obj.partner).public_id

    @staticmethod
    def resolve_kind(obj: Event) -> str:
        return services.kind_of(obj)

    @staticmethod
    def resolve_direction(obj: Event) -> str:
        return services.direction_of(obj)

    @staticmethod
    def resolve_subject(obj: Event) -> str:
        return str((obj.properties or {}).get("subject", ""))

    @staticmethod
    def resolve_body(obj: Event) -> str:
        return str((obj.properties or {}).get("body", ""))

    @staticmethod
    def resolve_contact(obj: Event) -> uuid.UUID | None:
        return cast(Contact, obj.actor_contact).public_id if obj.actor_contact_id else None

    @staticmethod
    def resolve_logged_by(obj: Event) -> str | None:
        return cast(User, obj.actor_user).email if obj.actor_user_id else None

    @staticmethod
    def resolve_created_at(obj: Event) -> datetime.datetime:
        return obj.received_at

    @staticmethod
    def resolve_updated_at(obj: Event) -> datetime.datetime:
        return obj.received_at


def _contact_for(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Swap the contact's public id for the Contact (a 422, not a 404, when unknown)."""
    if data.get("contact") is not None:
        try:
            data["contact"] = partner_selectors.contact_get(actor=actor, public_id=data["contact"])
        except Contact.DoesNotExist:
            raise ValidationError({"contact": "No such contact."}) from None
    return data


# --- interactions -------------------------------------------------------------------------------------


@router.get(
    "/partners/{public_id}/interactions",
    response={200: list[InteractionOut], **ERRORS},
    tags=["interactions"],
)
@paginate(Pagination)
def interaction_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Event]:
    actor = request_actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.interaction_list(actor=actor, partner=partner)


@router.post(
    "/partners/{public_id}/interactions", response={201: InteractionOut, **ERRORS}, tags=["interactions"]
)
def interaction_create(
    request: HttpRequest, public_id: uuid.UUID, payload: InteractionCreate
) -> Status[Event]:
    actor = request_actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump())
    return Status(201, services.interaction_create(actor=actor, partner=partner, data=data))


@router.get("/interactions/{public_id}", response={200: InteractionOut, **ERRORS}, tags=["interactions"])
def interaction_get(request: HttpRequest, public_id: uuid.UUID) -> Event:
    return selectors.interaction_get(actor=request_actor(request), public_id=public_id)


@router.patch("/interactions/{public_id}", response={200: InteractionOut, **ERRORS}, tags=["interactions"])
def interaction_update(request: HttpRequest, public_id: uuid.UUID, payload: InteractionPatch) -> Event:
    actor = request_actor(request)
    event = selectors.interaction_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump(exclude_unset=True))
    return services.interaction_update(actor=actor, event=event, data=data)


@router.delete("/interactions/{public_id}", response={204: None, **ERRORS}, tags=["interactions"])
def interaction_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.interaction_delete(
        actor=actor, event=selectors.interaction_get(actor=actor, public_id=public_id)
    )
    return Status(204, None)
