"""Engagement over HTTP: the interactions staff log with a partner (stored as events, on the partner's
timeline) and the partner's engagement metrics.

The interaction endpoints keep the paths and shapes they had in the partner API: an interaction's
``public_id`` is the UUID inside its event id, so ids handed out before the move keep working.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, cast

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.responses import codes_4xx
from pydantic import WithJsonSchema

from openprm.accounts.models import User
from openprm.activity import metrics
from openprm.activity.models import Event
from openprm.activity.selectors import engagement as engagement_selectors
from openprm.activity.selectors import timeline as selectors
from openprm.activity.services import interactions as services
from openprm.core.actors import Actor
from openprm.core.schemas import Long, Name
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Contact, Partner
from openprm.partners.schemas import ErrorOut, Pagination, When, _Input, _Patch

router = Router(tags=["engagement"])

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}
KindIn = Annotated[str, WithJsonSchema({"type": "string", "enum": [k for k, _ in services.KINDS]})]
DirectionIn = Annotated[str, WithJsonSchema({"type": "string", "enum": [d for d, _ in services.DIRECTIONS]})]


class InteractionCreate(_Input):
    kind: KindIn
    direction: DirectionIn = "outbound"
    occurred_at: When = Field(description="ISO 8601; without an offset it is read as UTC")
    subject: Name
    body: Long = ""
    contact: uuid.UUID | None = Field(None, description="Public id of one of this partner's contacts")


class InteractionPatch(_Patch):
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


def _actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    return actor


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
    actor = _actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.interaction_list(actor=actor, partner=partner)


@router.post(
    "/partners/{public_id}/interactions", response={201: InteractionOut, **ERRORS}, tags=["interactions"]
)
def interaction_create(
    request: HttpRequest, public_id: uuid.UUID, payload: InteractionCreate
) -> Status[Event]:
    actor = _actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump())
    return Status(201, services.interaction_create(actor=actor, partner=partner, data=data))


@router.get("/interactions/{public_id}", response={200: InteractionOut, **ERRORS}, tags=["interactions"])
def interaction_get(request: HttpRequest, public_id: uuid.UUID) -> Event:
    return selectors.interaction_get(actor=_actor(request), public_id=public_id)


@router.patch("/interactions/{public_id}", response={200: InteractionOut, **ERRORS}, tags=["interactions"])
def interaction_update(request: HttpRequest, public_id: uuid.UUID, payload: InteractionPatch) -> Event:
    actor = _actor(request)
    event = selectors.interaction_get(actor=actor, public_id=public_id)
    data = _contact_for(actor, payload.model_dump(exclude_unset=True))
    return services.interaction_update(actor=actor, event=event, data=data)


@router.delete("/interactions/{public_id}", response={204: None, **ERRORS}, tags=["interactions"])
def interaction_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _actor(request)
    services.interaction_delete(
        actor=actor, event=selectors.interaction_get(actor=actor, public_id=public_id)
    )
    return Status(204, None)


# --- engagement metrics ---------------------------------------------------------------------------------


class EngagementQuery(Schema):
    start: datetime.date | None = Field(None, description="First day (UTC) of the period; default: end − 89")
    end: datetime.date | None = Field(None, description="Last day (UTC) of the period; default: today")


class EngagementOut(Schema):
    partner: uuid.UUID
    start: datetime.date
    end: datetime.date
    last_contact: datetime.date | None
    contacts: int
    contact_frequency: Decimal = Field(description="Contact events per 30 days")
    reply_partner_seconds: float | None = Field(
        description="Median time the partner takes to answer us, within a conversation: a message's "
        "in_reply_to or thread_id, else the other side's next message within 7 days unless 4 days of "
        "silence opened a new conversation"
    )
    reply_vendor_seconds: float | None = Field(description="Median time we take to answer the partner")
    logins: int
    downloads: int
    trainings_started: int
    trainings_completed: int
    training_completion_rate: Decimal | None
    active_certifications: int
    tickets_opened: int
    tickets_resolved: int
    ticket_resolution_seconds: float | None
    meetings: int
    deliverables_due: int
    deliverables_approved: int
    campaign_completion_rate: Decimal | None
    deliverables_on_time: int
    deliverables_late: int
    on_time_delivery_rate: Decimal | None
    clicks: int
    conversions: int
    conversion_rate: Decimal | None
    reach: Decimal
    impressions: Decimal
    engagements: Decimal
    engagement_rate: Decimal | None
    followers_start: Decimal | None
    followers_end: Decimal | None
    audience_growth: Decimal | None
    weekly_activity: list[int] = Field(description="Events per week, oldest first (26 weeks to the end)")


@router.get("/partners/{public_id}/engagement", response={200: EngagementOut, **ERRORS}, tags=["engagement"])
def partner_engagement(
    request: HttpRequest, public_id: uuid.UUID, query: Query[EngagementQuery]
) -> dict[str, Any]:
    """A partner's engagement in a period, from the daily rollups."""
    actor = _actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    end = query.end or timezone.now().astimezone(datetime.UTC).date()
    start = query.start or max(end, datetime.date(1900, 4, 1)) - datetime.timedelta(days=89)
    for key, day in (("start", start), ("end", end)):
        if not datetime.date(1900, 1, 1) <= day <= datetime.date(9000, 1, 1):
            raise ValidationError({key: "Give a day between 1900 and 9000."})
    if start > end:
        raise ValidationError({"start": "The period must start on or before its end."})
    if (end - start).days > 3660:
        raise ValidationError({"start": "A period is at most ten years long."})
    found = engagement_selectors.partner_engagement(
        actor=actor, partner=partner, period=metrics.Period(start, end)
    )
    values = {k: v for k, v in vars(found.metrics).items() if k != "period"}
    return {
        "partner": partner.public_id,
        "start": start,
        "end": end,
        **values,
        "weekly_activity": found.weekly,
    }


class ActiveShareOut(Schema):
    program: uuid.UUID
    as_of: datetime.date
    window_days: int = Field(description="The program's active window (Program.active_window_days)")
    active: int = Field(description="Enrolled partners with a qualifying event within the window")
    total: int = Field(description="Enrolled partners (those the caller may see)")
    share: Decimal | None = Field(description="active / total (null without partners)")


class ActiveShareQuery(Schema):
    as_of: datetime.date | None = Field(None, description="Default: today (UTC, as the daily rollups)")
    window_days: int | None = Field(None, ge=1, le=365, description="Default: the program's active window")


@router.get(
    "/programs/{public_id}/active-partners", response={200: ActiveShareOut, **ERRORS}, tags=["engagement"]
)
def program_active_partners(
    request: HttpRequest, public_id: uuid.UUID, filters: Query[ActiveShareQuery]
) -> ActiveShareOut:
    """Staff: the program's active-partner share, from the daily rollups."""
    from django.http import Http404

    from openprm.partners.models import Program

    actor = _actor(request)
    if actor.is_partner_user:
        raise Http404
    program = Program.objects.filter(public_id=public_id).first()
    if program is None:
        raise Http404
    found = engagement_selectors.active_partner_share(
        actor=actor,
        program=program,
        as_of=filters.as_of or timezone.now().astimezone(datetime.UTC).date(),
        window_days=filters.window_days,
    )
    return ActiveShareOut(
        program=program.public_id,
        as_of=found.as_of,
        window_days=found.window_days,
        active=found.active,
        total=found.total,
        share=found.share,
    )
