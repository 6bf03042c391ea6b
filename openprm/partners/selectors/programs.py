"""Reads of programs and their tiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.partners.models import PartnerProgram, Program, Tier


def program_list(*, actor: Actor) -> QuerySet[Program]:
    actor.require(Perm.PARTNER_VIEW)
    return Program.objects.prefetch_related("tiers").order_by("-is_default", "name", "id")


def tier_get(*, actor: Actor, public_id: Any) -> Tier:
    """The workspace's tier with this public id (Tier.DoesNotExist when missing or elsewhere)."""
    actor.require(Perm.PARTNER_VIEW)
    return Tier.objects.select_related("program").get(public_id=parse_uuid(str(public_id)))


def program_get(*, actor: Actor, public_id: Any) -> Program:
    """The workspace's program with this public id (Program.DoesNotExist when missing or elsewhere)."""
    actor.require(Perm.PARTNER_VIEW)
    return Program.objects.prefetch_related("tiers").get(public_id=parse_uuid(str(public_id)))


@dataclass(frozen=True)
class ProgramTiers:
    tiers: list[tuple[Tier, int]]  # the program's tiers, lowest first, with their enrolled partners
    without_tier: int  # enrolled partners with no tier
    total: int  # enrolled partners (those the actor may see)


def program_tiers(*, actor: Actor, program: Program) -> ProgramTiers:
    """The program's tiers and how many of the actor's visible, live (not archived) partners are enrolled in
    each (2 queries)."""
    actor.require(Perm.PARTNER_VIEW)
    counts: dict[int | None, int] = dict(
        PartnerProgram.objects.filter(program=program, partner__archived_at__isnull=True)
        .order_by()
        .values("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    tiers = list(Tier.objects.filter(program=program).order_by("rank", "name"))
    return ProgramTiers(
        tiers=[(tier, counts.get(tier.pk, 0)) for tier in tiers],
        without_tier=counts.get(None, 0),
        total=sum(counts.values()),
    )
