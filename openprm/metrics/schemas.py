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

from openprm.core.schemas import Input, Long, Short
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


# --------------------------------------------------------------------------------------------- catalog

Figure = Decimal | int | float | datetime.date | None


class CatalogEntryOut(Schema):
    key: str
    label: str
    definition: str
    formula: str = Field(description="The formula in words")
    unit: str
    direction: str = Field(description="higher_is_better, lower_is_better or neutral")
    indicator: str | None = Field(description="leading or lagging (null where neither reading is clear)")
    category: str
    family: str = Field(description="financial, engagement or health (saas, retail… for pack-only metrics)")
    packs: list[str] = Field(description="Vertical packs the metric also belongs to")
    needs: str = Field(description="The data the metric needs; without it the metric reads 'no data'")
    computed: bool = Field(description="Computed by the metric engine (available in /metrics/series)")
    shown_on: str = Field(description="For a metric the engine does not compute: where it is shown")
    staff_only: bool = Field(description="Built on internal figures: not available to partner users")
    glossary_url: str


class SeriesQuery(Schema):
    metrics: str = Field("", description="Comma-separated metric keys (see /metrics/catalog), at most 20")
    period: str = Field(
        "", description="YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or a range; default: this month"
    )
    grain: str = Field("", description="Split the period by day, week, month, quarter or year; default: none")
    partners: str = Field("", description="Comma-separated partner ids: a row per partner besides the total")
    program: str = ""
    tier: str = ""
    type: str = ""
    region: str = ""
    owner: str = Field("", description="A user id, me or none")
    tag: str = ""


class PeriodOut(Schema):
    key: str
    start: datetime.date
    end: datetime.date
    closed: bool = Field(description="Served from the period's snapshot (late data shown as late)")


class CellOut(Schema):
    value: Figure
    missing: str = Field("", description="'no data: needs …' when the workspace lacks the inputs")
    late: Figure = Field(None, description="A closed period's live value where late data changed it")
    adjusted: bool = Field(False, description="True when late holds a late adjustment")


class SeriesRowOut(Schema):
    partner: uuid.UUID | None = Field(description="null: all the selected partners together")
    name: str
    values: dict[str, list[CellOut]] = Field(description="Per metric key, one cell per period, in order")


class UnconvertedOut(Schema):
    currency: str = Field(description="The deals' currency")
    deals: int = Field(description="Registrations left out (0: only wins or losses of earlier deals)")
    open_deals: int = Field(0, description="Open deals left out of the pipeline at a period's end")
    days: list[datetime.date] = Field(description="The days no exchange rate converts, in order")


class SeriesOut(Schema):
    metrics: list[str]
    periods: list[PeriodOut]
    partners: int = Field(description="How many partners the total covers")
    rows: list[SeriesRowOut]
    unconverted: list[UnconvertedOut] = Field(
        default_factory=list,
        description="Deals in other currencies no exchange rate converts yet, left out of the deal "
        "figures of these periods (the total's partners and the named ones), per currency; empty when "
        "every deal is converted or no deal metric is asked for",
    )


# --------------------------------------------------------------------------------------------- parameters


class ParameterVersionOut(Schema):
    id: uuid.UUID
    key: str
    value: Any
    effective_from: datetime.date
    note: str
    created_by: str | None
    created_at: datetime.datetime


class ParameterOut(Schema):
    key: str
    label: str
    help: str
    kind: str = Field(description="days, types (a list of event type keys), ratio (0–1) or money")
    default: Any
    current: Any = Field(description="The value in effect today")
    versions: list[ParameterVersionOut] = Field(description="Every version, newest first")


class ParameterIn(Input):
    key: Short
    value: Any
    effective_from: datetime.date = Field(description="The first day of the month the version applies from")
    note: Long = ""


# --------------------------------------------------------------------------------------------- periods


class PeriodCloseOut(Schema):
    period: str
    start: datetime.date
    end: datetime.date
    status: str = Field(description="closed or reopened")
    closed_at: datetime.datetime
    closed_by: str | None
    reopened_at: datetime.datetime | None
    reopened_by: str | None
    reopen_reason: str
    partners: int = Field(description="Partners snapshotted")


class PeriodCloseIn(Input):
    period: Short = Field(description="The month, YYYY-MM")


class PeriodReopenIn(Input):
    period: Short = Field(description="YYYY-MM, YYYY-Qn or YYYY")
    reason: Long = Field(description="Why the period is reopened (audited)")


class RegionOut(Schema):
    region: str
    units: int
    revenue: Decimal
