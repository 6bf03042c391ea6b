"""Scorecards over HTTP: the all-partner table, one partner's scorecard, tier progress and trends (partner
users: their own partner only, 404 for any other), the leaderboard and Pareto (staff: they name partners),
and each program's configuration and tier criteria (staff read; staff who edit partners change)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from pydantic import TypeAdapter

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.metrics.figures import staff_only
from openprm.metrics.periods import Period, parse_period
from openprm.partners.selectors import partner_get, program_get, tier_get
from openprm.scorecards import selectors, services
from openprm.scorecards.schemas.scorecards import (
    ConfigIn,
    ConfigOut,
    CriterionIn,
    CriterionOut,
    CriterionPatch,
    LeaderboardOut,
    ParetoOut,
    PeriodQuery,
    RankQuery,
    ScorecardOut,
    ScorecardRowOut,
    TableQuery,
    TierProgressOut,
    TrendOut,
    TrendQuery,
    criterion_out,
    leaderboard_out,
    pareto_out,
    progress_out,
    row_out,
    scorecard_out,
    trend_out,
)
from openprm.scorecards.scoring import metric_problem

router = Router(tags=["scorecards"])
_TABLE = TypeAdapter(list[ScorecardRowOut])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    return actor


def period_of(text: str | None) -> Period:
    """The period written in ``text`` (default: this month); a 422 naming ``period`` when unreadable."""
    if not text:
        return Period.month_of(timezone.now().astimezone(datetime.UTC).date())
    try:
        return parse_period(text)
    except ValueError as error:
        raise ValidationError({"period": str(error)}) from None


@router.get(
    "/scorecards",
    response={200: list[ScorecardRowOut], **ERRORS},
    operation_id="openprm_scorecards_api_scorecard_table",
)
def scorecard_table(request: HttpRequest, filters: Query[TableQuery]) -> HttpResponse:
    """Every partner you may see: overall and dimension scores, key figures, recommendation, rank band."""
    actor = request_actor(request)
    rows = selectors.scorecard_table(
        actor=actor, period=period_of(filters.period), filters=filters.to_filters(), sort=filters.sort
    )
    # validated and written by pydantic's own serializer: one row per partner, thousands at scale (the
    # generic response path costs more than scoring them); the same schema and JSON as declared above
    return HttpResponse(
        _TABLE.dump_json(_TABLE.validate_python([row_out(row) for row in rows])),
        content_type="application/json",
    )


@router.get(
    "/scorecards/partners/{partner_id}",
    response={200: ScorecardOut, **ERRORS},
    operation_id="openprm_scorecards_api_scorecard_get",
)
def scorecard_get(request: HttpRequest, partner_id: uuid.UUID, query: Query[PeriodQuery]) -> dict[str, Any]:
    """One partner's scorecard: each metric's value, target, score and contribution, the overall score,
    the tier recommendation and the rank band."""
    actor = request_actor(request)
    partner = partner_get(actor=actor, public_id=partner_id)
    return scorecard_out(selectors.scorecard(actor=actor, partner=partner, period=period_of(query.period)))


@router.get(
    "/scorecards/partners/{partner_id}/tier-progress",
    response={200: TierProgressOut, **ERRORS},
    operation_id="openprm_scorecards_api_tier_progress",
)
def tier_progress(request: HttpRequest, partner_id: uuid.UUID, query: Query[PeriodQuery]) -> dict[str, Any]:
    """The current tier, the next one, and each criterion met or the gap."""
    actor = request_actor(request)
    partner = partner_get(actor=actor, public_id=partner_id)
    return progress_out(selectors.tier_progress(actor=actor, partner=partner, period=period_of(query.period)))


@router.get(
    "/scorecards/partners/{partner_id}/trends",
    response={200: list[TrendOut], **ERRORS},
    operation_id="openprm_scorecards_api_partner_trends",
)
def partner_trends(
    request: HttpRequest, partner_id: uuid.UUID, query: Query[TrendQuery]
) -> list[dict[str, Any]]:
    """Each metric over the period, the period before and a year before, with the changes."""
    actor = request_actor(request)
    partner = partner_get(actor=actor, public_id=partner_id)
    keys = _keys(query.keys, actor)
    rows = selectors.trends(actor=actor, partner=partner, period=period_of(query.period), keys=keys)
    return [trend_out(t) for t in rows]


@router.get(
    "/scorecards/trends",
    response={200: list[TrendOut], **ERRORS},
    operation_id="openprm_scorecards_api_trends",
)
def trends(request: HttpRequest, query: Query[TrendQuery]) -> list[dict[str, Any]]:
    """The same for all the partners you may see together."""
    actor = _staff(request)
    rows = selectors.trends(
        actor=actor, partner=None, period=period_of(query.period), keys=_keys(query.keys, actor)
    )
    return [trend_out(t) for t in rows]


def _keys(text: str, actor: Actor) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()][:20]
    for key in keys:
        problem = metric_problem(key)
        if not problem and actor.is_partner_user and staff_only(key):
            problem = f"{key!r} is not available to partner users."
        if problem:
            raise ValidationError({"keys": problem})
    return keys


def _ranking_metric(metric: str) -> str:
    problem = metric_problem(metric)
    if problem:
        raise ValidationError({"metric": problem})
    return metric


@router.get(
    "/scorecards/leaderboard",
    response={200: LeaderboardOut, **ERRORS},
    operation_id="openprm_scorecards_api_leaderboard",
)
def leaderboard(request: HttpRequest, query: Query[RankQuery]) -> dict[str, Any]:
    """Partners ranked by a metric (best first; equal values share a rank)."""
    actor = _staff(request)
    board = selectors.leaderboard(
        actor=actor,
        period=period_of(query.period),
        filters=query.to_filters(),
        metric=_ranking_metric(query.metric),
        limit=query.limit,
    )
    return leaderboard_out(board)


@router.get(
    "/scorecards/pareto", response={200: ParetoOut, **ERRORS}, operation_id="openprm_scorecards_api_pareto"
)
def pareto(request: HttpRequest, query: Query[RankQuery]) -> dict[str, Any]:
    """What share of the partners makes 80% of a metric (won revenue by default), and which."""
    actor = _staff(request)
    cut = selectors.pareto(
        actor=actor,
        period=period_of(query.period),
        filters=query.to_filters(),
        metric=_ranking_metric(query.metric),
    )
    return pareto_out(cut)


def _config(actor: Actor, program: Any) -> dict[str, Any]:
    config, stored = selectors.config_get(actor=actor, program=program)
    return {
        "program_id": program.public_id,
        "program": program.name,
        "is_default": not stored,
        "cap": config.cap,
        "dimensions": config.as_data(),
    }


@router.get(
    "/scorecards/programs/{program_id}/config",
    response={200: ConfigOut, **ERRORS},
    operation_id="openprm_scorecards_api_config_get",
)
def config_get(request: HttpRequest, program_id: uuid.UUID) -> dict[str, Any]:
    """The program's scorecard: dimensions and weights, their metrics, weights and methods, the cap."""
    actor = _staff(request)
    return _config(actor, program_get(actor=actor, public_id=program_id))


@router.put(
    "/scorecards/programs/{program_id}/config",
    response={200: ConfigOut, **ERRORS},
    operation_id="openprm_scorecards_api_config_put",
)
def config_put(request: HttpRequest, program_id: uuid.UUID, payload: ConfigIn) -> dict[str, Any]:
    """Set the program's scorecard (a metric's method: auto, target or percentile)."""
    actor = _staff(request)
    program = program_get(actor=actor, public_id=program_id)
    data = payload.model_dump(mode="json")
    services.scorecard_config_set(
        actor=actor, program=program, dimensions=data["dimensions"], cap=data["cap"]
    )
    return _config(actor, program)


@router.delete(
    "/scorecards/programs/{program_id}/config",
    response={200: ConfigOut, **ERRORS},
    operation_id="openprm_scorecards_api_config_delete",
)
def config_delete(request: HttpRequest, program_id: uuid.UUID) -> dict[str, Any]:
    """Back to the default scorecard."""
    actor = _staff(request)
    program = program_get(actor=actor, public_id=program_id)
    services.scorecard_config_reset(actor=actor, program=program)
    return _config(actor, program)


@router.get(
    "/scorecards/tier-criteria",
    response={200: list[CriterionOut], **ERRORS},
    operation_id="openprm_scorecards_api_criterion_list",
)
def criterion_list(request: HttpRequest, program: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every tier's criteria, by program and tier rank."""
    actor = _staff(request)
    chosen = program_get(actor=actor, public_id=program) if program else None
    return [criterion_out(c) for c in selectors.criteria_list(actor=actor, program=chosen)]


@router.post(
    "/scorecards/tier-criteria",
    response={201: CriterionOut, **ERRORS},
    operation_id="openprm_scorecards_api_criterion_post",
)
def criterion_post(request: HttpRequest, payload: CriterionIn) -> Status[dict[str, Any]]:
    """Add a criterion to a tier: a metric (or overall_score) at least ``minimum`` per ``grain``."""
    actor = _staff(request)
    try:
        tier = tier_get(actor=actor, public_id=payload.tier_id)
    except ObjectDoesNotExist:
        raise ValidationError({"tier_id": "No tier with this id."}) from None
    criterion = services.tier_criterion_create(
        actor=actor, tier=tier, data=payload.model_dump(exclude={"tier_id"})
    )
    return Status(201, criterion_out(criterion))


@router.patch(
    "/scorecards/tier-criteria/{criterion_id}",
    response={200: CriterionOut, **ERRORS},
    operation_id="openprm_scorecards_api_criterion_patch",
)
def criterion_patch(request: HttpRequest, criterion_id: uuid.UUID, payload: CriterionPatch) -> dict[str, Any]:
    actor = _staff(request)
    criterion = selectors.criterion_get(actor=actor, public_id=criterion_id)
    changed = services.tier_criterion_update(
        actor=actor, criterion=criterion, data=payload.model_dump(exclude_unset=True)
    )
    return criterion_out(changed)


@router.delete(
    "/scorecards/tier-criteria/{criterion_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_scorecards_api_criterion_delete",
)
def criterion_delete(request: HttpRequest, criterion_id: uuid.UUID) -> Status[None]:
    actor = _staff(request)
    services.tier_criterion_delete(
        actor=actor, criterion=selectors.criterion_get(actor=actor, public_id=criterion_id)
    )
    return Status(204, None)
