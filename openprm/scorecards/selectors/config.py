"""Scorecard configuration and tier criteria as stored, and the program and tier choices of the
scorecard pages' filters and forms: the reads that are not the scoring (:mod:`.scorecards`)."""

from __future__ import annotations

from typing import Any

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.partners.models import Program, Tier
from openprm.scorecards import scoring
from openprm.scorecards.models import ScorecardConfig, TierCriterion
from openprm.scorecards.scoring import Config


def config_for(*, program_id: int | None) -> Config:
    """The program's scorecard configuration, or :data:`scoring.DEFAULT` when none is set."""
    if program_id is None:
        return scoring.DEFAULT
    stored = ScorecardConfig.objects.filter(program_id=program_id).first()
    if stored is None:
        return scoring.DEFAULT
    return scoring.parse_config(stored.dimensions, stored.cap)


def config_get(*, actor: Actor, program: Program) -> tuple[Config, bool]:
    """The program's configuration and whether it was set (False: the default applies)."""
    actor.require(Perm.PARTNER_VIEW)
    stored = ScorecardConfig.objects.filter(program=program).first()
    if stored is None:
        return scoring.DEFAULT, False
    return scoring.parse_config(stored.dimensions, stored.cap), True


def criteria_list(*, actor: Actor, program: Program | None = None) -> list[TierCriterion]:
    """Tier criteria, by program and tier rank."""
    actor.require(Perm.PARTNER_VIEW)
    queryset = TierCriterion.objects.select_related("tier", "tier__program")
    if program is not None:
        queryset = queryset.filter(tier__program=program)
    return list(queryset.order_by("tier__program__name", "tier__rank", "metric", "id"))


def criterion_get(*, actor: Actor, public_id: Any) -> TierCriterion:
    from openprm.core.ids import parse_uuid

    actor.require(Perm.PARTNER_VIEW)
    return TierCriterion.objects.select_related("tier", "tier__program").get(
        public_id=parse_uuid(str(public_id))
    )


def program_choices(*, actor: Actor) -> list[Program]:
    actor.require(Perm.PARTNER_VIEW)
    return list(Program.objects.order_by("-is_default", "name", "id"))


def tier_choices(*, actor: Actor) -> list[Tier]:
    actor.require(Perm.PARTNER_VIEW)
    return list(Tier.objects.select_related("program").order_by("program__name", "rank"))
