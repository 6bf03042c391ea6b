"""Tier history: every enrolment and tier move is recorded as a dated ``TierChange`` by the service that
makes it (one bulk insert per write), so that tier progression can be measured over any period."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone

from openprm.partners.models import Tier, TierChange

Move = tuple[int, int, int | None, int | None]
"""(partner id, program id, tier id before or None, tier id after or None)."""


def tier_changes_record(
    *, workspace_id: int, moves: Iterable[Move], actor_label: str, on: datetime.date | None = None
) -> list[TierChange]:
    """Record the moves that change something (a tier that stays the same is no change), dated ``on``
    (default today, UTC), with the tiers' names and ranks as they are now."""
    wanted = [move for move in moves if move[2] != move[3]]
    if not wanted:
        return []
    ids = {tier for move in wanted for tier in move[2:] if tier is not None}
    tiers = {t.pk: t for t in Tier.objects.filter(pk__in=ids)} if ids else {}
    now = timezone.now()
    day = on or now.astimezone(datetime.UTC).date()
    rows = []
    for partner_id, program_id, before, after in wanted:
        old, new = tiers.get(before) if before else None, tiers.get(after) if after else None
        rows.append(
            TierChange(
                workspace_id=workspace_id,
                partner_id=partner_id,
                program_id=program_id,
                from_tier=old,
                to_tier=new,
                from_name=old.name if old else "",
                to_name=new.name if new else "",
                from_rank=old.rank if old else None,
                to_rank=new.rank if new else None,
                changed_on=day,
                changed_at=now,
                actor_label=actor_label[:254],
            )
        )
    return TierChange.objects.bulk_create(rows)
