"""Input and output schemas of the notifications API."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import Input, NoNul, Patch

SeverityName = Literal["info", "warning", "critical"]
Kind = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoNul]


class NotificationOut(Schema):
    id: uuid.UUID = Field(alias="public_id")
    kind: str
    severity: str
    title: str
    body: str
    link: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None


class ReadAllOut(Schema):
    marked: int = Field(description="How many notifications were unread and are now read")


class UnreadOut(Schema):
    unread: int


class PreferenceOut(Schema):
    severities: list[str] = Field(description="Severities sent by e-mail; in-app lists every notification")
    email: bool
    mode: Literal["immediate", "digest"]


class PreferenceIn(Input):
    severities: list[SeverityName] = Field(min_length=1, max_length=3)
    email: bool
    mode: Literal["immediate", "digest"] = "immediate"


class EndpointOut(Schema):
    id: uuid.UUID = Field(alias="public_id")
    name: str
    url: str
    kind: Literal["slack", "generic"]
    enabled: bool
    severities: list[str] = Field(description="Empty: every severity")
    kinds: list[str] = Field(
        description="Notification kinds (a prefix such as `deal` matches `deal.*`); empty: all"
    )
    created_at: datetime.datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="The signing secret of generic webhooks: shown only in this answer")


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret: shown only in this answer")


class EndpointIn(Input):
    name: Name
    url: Url
    kind: Literal["slack", "generic"] = "generic"
    enabled: bool = True
    severities: list[SeverityName] = Field(default_factory=list, max_length=3)
    kinds: list[Kind] = Field(default_factory=list, max_length=50)


class EndpointPatch(Patch):
    name: Name | None = None
    url: Url | None = None
    kind: Literal["slack", "generic"] | None = None
    enabled: bool | None = None
    severities: list[SeverityName] | None = Field(None, max_length=3)
    kinds: list[Kind] | None = Field(None, max_length=50)


class AttemptOut(Schema):
    number: int
    at: datetime.datetime
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: uuid.UUID
    channel: Literal["email", "slack", "webhook"]
    target: str
    endpoint: uuid.UUID | None
    group_key: str
    digest: bool
    notifications: int = Field(description="How many notifications this one message carries")
    summary: str
    status: Literal["pending", "delivered", "failed"]
    created_at: datetime.datetime
    due_at: datetime.datetime
    delivered_at: datetime.datetime | None
    attempts: list[AttemptOut]


class DeliveryQuery(Schema):
    channel: Literal["email", "slack", "webhook"] | None = None
    status: Literal["pending", "delivered", "failed"] | None = None
    endpoint: uuid.UUID | None = None
