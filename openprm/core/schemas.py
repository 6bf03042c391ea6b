"""What every app's API schemas share: bounded, NUL-free strings (bad input is a 422, never a 500), the
request-body bases (``Input``, ``Patch``), the audience-aware output base (``StaffOnlyFields``), the error
body, the list pagination and sane moments (``When``)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, ClassVar

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    ConfigDict,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
"""Use as ``Annotated[str, StringConstraints(max_length=n), NoNul]`` where a length alias is missing."""


def Text(max_length: int, min_length: int = 0) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
    ]


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_no_nul)]
Long = Annotated[str, StringConstraints(max_length=20000), AfterValidator(_no_nul)]


def _moment(value: datetime.datetime) -> datetime.datetime:
    # Years before 1900 are typos, and near year 1 an offset makes the UTC conversion overflow.
    if value.year < 1900:
        raise ValueError("must be in 1900 or later")
    return value.astimezone(datetime.UTC) if value.tzinfo else value


When = Annotated[datetime.datetime, AfterValidator(_moment)]
"""A moment sent to the API: one with an offset is converted to UTC, a naive one is passed on for the
service to make aware, and a year before 1900 is a 422 (not an overflow deep in the database layer)."""


class ErrorItem(Schema):
    field: str
    code: str
    message: str


class ErrorOut(Schema):
    """Every error: a stable `code`, a message, and for input errors the offending `field`."""

    code: str
    message: str
    field: str | None = None
    errors: list[ErrorItem] = []


def enum_schema(values: list[str]) -> WithJsonSchema:
    """Document a choices field as a plain string enum (the value is still validated by its type)."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


class Input(Schema):
    """Base of request bodies: a JSON object, without unknown keys (a typo is a 422, not a silent no-op)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _object(cls, data: Any) -> Any:
        # Ninja validates the raw value first (extra="forbid"), then again wrapped in a DjangoGetter.
        if not isinstance(data, dict | DjangoGetter):
            raise ValueError("the request body must be a JSON object")
        return data


class Patch(Input):
    """Base of PATCH schemas: sending ``null`` for a non-nullable field is a 422 naming that field."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may be left out, but not null")
        return value


class StaffOnlyFields(Schema):
    """Base of output schemas holding internal fields (docs/visibility.md): the fields named in
    ``STAFF_ONLY`` are left out of the answer when a partner user asked. Give those fields a default so
    that the schema documents them as optional ("absent for partner users")."""

    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset()
    _for_partner: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _audience(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        obj = handler(data)
        actor = getattr((info.context or {}).get("request"), "actor", None)
        if isinstance(obj, StaffOnlyFields):
            obj._for_partner = bool(actor is not None and actor.is_partner_user)
        return obj

    def drop_staff_only(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._for_partner:
            for key in self.STAFF_ONLY:
                data.pop(key, None)
        return data

    @model_serializer(mode="wrap")  # unannotated return: the schema stays the model's own
    def _staff_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return self.drop_staff_only(handler(self))


STAFF_ONLY_NOTE = "Staff only: absent for partner users"


class Pagination(LimitOffsetPagination):
    """`limit` (1-500, default 50) and `offset`; answers `{"items": [...], "count": N}`."""

    class Input(LimitOffsetPagination.Input):
        limit: int = Field(
            settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_PER_PAGE_SIZE
        )
        offset: int = Field(0, ge=0, le=10**9)
