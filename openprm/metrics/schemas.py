"""API schemas of the metrics app. The engagement answer is built from the catalog: one field per
``formulas.Engagement`` field, typed as the formula returns it and described by its catalog entry, so a
metric is named and defined once (a field without a catalog entry fails at import)."""

from __future__ import annotations

import dataclasses
import datetime
import typing
import uuid
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import create_model

from openprm.metrics import formulas
from openprm.metrics.catalog import metric


class EngagementQuery(Schema):
    start: datetime.date | None = Field(None, description="First day (UTC) of the period; default: end − 89")
    end: datetime.date | None = Field(None, description="Last day (UTC) of the period; default: today")


def engagement_fields() -> dict[str, Any]:
    """The engagement metrics as schema fields, in the order the formula returns them."""
    types = typing.get_type_hints(formulas.Engagement)
    return {
        field.name: (types[field.name], Field(description=metric(field.name).describe()))
        for field in dataclasses.fields(formulas.Engagement)
        if field.name != "period"
    }


EngagementOut = create_model(
    "EngagementOut",
    __base__=Schema,
    __doc__="A partner's engagement in a period, from the daily rollups.",
    partner=(uuid.UUID, ...),
    start=(datetime.date, ...),
    end=(datetime.date, ...),
    **engagement_fields(),
    weekly_activity=(list[int], Field(description=metric("weekly_activity").describe())),
)


class ActiveShareOut(Schema):
    program: uuid.UUID
    as_of: datetime.date
    window_days: int = Field(description="The program's active window (Program.active_window_days)")
    active: int = Field(description=metric("active_partners").describe())
    total: int = Field(description=metric("enrolled_partners").describe())
    share: Decimal | None = Field(description=metric("active_partner_share").describe())


class ActiveShareQuery(Schema):
    as_of: datetime.date | None = Field(None, description="Default: today (UTC, as the daily rollups)")
    window_days: int | None = Field(None, ge=1, le=365, description="Default: the program's active window")
