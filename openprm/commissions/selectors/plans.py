"""Plan reads: lists and versions for staff, and the plan in force for one partner (the portal's own
partner only: plans are staff-only rows, read here through an explicit bypass limited to that partner)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404

from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import load_context
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped


def plan_list(*, actor: Actor, archived: bool = False) -> QuerySet[Plan]:
    actor.require(Perm.COMMISSION_VIEW)
    return (
        Plan.objects.filter(archived_at__isnull=not archived).select_related("program").order_by("name", "id")
    )


def plan_get(*, actor: Actor, public_id: uuid.UUID | str) -> Plan:
    actor.require(Perm.COMMISSION_VIEW)
    try:
        return Plan.objects.select_related("program").get(public_id=public_id)
    except (Plan.DoesNotExist, ValueError, TypeError):
        raise Http404("No such plan") from None


def version_list(*, actor: Actor, plan: Plan) -> QuerySet[PlanVersion]:
    actor.require(Perm.COMMISSION_VIEW)
    return PlanVersion.objects.filter(plan=plan).order_by("-number")


def version_in_force(*, plan: Plan, day: datetime.date) -> PlanVersion | None:
    """The latest published version effective on or before ``day``."""
    return (
        PlanVersion.objects.filter(plan=plan, status=PlanVersion.Status.PUBLISHED, effective_from__lte=day)
        .order_by("-effective_from", "-number")
        .first()
    )


def plan_for_partner(
    *, actor: Actor, partner_id: int, day: datetime.date, program_id: int | None = None
) -> tuple[Plan, PlanVersion] | None:
    """The plan and version that pay the partner's events on ``day`` (partner > group > tier > program).
    Partner users may ask only about their own partner; staff about partners in their scope."""
    if actor.is_partner_user and actor.partner_id != partner_id:
        return None
    if not actor.is_partner_user:
        actor.require(Perm.COMMISSION_VIEW)
    with unscoped():  # plans are staff-only rows; the answer is limited to this one partner
        ctx = load_context(actor.workspace_id)
        if ctx.empty:
            return None
        ctx.partners = src.partner_facts(actor.workspace_id, [partner_id])
        if partner_id not in ctx.partners:
            return None
        probe = src.Source(
            "conversion",
            0,
            "purchase",
            partner_id,
            program_id,
            datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
            Decimal(0),
            "",
        )
        found = ctx.plan_for(probe)
        if found is None:
            return None
        info, version_id, _ = found
        return Plan.objects.get(pk=info.id), PlanVersion.objects.get(pk=version_id)
