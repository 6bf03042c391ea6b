"""A partner's deal registrations and stage changes, as the partner timeline (``activity``) shows them.

The timeline lives in ``activity``, which sits beside deals and may not read deals' models (an
import-linter contract): it calls these two reads instead. The first gives the rows to merge with the
partner's events in one UNION query (so the database pages and counts the whole timeline); the second
gives one page's rows as plain values. Both run through the scoped manager like every deals read:
staff restricted to their own partners, and partner users, see only the deals of their scope.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.deals.models import DealStageChange
from openprm.partners.models import Partner


@dataclass(frozen=True)
class StageChangeEntry:
    """A deal registration (``from_stage`` None: the deal entered its first stage) or stage change."""

    id: int
    changed_at: datetime.datetime
    deal_public_id: uuid.UUID
    customer_name: str
    from_stage: str | None
    to_stage: str
    lost_reason: str
    actor_label: str


def partner_stage_changes(
    *,
    actor: Actor,
    partner: Partner,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> QuerySet[Any]:
    """The registrations and stage changes of the partner's deals with ``start <= changed_at < end``,
    unordered, each with its time as ``at``: ready to be narrowed to ``values_list(..., "id", "at")``
    and merged with other rows in a UNION."""
    actor.require(Perm.PARTNER_VIEW)
    changes = DealStageChange.objects.filter(deal__partner=partner)
    if start is not None:
        changes = changes.filter(changed_at__gte=start)
    if end is not None:
        changes = changes.filter(changed_at__lt=end)
    return changes.order_by().annotate(at=F("changed_at"))


_ENTRY_FIELDS = (
    "id",
    "changed_at",
    "deal__public_id",
    "deal__customer_name",
    "from_stage__name",
    "to_stage__name",
    "lost_reason",
    "actor_label",
)


def stage_change_entries(*, ids: Iterable[int]) -> dict[int, StageChangeEntry]:
    """These stage changes (the ids of one timeline page) by id, with their deal and stage names: one
    query. Ids outside the active scope are simply missing."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = DealStageChange.objects.filter(pk__in=wanted).order_by().values_list(*_ENTRY_FIELDS)
    return {row[0]: StageChangeEntry(*row) for row in rows}
