"""What a rule watches: its ``conditions`` JSON, validated here (pydantic), and the periods each condition
reads. Metric keys are checked against the catalog; an error names the field (``conditions.0.metric``).

Kinds on metrics (one value per partner from ``metrics.figures``): ``threshold``, ``target``
(attainment or pace behind target), ``change`` (against the previous period or the partner's own baseline),
``inactivity`` (a date metric such as ``last_contact`` older than N days). Kinds on records (one alert per
deal, agreement or conflict): ``agreement_expiring``, ``registration_sla``, ``registration_pending``,
``deal_stalled``, ``conflict_waiting``. Record kinds combine with AND only (a record and its partner).
"""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from openprm.metrics.catalog import Unit, metric
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.periods import Grain, Period

Grains = Literal["month", "quarter", "year", "rolling"]
OPS = ("<", "<=", ">", ">=", "=", "!=")
RECORD_KINDS = (
    "agreement_expiring",
    "registration_sla",
    "registration_pending",
    "deal_stalled",
    "conflict_waiting",
)
METRIC_KINDS = ("threshold", "target", "change", "inactivity")
KIND_LABELS = {
    "threshold": "Metric threshold",
    "target": "Behind target",
    "change": "Change vs previous / baseline",
    "inactivity": "Inactivity",
    "agreement_expiring": "Agreement expiring",
    "registration_sla": "Registration approval SLA breached",
    "registration_pending": "Registration awaiting approval",
    "deal_stalled": "Deal stalled",
    "conflict_waiting": "Conflict unresolved",
}


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _computed_metric(key: str, *, date: bool = False) -> str:
    """A catalogued metric the engine computes (a date metric when ``date``, else a figure)."""
    try:
        entry = metric(key)
    except LookupError as error:
        raise ValueError(str(error)) from None
    if key not in FORMULAS:
        raise ValueError(f"{key!r} is not computed by the metric engine.")
    if date and entry.unit is not Unit.DATE:
        raise ValueError(f"{key!r} is not a date metric (e.g. last_contact).")
    if not date and entry.unit is Unit.DATE:
        raise ValueError(f"{key!r} is a date; use an inactivity condition.")
    return key


class _MetricCondition(_Base):
    metric: str
    grain: Grains = "month"
    days: int = Field(default=30, ge=1, le=730, description="The rolling window's days")

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        return _computed_metric(value)


class Threshold(_MetricCondition):
    kind: Literal["threshold"]
    op: Literal["<", "<=", ">", ">=", "=", "!="]
    value: Decimal


class TargetDeviation(_Base):
    kind: Literal["target"]
    metric: str
    measure: Literal["attainment", "pace"] = "pace"
    behind_percent: Decimal = Field(ge=0, le=100)
    grain: Literal["month", "quarter", "year"] = "month"

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        return _computed_metric(value)


class Change(_MetricCondition):
    kind: Literal["change"]
    direction: Literal["drop", "rise"] = "drop"
    percent: Decimal = Field(gt=0, le=1000)
    against: Literal["previous", "baseline"] = "previous"
    baseline_periods: int = Field(default=3, ge=1, le=12)


class Inactivity(_Base):
    kind: Literal["inactivity"]
    metric: str = "last_contact"
    days: int = Field(ge=1, le=730)

    @field_validator("metric")
    @classmethod
    def _date(cls, value: str) -> str:
        return _computed_metric(value, date=True)


class AgreementExpiring(_Base):
    kind: Literal["agreement_expiring"]
    days: int = Field(default=30, ge=0, le=730)


class RegistrationSla(_Base):
    kind: Literal["registration_sla"]


class RegistrationPending(_Base):
    kind: Literal["registration_pending"]


class DealStalled(_Base):
    kind: Literal["deal_stalled"]
    days: int = Field(default=0, ge=0, le=730, description="0: each stage's own stalled threshold")


class ConflictWaiting(_Base):
    kind: Literal["conflict_waiting"]
    hours: int = Field(default=24, ge=0, le=24 * 365)


Condition = Annotated[
    Threshold
    | TargetDeviation
    | Change
    | Inactivity
    | AgreementExpiring
    | RegistrationSla
    | RegistrationPending
    | DealStalled
    | ConflictWaiting,
    Field(discriminator="kind"),
]


class Conditions(_Base):
    combine: Literal["and", "or"] = "and"
    items: list[Condition] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _records(self) -> Conditions:
        records = {c.kind for c in self.items if c.kind in RECORD_KINDS}
        if len(records) > 1 or sum(c.kind in RECORD_KINDS for c in self.items) > 1:
            raise ValueError("a rule watches one kind of record (deal, agreement or conflict) at most")
        if records and self.combine == "or" and len(self.items) > 1:
            raise ValueError("a record condition combines with the others by AND only")
        return self

    @property
    def record_kind(self) -> str:
        return next((c.kind for c in self.items if c.kind in RECORD_KINDS), "")


def parse_conditions(data: Any) -> Conditions:
    """The conditions, or a ValidationError naming each offending field (``conditions.items.0.metric``)."""
    try:
        return Conditions.model_validate(data)
    except PydanticError as error:
        errors: dict[str, list[str]] = {}
        for item in error.errors():
            loc = [str(p) for p in item["loc"] if not str(p).startswith(tuple(c for c in KIND_LABELS))]
            field = ".".join(["conditions", *loc]) if loc else "conditions"
            message = str(item["msg"]).removeprefix("Value error, ")
            errors.setdefault(field, []).append(message)
        raise ValidationError(errors) from None


# ------------------------------------------------------------------------------------------------ periods


@functools.lru_cache(maxsize=256)
def current_period(grain: str, days: int, today: datetime.date) -> Period:
    """The period a threshold or target reads: the calendar period holding today, or the last ``days``."""
    if grain == "rolling":
        return Period.last(days, end=today)
    return Period.of(Grain(grain), today)


@functools.lru_cache(maxsize=256)
def change_periods(
    grain: str, days: int, today: datetime.date, baseline: int | None
) -> tuple[Period, tuple[Period, ...]]:
    """The period a change condition judges and those it compares with (the previous one, or the
    ``baseline`` ones before it). Calendar grains compare complete periods (the last complete one against
    those before), so a month just started is never judged against a whole month."""
    if grain == "rolling":
        current = Period.last(days, end=today)
    else:
        current = Period.of(Grain(grain), today).previous()
    earlier: list[Period] = []
    cursor = current
    for _ in range(baseline or 1):
        cursor = cursor.previous()
        earlier.append(cursor)
    return current, tuple(earlier)
