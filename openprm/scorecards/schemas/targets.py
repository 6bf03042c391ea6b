"""Schemas of the targets API (``/targets``)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import STAFF_ONLY_NOTE, Input, NoNul, Patch, StaffOnlyFields
from openprm.scorecards.filters import TargetFilters
from openprm.scorecards.selectors import HistoryItem, Progress

MetricKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
PeriodKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul]
Notes = Annotated[str, StringConstraints(max_length=5000), NoNul]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("99999999999999"), max_digits=20, decimal_places=4)]
Cell = Annotated[str, StringConstraints(max_length=300), NoNul]


class TargetCreate(Input):
    metric: MetricKey = Field(description="A catalogued metric key, e.g. won_revenue")
    period: PeriodKey = Field(description="YYYY-MM, YYYY-Qn or YYYY")
    partner_id: uuid.UUID | None = Field(None, description="Exactly one of partner_id, tier_id, program_id")
    tier_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    value: Amount
    owner_id: uuid.UUID | None = Field(None, description="A staff user's public id")
    notes: Notes = Field("", description="Internal: never shown to partner users")


class TargetPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"owner_id"})
    value: Amount | None = None
    owner_id: uuid.UUID | None = None
    notes: Notes | None = None


class TargetRow(Input):
    """One row of a bulk set: the canonical CSV columns (README "Targets CSV")."""

    metric: Cell
    period: Cell
    partner_external_id: Cell = ""
    tier: Cell = Field("", description="Tier name, or 'Program / Tier' when the name is in several programs")
    program: Cell = ""
    value: Cell
    owner_email: Cell = ""
    notes: Annotated[str, StringConstraints(max_length=5000), NoNul] = ""


class TargetBulk(Input):
    items: list[TargetRow] = Field(max_length=20000)
    dry_run: bool = Field(False, description="Check and count without writing")


class BulkOut(Schema):
    created: int
    updated: int
    unchanged: int
    dry_run: bool


class Ref(Schema):
    id: uuid.UUID
    name: str


class PaceOut(Schema):
    expected: Decimal
    status: Literal["on_track", "behind", "ahead", "not_started", "no_value"]
    text: str = Field(description='"on track", "behind by 30%", "ahead by 12%"')


class TargetOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset({"notes"})

    id: uuid.UUID
    metric: str
    metric_label: str
    period: str
    grain: str
    scope: Literal["partner", "tier", "program"]
    partner: Ref | None
    tier: Ref | None
    program: Ref | None
    value: Decimal
    baseline: Decimal | None = Field(
        description="The metric over the previous period, when the target was set"
    )
    owner: str | None
    notes: str = Field("", description=STAFF_ONLY_NOTE)
    accepted_by: str | None
    accepted_at: datetime.datetime | None
    created_at: datetime.datetime
    actual: Any = Field(None, description="The partner's value so far (partner targets)")
    missing: str = Field("", description='"no data: needs …" when the workspace lacks the inputs')
    attainment: Decimal | None = Field(None, description="Percent of the target reached")
    pace: PaceOut | None = None
    partners: int = Field(description="Partners the target applies to (that you may see)")
    on_track: int = Field(description="Of those, how many are on track or ahead")


class TargetPage(Schema):
    items: list[TargetOut]
    count: int


class HistoryOut(Schema):
    at: datetime.datetime
    who: str
    action: str
    changes: dict[str, Any]


class TargetQuery(Schema):
    metric: MetricKey | None = None
    period: PeriodKey | None = None
    scope: Literal["partner", "tier", "program"] | None = None
    partner: uuid.UUID | None = None
    tier: uuid.UUID | None = None
    program: uuid.UUID | None = None
    owner: Annotated[str, StringConstraints(max_length=60), NoNul] | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)

    def to_filters(self) -> TargetFilters:
        data = self.model_dump(exclude_none=True, exclude={"limit", "offset"})
        return TargetFilters(**{k: str(v) for k, v in data.items()})


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.public_id, "name": str(obj)}


def target_out(progress: Progress) -> dict[str, Any]:
    from openprm.scorecards.tiers import label_of

    t = progress.target
    pace = progress.pace
    return {
        "id": t.public_id,
        "metric": t.metric,
        "metric_label": label_of(t.metric),
        "period": t.period,
        "grain": t.grain,
        "scope": t.scope,
        "partner": _ref(t.partner),
        "tier": None if t.tier is None else {"id": t.tier.public_id, "name": f"{t.tier.program} · {t.tier}"},
        "program": _ref(t.program),
        "value": t.value,
        "baseline": t.baseline,
        "owner": str(t.owner) if t.owner else None,
        "notes": t.notes,
        "accepted_by": str(t.accepted_by) if t.accepted_by else None,
        "accepted_at": t.accepted_at,
        "created_at": t.created_at,
        "actual": progress.value if progress.partner_id else None,
        "missing": progress.missing,
        "attainment": progress.attainment if progress.partner_id else progress.median_attainment,
        "pace": None
        if pace is None
        else {"expected": pace.expected, "status": pace.status, "text": pace.text},
        "partners": progress.partners,
        "on_track": progress.on_track,
    }


def history_out(item: HistoryItem) -> dict[str, Any]:
    return {"at": item.at, "who": item.who, "action": item.action, "changes": item.changes}
