"""Notifications over HTTP: every user's own notifications (list, mark read, mark all read) and
preferences; for admins the webhook endpoints and the delivery log (every attempt of every delivery)."""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.accounts.models import Notification
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.notifications import channels, selectors, services
from openprm.notifications.models import Delivery, WebhookEndpoint
from openprm.notifications.schemas import (
    DeliveryOut,
    DeliveryQuery,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    NotificationOut,
    PreferenceIn,
    PreferenceOut,
    ReadAllOut,
    SecretOut,
    UnreadOut,
)

router = Router(tags=["notifications"])


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS})
@paginate(Pagination)
def notification_list(request: HttpRequest, unread: bool = False) -> QuerySet[Notification]:
    """Your own notifications, newest first (`unread=true`: only the unread ones)."""
    return selectors.notification_list(actor=request_actor(request), unread_only=unread)


@router.get("/notifications/unread-count", response={200: UnreadOut, **ERRORS})
def notification_unread_count(request: HttpRequest) -> UnreadOut:
    return UnreadOut(unread=selectors.unread_count(actor=request_actor(request)))


@router.post("/notifications/read-all", response={200: ReadAllOut, **ERRORS})
def notification_read_all(request: HttpRequest) -> ReadAllOut:
    """Mark every one of your notifications read."""
    return ReadAllOut(marked=services.notification_read_all(actor=request_actor(request)))


@router.post("/notifications/{notification_id}/read", response={200: NotificationOut, **ERRORS})
def notification_read(request: HttpRequest, notification_id: uuid.UUID) -> Notification:
    """Mark one of your notifications read (another user's answers 404, like a missing one)."""
    return services.notification_read(actor=request_actor(request), public_id=notification_id)


@router.get("/notifications/preferences", response={200: PreferenceOut, **ERRORS})
def preference_get(request: HttpRequest) -> Any:
    """Your preferences: which severities reach you by e-mail, e-mail on or off, immediately or in a daily
    digest. Every notification is always listed in-app."""
    return selectors.preference_get(actor=request_actor(request))


@router.put("/notifications/preferences", response={200: PreferenceOut, **ERRORS})
def preference_put(request: HttpRequest, payload: PreferenceIn) -> Any:
    return services.preference_update(
        actor=request_actor(request),
        severities=list(payload.severities),
        email=payload.email,
        mode=payload.mode,
    )


# --- admins: webhook endpoints and the delivery log ---------------------------------------------------------


@router.get("/webhook-endpoints", response={200: list[EndpointOut], **ERRORS})
@paginate(Pagination)
def endpoint_list(request: HttpRequest) -> QuerySet[WebhookEndpoint]:
    """Admins: the Slack-compatible and generic webhook endpoints notifications are posted to."""
    return selectors.endpoint_list(actor=request_actor(request))


@router.post("/webhook-endpoints", response={201: EndpointCreatedOut, **ERRORS})
def endpoint_create(request: HttpRequest, payload: EndpointIn) -> Status[Any]:
    """Admins: add an endpoint. The answer holds its signing `secret`, shown only this once. The URL must
    be http(s) and not resolve to a private or loopback address (unless PRM_WEBHOOK_ALLOW_PRIVATE)."""
    endpoint, _secret = services.endpoint_create(actor=request_actor(request), values=payload.model_dump())
    return Status(201, endpoint)  # EndpointCreatedOut: with the secret, this once


@router.get("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def endpoint_get(request: HttpRequest, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return selectors.endpoint_get(actor=request_actor(request), public_id=endpoint_id)


@router.patch("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def endpoint_update(request: HttpRequest, endpoint_id: uuid.UUID, payload: EndpointPatch) -> WebhookEndpoint:
    actor = request_actor(request)
    endpoint = selectors.endpoint_get(actor=actor, public_id=endpoint_id)
    return services.endpoint_update(
        actor=actor, endpoint=endpoint, values=payload.model_dump(exclude_unset=True)
    )


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response={200: SecretOut, **ERRORS})
def endpoint_rotate_secret(request: HttpRequest, endpoint_id: uuid.UUID) -> SecretOut:
    """Admins: replace the signing secret (the old one stops at once); the new one is shown only here."""
    actor = request_actor(request)
    endpoint = selectors.endpoint_get(actor=actor, public_id=endpoint_id)
    return SecretOut(secret=services.endpoint_rotate_secret(actor=actor, endpoint=endpoint))


@router.delete("/webhook-endpoints/{endpoint_id}", response={204: None, **ERRORS})
def endpoint_delete(request: HttpRequest, endpoint_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.endpoint_delete(actor=actor, endpoint=selectors.endpoint_get(actor=actor, public_id=endpoint_id))
    return Status(204, None)


def delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.public_id,
        channel=delivery.channel,  # type: ignore[arg-type]
        target=delivery.target,
        endpoint=delivery.endpoint.public_id if delivery.endpoint else None,
        group_key=delivery.group_key,
        digest=delivery.digest,
        notifications=len(delivery.items),
        summary=channels.summary(delivery.items, digest=delivery.digest) if delivery.items else "",
        status=delivery.status,  # type: ignore[arg-type]
        created_at=delivery.created_at,
        due_at=delivery.due_at,
        delivered_at=delivery.delivered_at,
        attempts=list(delivery.attempt_log.all()),  # type: ignore[arg-type]
    )


@router.get("/notification-deliveries", response={200: list[DeliveryOut], **ERRORS})
@paginate(Pagination)
def delivery_list(request: HttpRequest, filters: Query[DeliveryQuery]) -> list[DeliveryOut]:
    """Admins: the delivery log — each e-mail and webhook message, newest first, with every attempt
    (status code or error, duration)."""
    actor = request_actor(request)
    endpoint = selectors.endpoint_get(actor=actor, public_id=filters.endpoint) if filters.endpoint else None
    found = selectors.delivery_list(
        actor=actor, channel=filters.channel or "", status=filters.status or "", endpoint=endpoint
    )
    return _LazyOut(found)  # type: ignore[return-value]


class _LazyOut:
    """The paginator slices the queryset first; only the page's deliveries are turned into schemas."""

    def __init__(self, queryset: QuerySet[Delivery]) -> None:
        self.queryset = queryset

    def __len__(self) -> int:
        return int(self.queryset.count())

    def __getitem__(self, index: slice) -> list[DeliveryOut]:
        return [delivery_out(d) for d in self.queryset[index]]
