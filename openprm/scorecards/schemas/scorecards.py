"""Schemas of the scorecards API (``/scorecards``)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel, StringConstraints, field_validator

from openprm.core.schemas import Input, NoNul, Patch
from openprm.metrics.engine import Value
from openprm.partners.filters import PartnerFilters
from openprm.scorecards import tiers
from openprm.scorecards.selectors import (
    SORT_KEYS,
    Leaderboard,
    Pareto,
    Scorecard,
    ScorecardRow,
    TierProgress,
    Trend,
)

Str = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
PeriodKey = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), NoNul]


class PartnerSet(Schema):
    """Which partners: the partner list's filters."""

    q: Str | None = Field(None, description="Name, legal name, domain, or exact external id")
    type: Str | None = Field(None, description="Partner type key, e.g. reseller")
    program: uuid.UUID | None = Field(None, description="Program public id")
    tier: uuid.UUID | None = Field(None, description="Tier public id")
    region: Str | None = None
    owner: Str | None = Field(None, description='Owner user public id, "me" or "none"')
    tag: Str | None = None
    period: PeriodKey | None = Field(None, description="YYYY-MM, YYYY-Qn, YYYY, ... (default: this month)")

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value and value not in ("me", "none"):
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError('must be a user public id, "me" or "none"') from None
        return value

    def to_filters(self) -> PartnerFilters:
        data = self.model_dump(exclude_none=True, exclude={"period", "sort", "metric", "limit"})
        return PartnerFilters(**{k: str(v) for k, v in data.items()})


class TableQuery(PartnerSet):
    sort: Str = Field("-overall", description=f"One of {', '.join(SORT_KEYS)}; a leading - for descending")

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        if value.lstrip("-") not in SORT_KEYS:
            raise ValueError(f"sort by one of {', '.join(SORT_KEYS)} (a leading - for descending)")
        return value


class RankQuery(PartnerSet):
    metric: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul] = (
        "won_revenue"
    )
    limit: int = Field(50, ge=1, le=2000)


class PeriodQuery(Schema):
    period: PeriodKey | None = Field(None, description="YYYY-MM, YYYY-Qn, YYYY, ... (default: this month)")


class TrendQuery(PeriodQuery):
    keys: Annotated[str, StringConstraints(max_length=2000), NoNul] = Field(
        "won_revenue,pipeline_value,win_rate,logins", description="Comma-separated metric keys"
    )


class FigureOut(BaseModel):  # plain pydantic: built from dicts, thousands per table (no attribute getter)
    value: Any
    missing: str = ""


def figure(value: Value) -> dict[str, Any]:
    return {"value": value.value, "missing": value.missing}


class MetricScoreOut(Schema):
    key: str
    label: str
    method: Literal["target", "percentile"]
    weight: Decimal = Field(description="As configured inside its dimension")
    value: Any
    missing: str
    target: Decimal | None
    attainment: Decimal | None = Field(description="Percent of the target reached")
    percentile: Decimal | None = Field(description="Among the program's partners, 0-100")
    score: Decimal | None = Field(description="None: left out of the overall score (see note)")
    share: Decimal = Field(description="Its weight in the overall score, percent")
    contribution: Decimal | None = Field(description="Points of the overall score")
    note: str


class DimensionOut(Schema):
    key: str
    label: str
    weight: Decimal
    share: Decimal
    score: Decimal | None
    metrics: list[MetricScoreOut]


class RecommendationOut(Schema):
    action: Literal["promote", "keep", "demote", "assign", "none"]
    current: str | None
    recommended: str | None
    next_tier: str | None
    reasons: list[str]
    gaps: list[str] = Field(description='e.g. "€12,000 more won revenue to reach Gold"')


class ScorecardOut(Schema):
    partner_id: uuid.UUID
    partner: str
    program: str | None
    tier: str | None
    period: str
    overall: Decimal | None = Field(description="0-100")
    rank_band: str = Field(description='e.g. "top 25%" of the program')
    cap: int
    dimensions: list[DimensionOut]
    recommendation: RecommendationOut
    figures: dict[str, FigureOut]


class ScorecardRowOut(BaseModel):  # plain pydantic: one per partner, built from dicts
    partner_id: uuid.UUID
    partner: str
    program: str | None
    tier: str | None
    overall: Decimal | None
    dimensions: dict[str, Decimal | None]
    figures: dict[str, FigureOut]
    recommendation: str
    recommended_tier: str | None
    rank: int | None
    rank_band: str


class CheckOut(Schema):
    metric: str = Field(
        description='"program_requirement" for a criterion on an internal metric (partner users)'
    )
    label: str
    minimum: Decimal | None = Field(description="None for a criterion on an internal metric (partner users)")
    grain: str
    period: str
    value: Any
    met: bool
    gap: Decimal | None
    text: str


class TierProgressOut(Schema):
    partner: str
    program: str | None
    period: str
    current: str | None
    next_tier: str | None
    recommendation: RecommendationOut
    current_checks: list[CheckOut]
    next_checks: list[CheckOut]


class StandingOut(Schema):
    rank: int
    partner_id: uuid.UUID
    partner: str
    value: Decimal | None
    share: Decimal | None
    cumulative: Decimal | None


class LeaderboardOut(Schema):
    metric: str
    period: str
    partners: int
    missing: str
    rows: list[StandingOut]


class ParetoOut(Schema):
    metric: str
    period: str
    total: Decimal
    partners: int
    contributors: int
    share_of_partners: Decimal | None = Field(description="Share of the partners making 80% of the total")
    share_of_total: Decimal | None
    makers: list[StandingOut]
    missing: str


class TrendOut(Schema):
    metric: str
    current: FigureOut
    previous: FigureOut
    year_before: FigureOut
    change: Decimal | None = Field(description="vs the previous period (month over month for a month)")
    change_yoy: Decimal | None
    better: bool | None


class MetricConfigIn(Input):
    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
    weight: Decimal = Field(ge=0, le=1000)
    method: Literal["auto", "target", "percentile"] = "auto"


class DimensionConfigIn(Input):
    key: Literal["financial", "operational", "engagement", "relationship"]
    weight: Decimal = Field(ge=0, le=1000)
    metrics: list[MetricConfigIn] = Field(max_length=50)


class ConfigIn(Input):
    dimensions: list[DimensionConfigIn] = Field(min_length=1, max_length=4)
    cap: int = Field(150, ge=100, le=500)


class ConfigOut(Schema):
    program_id: uuid.UUID
    program: str
    is_default: bool = Field(description="True: nothing was configured, the default scorecard applies")
    cap: int
    dimensions: list[dict[str, Any]]


class CriterionIn(Input):
    tier_id: uuid.UUID
    metric: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul] = (
        Field(description="A metric key, or overall_score")
    )
    minimum: Decimal = Field(ge=0, le=Decimal("99999999999999"), description="At most, for lower-is-better")
    grain: Literal["month", "quarter", "year"] = "year"


class CriterionPatch(Patch):
    metric: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul] | None
    ) = None
    minimum: Decimal | None = Field(None, ge=0, le=Decimal("99999999999999"))
    grain: Literal["month", "quarter", "year"] | None = None


class CriterionOut(Schema):
    id: uuid.UUID
    program: str
    tier_id: uuid.UUID
    tier: str
    metric: str
    label: str
    minimum: Decimal
    grain: str
    created_at: datetime.datetime


# --------------------------------------------------------------------------------------------- builders


def _rec(rec: tiers.Recommendation) -> dict[str, Any]:
    return {
        "action": rec.action,
        "current": rec.current,
        "recommended": rec.recommended,
        "next_tier": rec.next_tier,
        "reasons": list(rec.reasons),
        "gaps": list(rec.gaps),
    }


def scorecard_out(card: Scorecard) -> dict[str, Any]:
    return {
        "partner_id": card.partner_public_id,
        "partner": card.partner_name,
        "program": card.program,
        "tier": card.tier,
        "period": card.period.key,
        "overall": card.overall,
        "rank_band": card.rank_band,
        "cap": card.cap,
        "dimensions": [
            {
                "key": d.key,
                "label": d.label,
                "weight": d.weight,
                "share": d.share,
                "score": d.score,
                "metrics": [
                    {
                        "key": m.key,
                        "label": tiers.label_of(m.key),
                        "method": m.method,
                        "weight": m.weight,
                        "value": m.value,
                        "missing": m.missing,
                        "target": m.target,
                        "attainment": m.attainment,
                        "percentile": m.percentile,
                        "score": m.score,
                        "share": m.share,
                        "contribution": m.contribution,
                        "note": m.note,
                    }
                    for m in d.metrics
                ],
            }
            for d in card.dimensions
        ],
        "recommendation": _rec(card.recommendation),
        "figures": {k: figure(v) for k, v in card.figures.items()},
    }


def row_out(row: ScorecardRow) -> dict[str, Any]:
    return {
        "partner_id": row.public_id,
        "partner": row.name,
        "program": row.program,
        "tier": row.tier,
        "overall": row.overall,
        "dimensions": row.dimensions,
        "figures": {k: figure(v) for k, v in row.figures.items()},
        "recommendation": row.recommendation,
        "recommended_tier": row.recommended_tier,
        "rank": row.rank,
        "rank_band": row.rank_band,
    }


def _check(c: tiers.CriterionCheck) -> dict[str, Any]:
    return {
        "metric": c.metric,
        "label": c.label,
        "minimum": c.minimum,
        "grain": c.grain,
        "period": c.period,
        "value": c.value,
        "met": c.met,
        "gap": c.gap,
        "text": c.text,
    }


def progress_out(p: TierProgress) -> dict[str, Any]:
    return {
        "partner": p.partner_name,
        "program": p.program,
        "period": p.period.key,
        "current": p.current,
        "next_tier": p.next_tier,
        "recommendation": _rec(p.recommendation),
        "current_checks": [_check(c) for c in p.current_checks],
        "next_checks": [_check(c) for c in p.next_checks],
    }


def _standing(s: Any) -> dict[str, Any]:
    return {
        "rank": s.rank,
        "partner_id": s.public_id,
        "partner": s.name,
        "value": s.value,
        "share": s.share,
        "cumulative": s.cumulative,
    }


def leaderboard_out(board: Leaderboard) -> dict[str, Any]:
    return {
        "metric": board.metric,
        "period": board.period.key,
        "partners": board.partners,
        "missing": board.missing,
        "rows": [_standing(s) for s in board.rows],
    }


def pareto_out(cut: Pareto) -> dict[str, Any]:
    return {
        "metric": cut.metric,
        "period": cut.period.key,
        "total": cut.total,
        "partners": cut.partners,
        "contributors": cut.contributors,
        "share_of_partners": cut.share_of_partners,
        "share_of_total": cut.share_of_total,
        "makers": [_standing(s) for s in cut.makers],
        "missing": cut.missing,
    }


def trend_out(t: Trend) -> dict[str, Any]:
    return {
        "metric": t.metric,
        "current": figure(t.current),
        "previous": figure(t.previous),
        "year_before": figure(t.year_before),
        "change": t.change,
        "change_yoy": t.change_yoy,
        "better": t.better,
    }


def criterion_out(c: Any) -> dict[str, Any]:
    return {
        "id": c.public_id,
        "program": c.tier.program.name,
        "tier_id": c.tier.public_id,
        "tier": c.tier.name,
        "metric": c.metric,
        "label": tiers.label_of(c.metric),
        "minimum": c.minimum,
        "grain": c.grain,
        "created_at": c.created_at,
    }
