"""Per-endpoint input/output schemas of the interactions API (notes, calls, meetings, e-mails logged by
staff). An interaction is stored as an event, so the output schema reads its fields out of the event:
the kind and direction from its type, the subject and body from its properties, its public id from the
UUID inside its event id."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, ClassVar, cast

from ninja import Field, Schema

from openprm.accounts.models import User
from openprm.activity.models import Event
from openprm.activity.services import interactions as services
from openprm.core.schemas import Input, Long, Name, Patch, When, enum_schema
from openprm.partners.models import Contact, Partner

# Plain strings documented as enums: the service checks the value (a 422 naming the field either way).
KindIn = Annotated[str, enum_schema([k for k, _ in services.KINDS])]
DirectionIn = Annotated[str, enum_schema([d for d, _ in services.DIRECTIONS])]


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
