"""Helpers the deals pages share: a deal or 404, and the per-row figures rows and cards show."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.http import actor_of
from openprm.deals import selectors
from openprm.deals.models import Deal
from openprm.deals.rollups import read as rollups_read
from openprm.partners.models import Partner

EARLIEST = datetime.date(1970, 1, 1)


def deal_or_404(request: HttpRequest, public_id: Any) -> Deal:
    """The deal, or 404 when missing or out of the actor's scope (the same answer)."""
    try:
        return selectors.deal_get(actor=actor_of(request), public_id=public_id)
    except Deal.DoesNotExist:
        raise Http404 from None


def decorate(deals: Any, now: datetime.datetime) -> list[Deal]:
    """Attach what the rows and cards show (days in stage, stalled) without extra queries."""
    rows = list(deals)
    for deal in rows:
        deal.days_in_stage = deal.calendar_days_in_stage(now)
        deal.stalled = deal.is_stalled(now)
    return rows


def unconverted(actor: Actor, partner: Partner | None = None) -> list[dict[str, Any]]:
    """The deals in other currencies the deal figures (all time, the pipeline today) leave out because no
    exchange rate converts their days, per currency: ``{currency, deals, days, first, last}`` in day
    order. One grouped query over the other-currency day rows and one of their rates."""
    ids = selectors.metrics.rollup_partner_ids(actor, partner)
    today = timezone.now().astimezone(datetime.UTC).date()
    found = rollups_read.unconverted(actor.workspace_id, partner_ids=ids, start=EARLIEST, end=today)
    return [
        {
            "currency": u.currency,
            "deals": u.deals,
            "open_deals": u.open_deals,
            "days": (days := sorted(u.days)),
            "first": days[0],
            "last": days[-1],
        }
        for u in found
        if u.days
    ]
