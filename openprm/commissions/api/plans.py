"""Commission plans over HTTP (staff; ``commission.view`` reads, ``commission.plan`` writes): plans,
versions (rules JSON validated: a 422 names the JSON path, e.g. ``rules.rules[0].reward.rate``), publish
(effective-dated; a published version never changes), assignments, the what-if of a draft over the last
months, and the payout forecast. Partner users get 404: plans are internal (the portal shows a partner
its own rate)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from openprm.commissions.schemas.errors import rules_checked
from openprm.commissions.schemas.plans import (
    AssignmentCreate,
    AssignmentEnd,
    AssignmentOut,
    ForecastQuery,
    ForecastRowOut,
    PlanCreate,
    PlanOut,
    PlanPage,
    PlanPatch,
    PublishIn,
    SimulateIn,
    SimulationOut,
    VersionCreate,
    VersionOut,
    VersionPatch,
    assignment_out,
    plan_out,
    version_out,
)
from openprm.commissions.selectors import pages, simulation
from openprm.commissions.services import plans as services
from openprm.commissions.services import simulate
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.permissions import Perm

router = Router(tags=["commissions"])


def _reader(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff or not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _planner(request: HttpRequest) -> Actor:
    actor = _reader(request)
    actor.require(Perm.COMMISSION_PLAN)
    return actor


@router.get(
    "/commissions/plans", response={200: PlanPage, **ERRORS}, operation_id="openprm_commissions_plan_list"
)
def plan_list(request: HttpRequest, page: Query[pages.PageQuery]) -> dict[str, Any]:
    """Plans by name (`limit`, `offset`)."""
    queryset = pages.plan_rows(actor=_reader(request))
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [plan_out(p) for p in rows], "count": queryset.count()}


@router.post(
    "/commissions/plans", response={201: PlanOut, **ERRORS}, operation_id="openprm_commissions_plan_post"
)
def plan_post(request: HttpRequest, payload: PlanCreate) -> Status[dict[str, Any]]:
    """Create a plan (no rules yet: add a draft version, simulate it, publish it)."""
    actor = _planner(request)
    data = payload.model_dump()
    program_ref = data.pop("program_id")
    program = None
    if program_ref is not None:
        program = pages.program_of(actor=actor, public_id=program_ref)
    plan = services.plan_create(actor=actor, program=program, **data)
    return Status(201, plan_out(plan, [], []))


@router.get(
    "/commissions/plans/{uuid:public_id}",
    response={200: PlanOut, **ERRORS},
    operation_id="openprm_commissions_plan_get",
)
def plan_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    """One plan with its versions (newest first, rules in words) and assignments."""
    actor = _reader(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    return plan_out(
        plan, pages.versions_of(actor=actor, plan=plan), pages.assignments_of(actor=actor, plan=plan)
    )


@router.patch(
    "/commissions/plans/{uuid:public_id}",
    response={200: PlanOut, **ERRORS},
    operation_id="openprm_commissions_plan_patch",
)
def plan_patch(request: HttpRequest, public_id: uuid.UUID, payload: PlanPatch) -> dict[str, Any]:
    actor = _planner(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    data = payload.model_dump(exclude_unset=True)
    if "program_id" in data:
        ref = data.pop("program_id")
        data["program"] = None if ref is None else pages.program_of(actor=actor, public_id=ref)
    plan = services.plan_update(actor=actor, plan=plan, **data)
    return plan_out(plan)


@router.get(
    "/commissions/plans/{uuid:public_id}/versions",
    response={200: list[VersionOut], **ERRORS},
    operation_id="openprm_commissions_version_list",
)
def version_list(request: HttpRequest, public_id: uuid.UUID) -> list[dict[str, Any]]:
    actor = _reader(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    return [version_out(v, plan.currency) for v in pages.versions_of(actor=actor, plan=plan)]


@router.post(
    "/commissions/plans/{uuid:public_id}/versions",
    response={201: VersionOut, **ERRORS},
    operation_id="openprm_commissions_version_post",
)
def version_post(
    request: HttpRequest, public_id: uuid.UUID, payload: VersionCreate
) -> Status[dict[str, Any]]:
    """A new draft version. `rules` is validated: each problem is a 422 error naming its path
    (`rules.rules[0].reward.rate`)."""
    actor = _planner(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    with rules_checked():
        version = services.version_create_draft(
            actor=actor,
            plan=plan,
            rules=payload.rules,
            effective_from=payload.effective_from,
            note=payload.note,
        )
    return Status(201, version_out(version, plan.currency))


@router.get(
    "/commissions/versions/{uuid:public_id}",
    response={200: VersionOut, **ERRORS},
    operation_id="openprm_commissions_version_get",
)
def version_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    version = pages.version_get(actor=_reader(request), public_id=public_id)
    return version_out(version, version.plan.currency)


@router.patch(
    "/commissions/versions/{uuid:public_id}",
    response={200: VersionOut, **ERRORS},
    operation_id="openprm_commissions_version_patch",
)
def version_patch(request: HttpRequest, public_id: uuid.UUID, payload: VersionPatch) -> dict[str, Any]:
    """Edit a draft (a published version never changes: a 422; create a new draft instead)."""
    actor = _planner(request)
    version = pages.version_get(actor=actor, public_id=public_id)
    with rules_checked():
        version = services.version_update_draft(
            actor=actor, version=version, **payload.model_dump(exclude_unset=True)
        )
    return version_out(version, version.plan.currency)


@router.post(
    "/commissions/versions/{uuid:public_id}/publish",
    response={200: VersionOut, **ERRORS},
    operation_id="openprm_commissions_version_publish",
)
def version_publish(request: HttpRequest, public_id: uuid.UUID, payload: PublishIn) -> dict[str, Any]:
    """Publish a draft, in force from `effective_from` (default: the draft's date). Audited; from then
    on the version never changes, and nothing earned under an earlier version changes."""
    actor = _planner(request)
    version = pages.version_get(actor=actor, public_id=public_id)
    if payload.effective_from is not None and payload.effective_from != version.effective_from:
        version = services.version_update_draft(
            actor=actor, version=version, effective_from=payload.effective_from
        )
    with rules_checked():  # a draft stored before a limit of the rules was set
        version = services.version_publish(actor=actor, version=version)
    return version_out(version, version.plan.currency)


@router.post(
    "/commissions/versions/{uuid:public_id}/simulate",
    response={200: SimulationOut, **ERRORS},
    operation_id="openprm_commissions_version_simulate",
)
def version_simulate(request: HttpRequest, public_id: uuid.UUID, payload: SimulateIn) -> dict[str, Any]:
    """What-if: the version applied to the last `months` whole months of real events, per partner and in
    total, against what was accrued for them. Writes nothing."""
    actor = _planner(request)
    version = pages.version_get(actor=actor, public_id=public_id)
    with rules_checked():  # a draft stored before its rules were checked as they are now
        outcome = simulate.simulate_version(actor=actor, version=version, months=payload.months)
    return simulation.whatif_of(outcome).as_dict()


@router.get(
    "/commissions/plans/{uuid:public_id}/assignments",
    response={200: list[AssignmentOut], **ERRORS},
    operation_id="openprm_commissions_assignment_list",
)
def assignment_list(request: HttpRequest, public_id: uuid.UUID) -> list[dict[str, Any]]:
    """Who the plan applies to. When several plans reach a partner: partner > tag > tier > program."""
    actor = _reader(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    return [assignment_out(a) for a in pages.assignments_of(actor=actor, plan=plan)]


@router.post(
    "/commissions/plans/{uuid:public_id}/assignments",
    response={201: AssignmentOut, **ERRORS},
    operation_id="openprm_commissions_assignment_post",
)
def assignment_post(
    request: HttpRequest, public_id: uuid.UUID, payload: AssignmentCreate
) -> Status[dict[str, Any]]:
    actor = _planner(request)
    plan = pages.plan_get(actor=actor, public_id=public_id)
    assignment = services.assignment_create(
        actor=actor,
        plan=plan,
        level=payload.level,
        target_id=pages.target_id(actor=actor, level=payload.level, public_id=payload.target_id),
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
    )
    assignment = pages.assignment_get(actor=actor, public_id=assignment.public_id)
    return Status(201, assignment_out(assignment))


@router.post(
    "/commissions/assignments/{uuid:public_id}/end",
    response={200: AssignmentOut, **ERRORS},
    operation_id="openprm_commissions_assignment_end",
)
def assignment_end(request: HttpRequest, public_id: uuid.UUID, payload: AssignmentEnd) -> dict[str, Any]:
    actor = _planner(request)
    assignment = pages.assignment_get(actor=actor, public_id=public_id)
    services.assignment_end(actor=actor, assignment=assignment, ends_on=payload.ends_on)
    return assignment_out(pages.assignment_get(actor=actor, public_id=public_id))


@router.get(
    "/commissions/forecast",
    response={200: list[ForecastRowOut], **ERRORS},
    operation_id="openprm_commissions_forecast",
)
def forecast(request: HttpRequest, query: Query[ForecastQuery]) -> list[dict[str, Any]]:
    """The payout forecast for the coming months, per plan currency: pending entries whose hold ends,
    the approved balance, and open pipeline × stage probability × plan."""
    return simulation.forecast_of(
        simulate.payout_forecast(actor=_reader(request), periods=query.periods), periods=query.periods
    )
